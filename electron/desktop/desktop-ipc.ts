/**
 * The API contract over Electron IPC: one dispatch channel for calls, three for the event
 * stream. Every handler first checks its sender (security.ts); calls are then validated
 * against the contract's schemas before anything runs.
 */
import { ipcMain, type BrowserWindow, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { badRequest, errorBody, type ApiHandlers, type ApiOutcome } from '../hosts/api-handlers.js';
import type { EventBatcher, Subscription } from '../hosts/event-batcher.js';
import { desktopParamsSchemas, isDesktopMethod, type DesktopMethod } from '../../contract/desktop-api.js';
import { IPC_CHANNELS } from './ipc-channels.js';
import type { DesktopHandlers } from './native-dialogs.js';
import { assertTrustedSender } from './security.js';

export interface DesktopIpcOptions {
  api: ApiHandlers;
  desktop: DesktopHandlers;
  batcher: EventBatcher;
  /** The app's window (null while there is none): the only accepted sender. */
  window: () => BrowserWindow | null;
  appOrigin: string;
  log?: (line: string) => void;
}

export interface DesktopIpc {
  /** Ends every event stream and removes the handlers (the app is quitting). */
  close(): void;
}

export function serveApiOverIpc(options: DesktopIpcOptions): DesktopIpc {
  const log = options.log ?? ((line: string) => console.warn(line));
  const streams = new Map<WebContents, Subscription>();
  const watched = new WeakSet<WebContents>();

  /** Registers a handler that runs only for a trusted sender; others are refused and logged. */
  const handle = (channel: string, run: (event: IpcMainInvokeEvent, ...args: unknown[]) => unknown) => {
    ipcMain.handle(channel, (event, ...args: unknown[]) => {
      try {
        assertTrustedSender(event, options.window(), options.appOrigin);
      } catch (error) {
        log(`${channel}: ${(error as Error).message}`);
        throw error;
      }
      return run(event, ...args);
    });
  };

  const closeStream = (contents: WebContents) => {
    streams.get(contents)?.close();
    streams.delete(contents);
  };

  const startStream = (contents: WebContents) => {
    const open = streams.get(contents);
    if (open) {
      open.resync();
      return;
    }
    const subscription = options.batcher.subscribe({
      send: (message) => {
        if (!contents.isDestroyed()) contents.send(IPC_CHANNELS.event, message);
      },
    });
    streams.set(contents, subscription);
    if (watched.has(contents)) return;
    watched.add(contents);
    contents.once('destroyed', () => closeStream(contents));
    // A reload starts a new page that subscribes afresh; the old page's stream ends with it.
    contents.on('did-start-navigation', (details) => {
      if (details.isMainFrame && !details.isSameDocument) closeStream(contents);
    });
  };

  handle(IPC_CHANNELS.call, (_event, method, params) => {
    if (isDesktopMethod(method)) return callDesktop(options.desktop, method, params);
    return options.api.call(method, params);
  });
  handle(IPC_CHANNELS.subscribe, (event) => startStream(event.sender));
  handle(IPC_CHANNELS.unsubscribe, (event) => closeStream(event.sender));
  handle(IPC_CHANNELS.resync, (event) => streams.get(event.sender)?.resync());

  return {
    close() {
      for (const contents of [...streams.keys()]) closeStream(contents);
      for (const channel of [IPC_CHANNELS.call, IPC_CHANNELS.subscribe, IPC_CHANNELS.unsubscribe, IPC_CHANNELS.resync]) {
        ipcMain.removeHandler(channel);
      }
    },
  };
}

/** Validates a desktop method's params the way ApiHandlers does the contract's, and runs it. */
export async function callDesktop(handlers: DesktopHandlers, method: DesktopMethod, params: unknown): Promise<ApiOutcome> {
  const parsed = desktopParamsSchemas[method].safeParse(params ?? {}, { reportInput: true });
  if (!parsed.success) return badRequest(method, parsed.error);
  try {
    const run = handlers[method] as (params: unknown) => Promise<unknown>;
    return { ok: true, value: await run(parsed.data) };
  } catch (error) {
    return { ok: false, error: errorBody(error) };
  }
}
