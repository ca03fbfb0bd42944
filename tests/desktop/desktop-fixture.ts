/**
 * Starts the real desktop app code (electron/desktop/desktop-app.ts) against the electron
 * stand-in: a real Engine with a real pool and store, in a temp config home.
 * The test file must `vi.mock('electron', () => import('./electron-stand-in.js'))`.
 */
import { join } from 'node:path';
import { beforeAll, beforeEach } from 'vitest';
import type { ThreadlineApi } from '../../contract/api.js';
import type { DesktopApi } from '../../contract/desktop-api.js';
import { startDesktopApp, type RunningDesktopApp } from '../../electron/desktop/desktop-app.js';
import { defaultWorkerFile } from '../../electron/engine/paths.js';
import { onCleanup, tempDir } from '../support/engine-fixture.js';
import { app, BrowserWindow, contextBridge, ipcRenderer, resetElectron } from './electron-stand-in.js';
import { provideSqliteBuild } from './sqlite-build.js';

export const PRELOAD_FILE = '/app/out/preload/index.cjs';

/** `window.threadline` in the desktop window: what the preload exposes (the test file mocks `electron` with the stand-in). */
export type WindowApi = ThreadlineApi & DesktopApi;

/** Runs the preload against a fresh stand-in and returns the API it exposed through `contextBridge`. */
export async function loadPreloadApi(): Promise<WindowApi> {
  resetElectron();
  await import('../../electron/preload.js');
  return contextBridge.exposed.get('threadline') as WindowApi;
}

/**
 * One page for all of a file's tests, as a window keeps its page: loads the preload before them
 * (handing its API object to `loaded`) and, before each, resets the stand-in and exposes the same
 * object again, since the reset forgets it.
 */
export function keepPreloadLoaded(loaded: (api: WindowApi) => void): void {
  let api: WindowApi;
  beforeAll(async () => {
    api = await loadPreloadApi();
    loaded(api);
  });
  beforeEach(() => {
    resetElectron();
    contextBridge.exposed.set('threadline', api);
  });
}

export interface TestApp {
  running: RunningDesktopApp;
  window: BrowserWindow;
  configHome: string;
  appPath: string;
  /** Asks the app to quit as the Quit menu would; resolves with the exit code once it exits. */
  quit(): Promise<number>;
}

export function setEnv(name: string, value: string | undefined): void {
  const before = process.env[name];
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
  onCleanup(() => {
    if (before === undefined) delete process.env[name];
    else process.env[name] = before;
  });
}

export async function startTestApp(
  options: {
    devServerUrl?: string;
    rendererDir?: string;
    quitDeadlineMs?: number;
    /** Another launch on the same user folders. */
    configHome?: string;
    /** The loopback API's port (default: a free one). */
    apiPort?: number;
  } = {},
): Promise<TestApp> {
  const configHome = options.configHome ?? tempDir('threadline-desktop-config-');
  const appPath = tempDir('threadline-desktop-app-');
  setEnv('XDG_CONFIG_HOME', configHome);
  setEnv('THREADLINE_DATA_DIR', undefined);
  setEnv('THREADLINE_SQLITE_BINDING', undefined);
  provideSqliteBuild(appPath);
  app.appPath = appPath;

  const running = await startDesktopApp({
    workerFile: defaultWorkerFile(),
    preloadFile: PRELOAD_FILE,
    rendererDir: options.rendererDir ?? join(appPath, 'renderer'),
    devServerUrl: options.devServerUrl,
    quitDeadlineMs: options.quitDeadlineMs ?? 1000,
    apiPort: options.apiPort,
  });
  if (!running) throw new Error('the desktop app did not start');
  const window = BrowserWindow.created.at(-1);
  if (!window) throw new Error('the desktop app opened no window');
  ipcRenderer.page = window.webContents;

  let exited: Promise<number> | null = null;
  const quit = () => {
    exited ??= new Promise<number>((resolve) => {
      app.onExit = resolve;
      app.quit();
    });
    return exited;
  };
  onCleanup(async () => {
    if (app.exitCodes.length === 0) await quit();
  });
  return { running, window, configHome, appPath, quit };
}
