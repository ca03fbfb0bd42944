/**
 * `npm run build` / `npm run dev` for the desktop app (electron-vite):
 *   out/main/index.js        the main process (electron/main.ts)
 *   out/main/pool-worker.js  the piscina worker (workers/entry.ts, imported with ?modulePath)
 *   out/main/job-reader.js   the job reader thread (electron/engine/job-reader-thread.ts, ?modulePath)
 *   out/main/store-checkpoint.js  the store's checkpoint thread (electron/engine/store-checkpoint-thread.ts)
 *   out/preload/index.cjs    the preload (sandboxed, so CommonJS with everything bundled in)
 *   out/renderer/            the React renderer (renderer/index.html)
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'electron-vite';
import type { Plugin } from 'vite';
import { contentSecurityPolicy } from './electron/desktop/security.js';

const root = dirname(fileURLToPath(import.meta.url));
const fromRoot = (path: string) => resolve(root, path);

/** Native or thread-spawning packages stay in node_modules (asar-unpacked when packaged). */
const EXTERNAL = ['piscina', 'better-sqlite3'];
const dependencies = Object.keys((JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);

/** Thread entries (imported with ?modulePath) and their fixed names next to the main bundle. */
const THREAD_ENTRIES = new Map([
  [fromRoot('workers/entry.ts'), 'pool-worker.js'],
  [fromRoot('electron/engine/job-reader-thread.ts'), 'job-reader.js'],
  [fromRoot('electron/engine/store-checkpoint-thread.ts'), 'store-checkpoint.js'],
]);
const threadFileName = (moduleId: string | null) => (moduleId === null ? undefined : THREAD_ENTRIES.get(resolve(moduleId.split('?')[0]!)));

/** The CSP as a <meta> tag too, in case a page is ever loaded without the header. */
function cspMetaTag(): Plugin {
  return {
    name: 'threadline:csp-meta',
    apply: 'build',
    transformIndexHtml: () => [
      {
        tag: 'meta',
        attrs: { 'http-equiv': 'Content-Security-Policy', content: contentSecurityPolicy('production', { forMetaTag: true }) },
        injectTo: 'head-prepend',
      },
    ],
  };
}

export default defineConfig({
  main: {
    build: {
      externalizeDeps: { exclude: dependencies.filter((name) => !EXTERNAL.includes(name)) },
      rolldownOptions: {
        input: { index: fromRoot('electron/main.ts') },
        output: {
          format: 'es',
          entryFileNames: 'index.js',
          // Threads' entries get fixed names next to the main bundle, so packaging can unpack them from asar.
          chunkFileNames: (chunk) => threadFileName(chunk.facadeModuleId) ?? 'chunks/[name]-[hash].js',
        },
      },
    },
  },
  preload: {
    build: {
      // A sandboxed preload can require only `electron`: bundle everything else.
      externalizeDeps: false,
      rolldownOptions: {
        input: { index: fromRoot('electron/preload.ts') },
        output: { format: 'cjs', entryFileNames: 'index.cjs' },
      },
    },
  },
  renderer: {
    root: fromRoot('renderer'),
    plugins: [react(), cspMetaTag()],
    build: {
      rolldownOptions: { input: fromRoot('renderer/index.html') },
    },
  },
});
