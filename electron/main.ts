/**
 * The desktop app's main process: electron-vite bundles this file to out/main/index.js, the
 * pool worker next to it (out/main/pool-worker.js) and the preload to out/preload/.
 */
import { join } from 'node:path';
import workerFile from '../workers/entry.ts?modulePath';
import { startDesktopApp } from './desktop/desktop-app.js';

void startDesktopApp({
  workerFile,
  preloadFile: join(import.meta.dirname, '../preload/index.cjs'),
  rendererDir: join(import.meta.dirname, '../renderer'),
  devServerUrl: process.env.ELECTRON_RENDERER_URL,
});
