import type { ThreadlineApi } from '../../../contract/api';

/**
 * The native file dialogs a host may add to the API (the desktop app does; a browser has no
 * way to hand over a real path). The renderer offers a "Choose…" button only where they exist.
 */
export interface NativePickers {
  pickDatabase?: () => Promise<{ path: string | null }>;
  pickFiles?: () => Promise<{ paths: string[] }>;
  pickJobFile?: () => Promise<{ job: { fileName: string; text: string; baseDir: string } | null }>;
}

export function nativePickers(api: ThreadlineApi): NativePickers {
  const host = api as ThreadlineApi & Record<string, unknown>;
  const method = <T>(name: keyof NativePickers): T | undefined =>
    typeof host[name] === 'function' ? ((() => (host[name] as () => unknown).call(host)) as T) : undefined;
  return {
    pickDatabase: method('pickDatabase'),
    pickFiles: method('pickFiles'),
    pickJobFile: method('pickJobFile'),
  };
}
