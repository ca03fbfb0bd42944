/**
 * The second half of `npm run build:node`: the compiled CLI (dist/electron/cli/main.js) and the
 * entries of the threads it starts, bundled into dist/cli/, so that starting a command reads a
 * few files instead of resolving and linking some 300 modules (most of a run's start-up time):
 *
 *   dist/cli/threadline.js        the CLI (bin/threadline.js runs it); each command's modules in
 *                                 chunks beside it, loaded when that command runs
 *   dist/cli/pool-worker.cjs      the pool worker (dist/workers/entry.js) as CommonJS, which piscina
 *                                 require()s: a thread starts without an ES module loader (and
 *                                 never require()s an ES module, see workers/entry.cts); its kinds'
 *                                 handlers in chunks loaded on a kind's first task in a thread
 *   dist/cli/job-reader.js        the job reader thread
 *   dist/cli/store-checkpoint.js  the store's checkpoint thread
 *   dist/cli/key-range-thread.js  a helper thread of a split sql.query export, beside the pool worker
 *
 * The threads' entries have the names electron-vite gives them in the desktop bundle (out/main/),
 * and the engine looks for them beside itself (electron/engine/paths.ts). The bundles are built
 * from dist/, not from the sources, so they hold exactly what tsc compiled; bin/threadline.js runs
 * the compiled modules instead when dist/ was compiled again after the bundles were made.
 *
 * `--out DIR` writes them elsewhere (the tests check a bundle away from dist/).
 */
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { rolldown } from 'rolldown';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const dist = join(root, 'dist');

function fail(message) {
  process.stderr.write(`bundle-cli: ${message}\n`);
  process.exit(2);
}

let out = join(dist, 'cli');
try {
  const { values } = parseArgs({ options: { out: { type: 'string' } } });
  if (values.out !== undefined) out = resolve(values.out);
} catch (error) {
  fail(`${error.message} (usage: node scripts/bundle-cli.mjs [--out DIR])`);
}
if (!existsSync(join(dist, 'electron/cli/main.js'))) fail('dist/ holds no compiled CLI: run "tsc -b tsconfig.node.json" first');

/**
 * Left in node_modules: native code or threads started from a file (better-sqlite3, piscina), and
 * what only `--redis` and `threadline worker` load, which reads files of its own at run time
 * (bullmq's Lua scripts) or has optional native parts.
 */
const EXTERNAL = ['piscina', 'better-sqlite3', 'bullmq', 'ioredis'];

/** Each bundle on its own, so that a thread reads one file and no chunk of another's. */
const BUNDLES = [
  { name: 'threadline', from: 'electron/cli/main.js', chunks: 'cli', format: 'esm' },
  { name: 'pool-worker', from: 'workers/entry.js', chunks: 'worker', format: 'cjs' },
  { name: 'job-reader', from: 'electron/engine/job-reader-thread.js', chunks: 'reader', format: 'esm' },
  { name: 'store-checkpoint', from: 'electron/engine/store-checkpoint-thread.js', chunks: 'checkpoint', format: 'esm' },
  { name: 'key-range-thread', from: 'workers/key-range-thread.js', chunks: 'key-range', format: 'esm' },
];

// What a build left is replaced whole (no stale chunk stays); any other folder is left alone.
if (existsSync(out) && readdirSync(out).length > 0 && !existsSync(join(out, 'built'))) fail(`${out} is not empty and holds no bundle of an earlier build`);
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
for (const { name, from, chunks, format } of BUNDLES) {
  const bundle = await rolldown({
    input: { [name]: join(dist, from) },
    platform: 'node',
    external: EXTERNAL,
    // jsonc-parser's "main" is a UMD build whose require()s a bundler cannot follow; its "module" is ES.
    resolve: { mainFields: ['module', 'main'] },
    onLog(level, log, handler) {
      // A build that would bundle something wrong must fail, not warn.
      if (level === 'warn') handler('error', log);
      else handler(level, log);
    },
  });
  // The package is "type": "module": CommonJS files must say so by their extension.
  const extension = format === 'cjs' ? 'cjs' : 'js';
  await bundle.write({ dir: out, format, entryFileNames: `[name].${extension}`, chunkFileNames: `${chunks}-[name]-[hash].${extension}` });
  await bundle.close();
}
// Written last: bin/threadline.js trusts the bundles only when this is newer than tsc's last build.
writeFileSync(join(out, 'built'), `${new Date().toISOString()}\n`);
