/**
 * A stand-in for the `electron` module (its binary cannot be downloaded here). It keeps the
 * parts of Electron's behaviour the desktop code relies on (events with preventDefault, one
 * handler per IPC channel, invoke rejecting when a handler throws, web-contents-created for
 * every window, IPC from main to the window) and records everything else for assertions.
 *
 * Use it with `vi.mock('electron', () => import('./electron-stand-in.js'))`; call
 * `resetElectron()` between tests.
 */
import { EventEmitter } from 'node:events';
import type { HeadersReceivedResponse, OnHeadersReceivedListenerDetails, OpenDialogOptions, OpenDialogReturnValue } from 'electron';

/** An Electron event: listeners may call preventDefault(). */
export class StandInEvent {
  defaultPrevented = false;
  constructor(fields: Record<string, unknown> = {}) {
    Object.assign(this, fields);
  }
  preventDefault(): void {
    this.defaultPrevented = true;
  }
}

export class StandInFrame {
  constructor(
    public url: string,
    public readonly parent: StandInFrame | null = null,
  ) {}
}

type WindowOpenHandler = (details: { url: string }) => { action: 'allow' | 'deny' };

export class StandInWebContents extends EventEmitter {
  private static nextId = 1;
  readonly id = StandInWebContents.nextId++;
  readonly mainFrame = new StandInFrame('');
  /** Messages main sent to this page with webContents.send. */
  readonly sent: Array<{ channel: string; args: unknown[] }> = [];
  windowOpenHandler: WindowOpenHandler | null = null;
  private destroyed = false;

  setWindowOpenHandler(handler: WindowOpenHandler): void {
    this.windowOpenHandler = handler;
  }

  send(channel: string, ...args: unknown[]): void {
    if (this.destroyed) throw new Error('Object has been destroyed');
    // Like real IPC: a structured clone, received by the page in a later task.
    const cloned = structuredClone(args);
    this.sent.push({ channel, args: cloned });
    if (ipcRenderer.page === this) setImmediate(() => ipcRenderer.emit(channel, { sender: ipcRenderer }, ...cloned));
  }

  isDestroyed(): boolean {
    return this.destroyed;
  }

  /** What the page would do by `location = url`: asks will-navigate; true if it was allowed. */
  attemptNavigation(url: string): boolean {
    const event = new StandInEvent({ url, isMainFrame: true });
    this.emit('will-navigate', event, url);
    if (event.defaultPrevented) return false;
    this.mainFrame.url = url;
    return true;
  }

  /** A page's window.open(url): what the window-open handler answered. */
  attemptWindowOpen(url: string): 'allow' | 'deny' {
    return this.windowOpenHandler ? this.windowOpenHandler({ url }).action : 'allow';
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.emit('destroyed');
  }
}

export class BrowserWindow extends EventEmitter {
  static readonly created: BrowserWindow[] = [];
  readonly webContents = new StandInWebContents();
  loadedUrl: string | null = null;
  visible = false;
  focused = false;
  minimized = false;
  private destroyed = false;

  constructor(readonly options: Electron.BrowserWindowConstructorOptions = {}) {
    super();
    BrowserWindow.created.push(this);
    app.emit('web-contents-created', new StandInEvent(), this.webContents);
  }

  loadURL(url: string): Promise<void> {
    this.loadedUrl = url;
    this.webContents.mainFrame.url = url;
    setImmediate(() => this.emit('ready-to-show'));
    return Promise.resolve();
  }

  show(): void {
    this.visible = true;
  }
  focus(): void {
    this.focused = true;
  }
  restore(): void {
    this.minimized = false;
  }
  isMinimized(): boolean {
    return this.minimized;
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }

  close(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.webContents.destroy();
    this.emit('closed');
    // Like Electron: the app hears when its last window has gone.
    if (BrowserWindow.created.every((window) => window.isDestroyed())) app.emit('window-all-closed');
  }
}

class StandInApp extends EventEmitter {
  isPackaged = false;
  appPath = '/nonexistent-app-path';
  singleInstanceLock = true;
  ready = false;
  readonly paths = new Map<string, string>();
  readonly exitCodes: number[] = [];
  quitCalls = 0;
  /** Runs inside app.exit(), before it returns: what the process would see last. */
  onExit: ((code: number) => void) | null = null;

  setPath(name: string, path: string): void {
    this.paths.set(name, path);
  }
  getPath(name: string): string {
    const path = this.paths.get(name);
    if (!path) throw new Error(`Failed to get '${name}' path`);
    return path;
  }
  getAppPath(): string {
    return this.appPath;
  }
  requestSingleInstanceLock(): boolean {
    return this.singleInstanceLock;
  }
  whenReady(): Promise<void> {
    this.ready = true;
    return Promise.resolve();
  }

  /** Like Electron: before-quit (preventable); only if nobody prevented it does the app go on to quit. */
  quit(): void {
    this.quitCalls++;
    const event = new StandInEvent();
    this.emit('before-quit', event);
    if (!event.defaultPrevented) this.emit('will-quit', new StandInEvent());
  }

  /** Like Electron: ends at once, without before-quit. */
  exit(code = 0): void {
    this.exitCodes.push(code);
    this.onExit?.(code);
  }
}

export const app = new StandInApp();

type InvokeHandler = (event: unknown, ...args: unknown[]) => unknown;

class StandInIpcMain extends EventEmitter {
  readonly handlers = new Map<string, InvokeHandler>();

  handle(channel: string, handler: InvokeHandler): void {
    if (this.handlers.has(channel)) throw new Error(`Attempted to register a second handler for '${channel}'`);
    this.handlers.set(channel, handler);
  }

  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }

  /** What Electron does when a page invokes `channel`: a thrown error becomes a rejection. */
  async invoke(channel: string, event: { sender: unknown; senderFrame: unknown }, ...args: unknown[]): Promise<unknown> {
    const handler = this.handlers.get(channel);
    if (!handler) throw new Error(`No handler registered for '${channel}'`);
    return handler(event, ...args);
  }
}

export const ipcMain = new StandInIpcMain();

type HeadersListener = (details: OnHeadersReceivedListenerDetails, callback: (response: HeadersReceivedResponse) => void) => void;

class StandInSession {
  headersListener: HeadersListener | null = null;
  permissionRequestHandler: ((contents: unknown, permission: string, callback: (granted: boolean) => void, details: unknown) => void) | null = null;
  permissionCheckHandler: ((contents: unknown, permission: string, origin: string, details: unknown) => boolean) | null = null;
  devicePermissionHandler: ((details: unknown) => boolean) | null = null;
  readonly webRequest = {
    onHeadersReceived: (listener: HeadersListener) => {
      this.headersListener = listener;
    },
  };

  setPermissionRequestHandler(handler: StandInSession['permissionRequestHandler']): void {
    this.permissionRequestHandler = handler;
  }
  setPermissionCheckHandler(handler: StandInSession['permissionCheckHandler']): void {
    this.permissionCheckHandler = handler;
  }
  setDevicePermissionHandler(handler: StandInSession['devicePermissionHandler']): void {
    this.devicePermissionHandler = handler;
  }

  /** Runs a response through the headers listener, as the network stack would. */
  respond(url: string, responseHeaders: Record<string, string[]> = {}): Promise<HeadersReceivedResponse> {
    const listener = this.headersListener;
    if (!listener) return Promise.resolve({});
    return new Promise((resolve) => listener({ url, responseHeaders } as OnHeadersReceivedListenerDetails, resolve));
  }

  /** A page asks for a permission; resolves with the answer. */
  requestPermission(permission: string): Promise<boolean> {
    const handler = this.permissionRequestHandler;
    if (!handler) return Promise.resolve(true); // Electron's default is to grant
    return new Promise((resolve) => handler(null, permission, resolve, {}));
  }
}

export const session = { defaultSession: new StandInSession() };

class StandInProtocol {
  readonly privileged: Array<{ scheme: string; privileges?: Record<string, boolean> }> = [];
  readonly handlers = new Map<string, (request: Request) => Response | Promise<Response>>();

  registerSchemesAsPrivileged(schemes: Array<{ scheme: string; privileges?: Record<string, boolean> }>): void {
    if (app.ready) throw new Error('protocol.registerSchemesAsPrivileged should be called before app is ready');
    this.privileged.push(...schemes);
  }
  handle(scheme: string, handler: (request: Request) => Response | Promise<Response>): void {
    this.handlers.set(scheme, handler);
  }
}

export const protocol = new StandInProtocol();

class StandInDialog {
  /** Answers for the next showOpenDialog calls, in order; dismissed when none is left. */
  readonly openAnswers: OpenDialogReturnValue[] = [];
  readonly openCalls: Array<{ parent: unknown; options: OpenDialogOptions }> = [];
  readonly errorBoxes: Array<{ title: string; content: string }> = [];

  showOpenDialog(parentOrOptions: unknown, maybeOptions?: OpenDialogOptions): Promise<OpenDialogReturnValue> {
    const options = (maybeOptions ?? parentOrOptions) as OpenDialogOptions;
    this.openCalls.push({ parent: maybeOptions ? parentOrOptions : null, options });
    return Promise.resolve(this.openAnswers.shift() ?? { canceled: true, filePaths: [] });
  }
  showErrorBox(title: string, content: string): void {
    this.errorBoxes.push({ title, content });
  }
}

export const dialog = new StandInDialog();

export class Notification extends EventEmitter {
  static supported = true;
  static readonly shown: Notification[] = [];
  constructor(readonly options: { title?: string; body?: string }) {
    super();
  }
  static isSupported(): boolean {
    return Notification.supported;
  }
  show(): void {
    Notification.shown.push(this);
  }
}

class StandInContextBridge {
  readonly exposed = new Map<string, unknown>();
  exposeInMainWorld(key: string, api: unknown): void {
    if (this.exposed.has(key)) throw new Error(`Cannot bind an API on top of an existing property on the window object`);
    this.exposed.set(key, api);
  }
}

export const contextBridge = new StandInContextBridge();

/** The page side: invoke() reaches ipcMain with this page's webContents and main frame as sender. */
class StandInIpcRenderer extends EventEmitter {
  page: StandInWebContents | null = null;

  invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    const page = this.page;
    if (!page) return Promise.reject(new Error('the stand-in ipcRenderer is attached to no page'));
    // Arguments cross a process boundary: they arrive as structured clones.
    const cloned = structuredClone(args);
    return ipcMain.invoke(channel, { sender: page, senderFrame: page.mainFrame }, ...cloned).then((value) => structuredClone(value));
  }
}

export const ipcRenderer = new StandInIpcRenderer();

/**
 * Forgets every window, handler and record (listeners the code under test added included),
 * except the page's IPC listeners: a preload registers them once, when it is loaded.
 */
export function resetElectron(): void {
  app.removeAllListeners();
  Object.assign(app, { isPackaged: false, appPath: '/nonexistent-app-path', singleInstanceLock: true, ready: false, quitCalls: 0, onExit: null });
  app.paths.clear();
  app.exitCodes.length = 0;
  BrowserWindow.created.length = 0;
  ipcMain.handlers.clear();
  Object.assign(session.defaultSession, { headersListener: null, permissionRequestHandler: null, permissionCheckHandler: null, devicePermissionHandler: null });
  protocol.privileged.length = 0;
  protocol.handlers.clear();
  dialog.openAnswers.length = 0;
  dialog.openCalls.length = 0;
  dialog.errorBoxes.length = 0;
  Notification.supported = true;
  Notification.shown.length = 0;
  contextBridge.exposed.clear();
  ipcRenderer.page = null;
}

export default { app, BrowserWindow, ipcMain, session, protocol, dialog, Notification, contextBridge, ipcRenderer };
