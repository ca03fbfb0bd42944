/**
 * `npm run build` / `npm run dev` for the desktop app (electron-vite):
 *   out/main/index.js        the main process (electron/main.ts)
 *   out/main/pool-worker.js  the piscina worker (workers/entry.ts, imported with ?modulePath)
 *   out/main/pool-worker.cjs what piscina loads: workers/entry.cts, which import()s pool-worker.js
 *   out/main/chunks/         each pool kind's handler (loaded on its first task in a thread) and
 *                            what those share with the main bundle
 *   out/main/job-reader.js   the job reader thread (electron/engine/job-reader-thread.ts, ?modulePath)
 *   out/main/store-checkpoint.js  the store's checkpoint thread (electron/engine/store-checkpoint-thread.ts)
 *   out/main/key-range-thread.js  a helper of a split sql.query export (workers/key-range-thread.ts),
 *                                 found by the pool beside pool-worker.cjs
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
  [fromRoot('workers/key-range-thread.ts'), 'key-range-thread.js'],
]);
const threadFileName = (moduleId: string | null) => (moduleId === null ? undefined : THREAD_ENTRIES.get(resolve(moduleId.split('?')[0]!)));

/**
 * out/main/pool-worker.cjs: workers/entry.cts as CommonJS, as `npm run build:node` compiles it.
 * piscina require()s it and it import()s pool-worker.js beside it, so the pool never loads an
 * ES module through require() (see workers/entry.cts).
 */
function poolWorkerCommonJsEntry(): Plugin {
  return {
    name: 'threadline:pool-worker-cjs',
    apply: 'build',
    async generateBundle() {
      const { default: ts } = await import('typescript');
      const source = readFileSync(fromRoot('workers/entry.cts'), 'utf8');
      const compilerOptions = { module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, target: ts.ScriptTarget.ES2022 };
      const { outputText } = ts.transpileModule(source, { fileName: 'entry.cts', compilerOptions });
      this.emitFile({ type: 'asset', fileName: 'pool-worker.cjs', source: outputText });
    },
  };
}

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
    plugins: [poolWorkerCommonJsEntry()],
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
