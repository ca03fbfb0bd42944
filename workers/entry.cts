/**
 * What piscina loads in each pool thread. piscina first tries `require()` on its worker file,
 * and on Node versions where `require()` can load ES modules that path has aborted the whole
 * process under load (a V8 fatal error in the synchronous module instantiation). This CommonJS
 * file is required instead, and loads the ES module of the same name beside it with `import()`:
 * `entry.js` in dist/workers/, `pool-worker.js` in the desktop bundle (whose copy of this file
 * is `pool-worker.cjs`).
 */
import { basename } from 'node:path';
import type { BatchRequest, BatchResult } from '../shared/pool-protocol.js';

type RunBatch = (request: BatchRequest) => Promise<BatchResult>;

// Loading starts as soon as piscina requires this file, not on the first task, so that a fresh
// thread (a replacement after a hard cancel) has its entry ready by the time its task arrives.
// A failure to load is the first task's error.
const entry = import(`./${basename(__filename, '.cjs')}.js`) as Promise<{ default: RunBatch }>;
entry.catch(() => {});

function runBatch(request: BatchRequest): Promise<BatchResult> {
  return entry.then((module) => module.default(request));
}

export = runBatch;
