/**
 * `npm run build` / `npm run dev` for the desktop app (electron-vite):
 *   out/main/index.js        the main process (electron/main.ts)
 *   out/main/pool-worker.cjs the piscina worker (workers/entry.ts) as one CommonJS file, as the
 *                            CLI's bundle has it (scripts/bundle-cli.mjs): a pool thread starts
 *                            without an ES module loader and never require()s an ES module
 *   out/main/chunks/         the main bundle's chunks, and pool-worker-*.cjs: each pool kind's
 *                            handler, require()d on the kind's first task in a thread
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

const MAIN_ENTRY = fromRoot('electron/main.ts');

/** Native or thread-spawning packages stay in node_modules (asar-unpacked when packaged). */
const EXTERNAL = ['piscina', 'better-sqlite3'];
const dependencies = Object.keys((JSON.parse(readFileSync(fromRoot('package.json'), 'utf8')) as { dependencies: Record<string, string> }).dependencies);

/** Thread entries (imported with ?modulePath) and their fixed names next to the main bundle. */
const THREAD_ENTRIES = new Map([
  [fromRoot('electron/engine/job-reader-thread.ts'), 'job-reader.js'],
  [fromRoot('electron/engine/store-checkpoint-thread.ts'), 'store-checkpoint.js'],
  [fromRoot('workers/key-range-thread.ts'), 'key-range-thread.js'],
]);
const threadFileName = (moduleId: string | null) => (moduleId === null ? undefined : THREAD_ENTRIES.get(resolve(moduleId.split('?')[0]!)));

/**
 * out/main/pool-worker.cjs and its chunks: workers/entry.ts bundled on its own by rolldown as
 * CommonJS, the way scripts/bundle-cli.mjs bundles the CLI's (an ES module entry, even behind a
 * CommonJS one, costs each thread's boot the ES module loader: 5-8 ms, see docs/benchmarks.md).
 * Built at the start of the main build and emitted with it, so `--outDir` and watch mode hold.
 */
function poolWorkerBundle(): Plugin {
  return {
    name: 'threadline:pool-worker',
    apply: 'build',
    async buildStart(options) {
      // electron-vite builds each ?modulePath thread entry with the main config too; the pool
      // worker is made once, with the main bundle.
      if (!Object.values(options.input ?? {}).includes(MAIN_ENTRY)) return;
      const { rolldown } = await import('rolldown');
      const bundle = await rolldown({
        input: { 'pool-worker': fromRoot('workers/entry.ts') },
        platform: 'node',
        external: EXTERNAL,
        // The sources import each other as .js, which tsc compiles them to; a package's ES build
        // where it has one, as the CLI's bundle resolves them (a UMD "main" hides its require()s).
        resolve: { extensionAlias: { '.js': ['.ts', '.js'] }, mainFields: ['module', 'main'] },
        onLog(level, log, handler) {
          // A build that would bundle something wrong must fail, not warn.
          handler(level === 'warn' ? 'error' : level, log);
        },
      });
      try {
        const { output } = await bundle.generate({ format: 'cjs', entryFileNames: '[name].cjs', chunkFileNames: 'chunks/pool-worker-[name]-[hash].cjs' });
        for (const file of output) {
          this.emitFile({ type: 'asset', fileName: file.fileName, source: file.type === 'chunk' ? file.code : file.source });
          if (file.type === 'chunk') for (const id of file.moduleIds) if (!id.startsWith('\0')) this.addWatchFile(id);
        }
      } finally {
        await bundle.close();
      }
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
    plugins: [poolWorkerBundle()],
    build: {
      externalizeDeps: { exclude: dependencies.filter((name) => !EXTERNAL.includes(name)) },
      rolldownOptions: {
        input: { index: MAIN_ENTRY },
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
