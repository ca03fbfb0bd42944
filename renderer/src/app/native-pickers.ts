import type { ThreadlineApi } from '../../../contract/api';
import { DESKTOP_METHODS, type DesktopMethod, type DesktopResults } from '../../../contract/desktop-api';

/**
 * The native file dialogs a host may add to the API (the desktop app does; a browser has no
 * way to hand over a real path). The renderer offers a "Choose…" button only where they exist.
 */
export type NativePickers = { [M in DesktopMethod]?: () => Promise<DesktopResults[M]> };

export function nativePickers(api: ThreadlineApi): NativePickers {
  const host = api as ThreadlineApi & Record<string, unknown>;
  const pickers: Record<string, () => Promise<unknown>> = {};
  for (const name of DESKTOP_METHODS) {
    const method = host[name];
    if (typeof method === 'function') pickers[name] = () => (method as () => Promise<unknown>).call(host);
  }
  return pickers as NativePickers;
}
