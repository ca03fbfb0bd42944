/**
 * `npm run build` / `npm run dev` for the desktop app (electron-vite):
 *   out/main/index.js        the main process (electron/main.ts)
 *   out/main/pool-worker.js  the piscina worker (workers/entry.ts, imported with ?modulePath)
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

const poolWorkerEntry = fromRoot('workers/entry.ts');
const isPoolWorker = (moduleId: string | null) => moduleId !== null && resolve(moduleId.split('?')[0]!) === poolWorkerEntry;

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
          // The worker gets a fixed name next to the main bundle, so packaging can unpack it from asar.
          chunkFileNames: (chunk) => (isPoolWorker(chunk.facadeModuleId) ? 'pool-worker.js' : 'chunks/[name]-[hash].js'),
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
