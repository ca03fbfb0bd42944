/**
 * The desktop app's main process: electron-vite bundles this file to out/main/index.js, the
 * threads' entries next to it (out/main/pool-worker.cjs, built by electron.vite.config.ts,
 * out/main/job-reader.js, out/main/store-checkpoint.js) and the preload to out/preload/.
 */
import { join } from 'node:path';
import { app, dialog } from 'electron';
import jobReaderFile from './engine/job-reader-thread.ts?modulePath';
import checkpointFile from './engine/store-checkpoint-thread.ts?modulePath';
// Emitted beside the pool's entry, where the pool finds it (a split sql.query export's helpers).
import '../workers/key-range-thread.ts?modulePath';
import { startDesktopApp } from './desktop/desktop-app.js';

startDesktopApp({
  // The pool worker as one CommonJS file: no ES module loader in a pool thread (see workers/entry.cts).
  workerFile: join(import.meta.dirname, 'pool-worker.cjs'),
  jobReaderFile,
  checkpointFile,
  preloadFile: join(import.meta.dirname, '../preload/index.cjs'),
  rendererDir: join(import.meta.dirname, '../renderer'),
  devServerUrl: process.env.ELECTRON_RENDERER_URL,
}).catch((error: unknown) => {
  // Startup problems the app foresees are explained by startDesktopApp; this is the rest.
  dialog.showErrorBox('Threadline cannot start', error instanceof Error ? error.message : String(error));
  app.exit(1);
});
