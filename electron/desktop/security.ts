/**
 * Every security rule of the desktop window, in one place (Electron's security checklist):
 * isolated and sandboxed renderers without Node, a strict Content-Security-Policy, no
 * navigation, no new windows, no permissions, and IPC only from the app's own main frame.
 *
 * Only types come from `electron` here, so the build config can import the CSP too.
 */
import type { App, BrowserWindow, BrowserWindowConstructorOptions, IpcMainInvokeEvent, Session, WebContents } from 'electron';

type BrowserWindowClass = typeof import('electron').BrowserWindow;

/** Production pages are built files (the app's own scheme); development pages come from Vite's server. */
export type PageMode = 'production' | 'development';

/** `scheme://host` of a URL; unlike `URL.origin` it is not "null" for the app's own scheme. */
export function originOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return null;
  }
}

/** Is `url` a page of the app (served from `appOrigin`)? */
export function isAppUrl(url: string, appOrigin: string): boolean {
  return originOf(url) === appOrigin;
}

/**
 * The policy for the app's pages. Development relaxes exactly what Vite's dev server needs:
 * the React refresh preamble (an inline script), CSS injected as <style> elements, and the
 * hot-reload WebSocket.
 */
export function contentSecurityPolicy(mode: PageMode, options: { forMetaTag?: boolean } = {}): string {
  const dev = mode === 'development';
  const directives = [
    "default-src 'none'",
    `script-src 'self'${dev ? " 'unsafe-inline'" : ''}`,
    `style-src 'self'${dev ? " 'unsafe-inline'" : ''}`,
    "img-src 'self' data:",
    "font-src 'self'",
    `connect-src 'self'${dev ? ' ws://localhost:* ws://127.0.0.1:*' : ''}`,
    "worker-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ];
  // Browsers ignore frame-ancestors in a <meta> policy (and warn about it); it belongs in the header.
  if (!options.forMetaTag) directives.push("frame-ancestors 'none'");
  return directives.join('; ');
}

/**
 * Opens a window with the app's web preferences. They are written out literally, here, so
 * that a reader and a static scanner (Electronegativity) see exactly what every window gets.
 * The class comes in as an argument because this module imports only types from `electron`.
 */
export function createSecureWindow(
  BrowserWindow: BrowserWindowClass,
  options: Omit<BrowserWindowConstructorOptions, 'webPreferences'>,
  preloadFile: string,
): BrowserWindow {
  return new BrowserWindow({
    ...options,
    webPreferences: {
      preload: preloadFile,
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
      experimentalFeatures: false,
      navigateOnDragDrop: false,
      safeDialogs: true,
      // A middle click must not open a link in a new window.
      disableBlinkFeatures: 'Auxclick',
    },
  });
}

const CSP_HEADER = 'Content-Security-Policy';

/** Adds the CSP to every response of the app's pages and denies every permission request. */
export function secureSession(session: Session, appOrigin: string, mode: PageMode): void {
  const policy = contentSecurityPolicy(mode);
  session.webRequest.onHeadersReceived((details, callback) => {
    if (!isAppUrl(details.url, appOrigin)) {
      callback({});
      return;
    }
    const headers: Record<string, string[]> = {};
    for (const [name, value] of Object.entries(details.responseHeaders ?? {})) {
      if (name.toLowerCase() !== CSP_HEADER.toLowerCase()) headers[name] = value;
    }
    headers[CSP_HEADER] = [policy];
    callback({ responseHeaders: headers });
  });
  session.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.setPermissionCheckHandler(() => false);
  session.setDevicePermissionHandler(() => false);
}

/** No navigation, no pop-ups, no <webview>, for any web contents the app ever creates. */
export function secureWebContents(contents: WebContents, appOrigin: string): void {
  // The window is a single-page app: any navigation is an attack or a stray link.
  contents.on('will-navigate', (event) => event.preventDefault());
  contents.on('will-frame-navigate', (event) => {
    if (!isAppUrl(event.url, appOrigin)) event.preventDefault();
  });
  contents.on('will-redirect', (event) => {
    if (!isAppUrl(event.url, appOrigin)) event.preventDefault();
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
}

export function secureAllWebContents(app: App, appOrigin: string): void {
  app.on('web-contents-created', (_event, contents) => secureWebContents(contents, appOrigin));
}

/** Why an IPC call was refused before it reached the engine. */
export class UntrustedSenderError extends Error {
  override name = 'UntrustedSenderError';
}

/**
 * An IPC call is accepted only from the app's window, its main frame (not an iframe), while
 * that frame shows a page of the app.
 */
export function assertTrustedSender(event: IpcMainInvokeEvent, window: BrowserWindow | null, appOrigin: string): void {
  if (!window || window.isDestroyed() || event.sender !== window.webContents) {
    throw new UntrustedSenderError('refused an IPC call: it does not come from the Threadline window');
  }
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null) {
    throw new UntrustedSenderError("refused an IPC call: it does not come from the window's main frame");
  }
  if (!isAppUrl(frame.url, appOrigin)) {
    throw new UntrustedSenderError(`refused an IPC call from ${describeUrl(frame.url)}: expected a page of ${appOrigin}`);
  }
}

function describeUrl(url: string): string {
  return url.length > 200 ? `${url.slice(0, 200)}...` : url || 'a frame with no URL';
}
