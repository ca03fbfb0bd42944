/**
 * What piscina loads in each pool thread. piscina first tries `require()` on its worker file,
 * and on Node versions where `require()` can load ES modules that path has aborted the whole
 * process under load (a V8 fatal error in the synchronous module instantiation). This CommonJS
 * file is required instead, and loads the ES module of the same name beside it (`entry.js` in
 * dist/workers/) with `import()`. The bundles' pool workers (the CLI's `dist/cli/pool-worker.cjs`,
 * the desktop app's `out/main/pool-worker.cjs`) are CommonJS through and through instead: a
 * thread of theirs starts no ES module loader at all, a few milliseconds of every boot.
 */
import { basename } from 'node:path';
import type { BatchRequest, BatchResult } from '../shared/pool-protocol.js';

type RunBatch = (request: BatchRequest) => Promise<BatchResult>;

// The module's task function is a promise of it, which piscina awaits before the thread says it
// is ready: a thread is ready once its entry has loaded, and the load runs while the thread
// waits for nothing else. (A ready thread idles blocked in `Atomics.wait`, where a load started
// but not finished would stand still until its first task came.) That is what lets the pool's
// spare thread take a task at once. A failure to load is every task's error.
const runBatch: Promise<RunBatch> = import(`./${basename(__filename, '.cjs')}.js`).then(
  (module: { default: RunBatch }) => module.default,
  (error: unknown) => () => Promise.reject(error),
);

export = { __esModule: true, default: runBatch };
