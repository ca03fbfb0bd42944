/**
 * The desktop app's life: one instance, a secured session and window, the engine on the
 * user-data folder (with the remote workers of its settings), the API over IPC (and on loopback for the CLI), notifications, and a quit
 * that waits for the engine.
 */
import { homedir } from 'node:os';
import { join } from 'node:path';
import { app, BrowserWindow, dialog, Notification, protocol, session } from 'electron';
import { Engine } from '../engine/engine.js';
import { defaultUserDataDir } from '../engine/paths.js';
import { ApiHandlers } from '../hosts/api-handlers.js';
import { EventBatcher } from '../hosts/event-batcher.js';
import { createMetrics } from '../hosts/metrics.js';
import { Scheduler } from '../schedules/scheduler.js';
import { APP_ORIGIN, APP_START_URL, registerAppScheme, serveRenderer } from './app-protocol.js';
import { serveApiOverIpc } from './desktop-ipc.js';
import { useElectronSqlite } from './electron-sqlite.js';
import { shutDownEngineOnQuit, QUIT_DEADLINE_MS } from './graceful-quit.js';
import { notifyWhenLongJobsEnd } from './long-job-notifier.js';
import { startLoopbackApi, type LoopbackApi } from './loopback-api.js';
import { createMainWindow } from './main-window.js';
import { MetricsEndpointSetting } from './metrics-setting.js';
import { nativeDialogs } from './native-dialogs.js';
import { RemoteWorkersSetting } from './remote-workers-setting.js';
import { originOf, secureAllWebContents, secureSession } from './security.js';

export interface DesktopAppOptions {
  /** The bundled pool worker (next to the main bundle). */
  workerFile: string;
  /** The bundled job reader thread (next to the main bundle); default: the one in dist/. */
  jobReaderFile?: string;
  /** The bundled store checkpoint thread (next to the main bundle); default: the one in dist/. */
  checkpointFile?: string;
  preloadFile: string;
  /** The built renderer, served as threadline://app/. */
  rendererDir: string;
  /** Vite's dev server (`npm run dev`); the pages then come from there. */
  devServerUrl?: string;
  quitDeadlineMs?: number;
  /** The port of the API for threadline commands on 127.0.0.1; default 0, a free one. */
  apiPort?: number;
}

export interface RunningDesktopApp {
  engine: Engine;
  dataDir: string;
  scheduler: Scheduler;
  metricsEndpoint: MetricsEndpointSetting;
  remoteWorkers: RemoteWorkersSetting;
  /** The API `threadline` commands beside the app reach (its address is in the data directory's serve.json). */
  loopbackApi: LoopbackApi;
  window(): BrowserWindow | null;
}

/**
 * Starts the app. Resolves once the window is created, or with null when another instance
 * already runs (it gets focused) or the engine could not start (the person was told why).
 */
export async function startDesktopApp(options: DesktopAppOptions): Promise<RunningDesktopApp | null> {
  const devOrigin = options.devServerUrl ? originOf(options.devServerUrl) : null;
  const appOrigin = devOrigin ?? APP_ORIGIN;
  // Electron's userData rule with the product's name, the folder the CLI and `serve` default to.
  app.setPath('userData', defaultUserDataDir());
  if (!app.requestSingleInstanceLock()) {
    app.quit();
    return null;
  }
  registerAppScheme(protocol);
  secureAllWebContents(app, appOrigin);
  await app.whenReady();

  const sqliteProblem = useElectronSqlite(app.getAppPath(), app.isPackaged);
  const dataDir = process.env.THREADLINE_DATA_DIR || join(app.getPath('userData'), 'data');
  const settingsFile = join(app.getPath('userData'), 'settings.json');
  const remoteWorkers = new RemoteWorkersSetting(settingsFile);
  let engine: Engine;
  try {
    // A Redis that cannot be reached does not keep the app from opening: it says so and runs what it can.
    const engineOptions = await remoteWorkers.engineOptions({ dataDir, workerFile: options.workerFile, checkpointFile: options.checkpointFile });
    engine = new Engine(engineOptions);
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
    dialog.showErrorBox('Threadline cannot start', sqliteProblem ? `${message}\n\n${sqliteProblem}` : message);
    app.exit(2);
    return null;
  }
  if (sqliteProblem) console.warn(`Threadline: ${sqliteProblem}`);

  secureSession(session.defaultSession, appOrigin, devOrigin ? 'development' : 'production');
  if (!devOrigin) serveRenderer(protocol, options.rendererDir);

  let window: BrowserWindow | null = null;
  const scheduler = new Scheduler({ engine });
  const metrics = createMetrics(engine, scheduler);
  const metricsEndpoint = new MetricsEndpointSetting(settingsFile, metrics);
  const api = new ApiHandlers(engine, { defaultBaseDir: homedir(), jobReaderFile: options.jobReaderFile, scheduler });
  const batcher = new EventBatcher(engine);
  const ipc = serveApiOverIpc({
    api,
    desktop: {
      ...nativeDialogs(dialog, () => window),
      metricsEndpoint: async () => metricsEndpoint.status(),
      setMetricsEndpoint: (params) => metricsEndpoint.set(params),
      remoteWorkers: async () => remoteWorkers.status(),
      setRemoteWorkers: async (params) => remoteWorkers.set(params),
    },
    batcher,
    window: () => window,
    appOrigin,
  });
  const stopNotices = notifyWhenLongJobsEnd(engine, (notice) => {
    if (!Notification.isSupported()) return;
    const shown = new Notification(notice);
    // A click on the notice brings the window back, where the job's results are.
    shown.on('click', () => {
      if (!window) return;
      if (window.isMinimized()) window.restore();
      window.show();
      window.focus();
    });
    shown.show();
  });
  // Started now, stopped by the quit whenever it comes, so that serve.json never outlives the app.
  const loopbackApiStarted = startLoopbackApi({ dataDir, handlers: api, batcher, port: options.apiPort });
  shutDownEngineOnQuit(app, engine, {
    deadlineMs: options.quitDeadlineMs ?? QUIT_DEADLINE_MS,
    beforeShutdown: () => {
      stopNotices();
      ipc.close();
      const closed = Promise.all([
        loopbackApiStarted.then((loopbackApi) => loopbackApi.close()).finally(() => batcher.close()),
        scheduler.stop(),
        metricsEndpoint.close(),
      ]);
      metrics.close();
      return closed;
    },
  });
  scheduler.start();
  await metricsEndpoint.start();
  const loopbackApi = await loopbackApiStarted;

  const openWindow = () => {
    const created = createMainWindow({ preloadFile: options.preloadFile, startUrl: options.devServerUrl ?? APP_START_URL });
    created.on('closed', () => {
      if (window === created) window = null;
    });
    window = created;
  };
  openWindow();
  app.on('second-instance', () => {
    if (!window) return;
    if (window.isMinimized()) window.restore();
    window.focus();
  });
  // macOS keeps the app running without windows; its Dock icon opens a new one.
  app.on('activate', () => {
    if (!window) openWindow();
  });
  app.on('window-all-closed', () => {
    if (process.platform !== 'darwin') app.quit();
  });
  return { engine, dataDir, scheduler, metricsEndpoint, remoteWorkers, loopbackApi, window: () => window };
}
