import { existsSync } from 'node:fs';
import type { ResourceLimits } from 'node:worker_threads';
import type { HostNotice } from '../../contract/api.js';
import type { CallServiceMap } from './call-services.js';
import { ThreadlineError } from './errors.js';
import type { Executor, ExecutorListener } from './executor.js';
import type { MemoryLimits } from './memory-watch.js';
import { defaultWorkerFile } from './paths.js';
import { PoolExecutor } from './pool-executor.js';

/** Builds an executor that reports to the engine's life cycle. */
export type ExecutorFactory = (listener: ExecutorListener) => Executor;

export interface EngineOptions {
  /** Where the job store lives. */
  dataDir: string;
  /** The compiled pool worker entry; default: found next to the engine. */
  workerFile?: string;
  /** Threads in the pool; default: one per CPU core. */
  poolSize?: number;
  /**
   * Start the pool's spare threads with the engine (default), or only as work waits behind busy
   * threads: for a short run that may never use them (see `PoolOptions.spareAhead`).
   */
  spareThreadsAhead?: boolean;
  /** V8 limits for each pool thread; a task over them fails alone. */
  resourceLimits?: ResourceLimits;
  /** Ceilings on memory the heap limit does not count, per task and for the process. */
  memoryLimits?: MemoryLimits;
  /**
   * Async (loop) tasks of jobs without a `concurrency` of their own running at once (default
   * 64); a job that sets `concurrency` runs that many of its async tasks whatever this is.
   */
  loopConcurrency?: number;
  /** Where tasks run; default: a piscina pool for sync kinds, the event loop for async kinds. */
  executors?: { pool?: ExecutorFactory; loop?: ExecutorFactory };
  /** How long a cancelled running task may take to stop by itself before its thread is ended. */
  cancelGraceMs?: number;
  /** Crashes of the process a task may be running at before a resume fails it (`PROCESS_CRASHED`). Default 2. */
  crashBudget?: number;
  telemetryIntervalMs?: number;
  /** Telemetry samples kept in memory. */
  telemetryHistory?: number;
  /** How often batched state changes are written to the store. */
  storeFlushMs?: number;
  /** Tasks of finished jobs kept in memory (newest jobs first); older ones are read from the store. Default 10,000. */
  keepFinishedTasks?: number;
  /** The compiled store checkpoint thread; default: found next to the engine; null: checkpoints on the main connection. */
  checkpointFile?: string | null;
  /** How often that thread folds the store's write-ahead log into the file. */
  checkpointIntervalMs?: number;
  /**
   * How long after the engine that thread starts (default 0: with the engine). A short run (a
   * CLI job of a few tasks) that ends first never starts it; the main connection checkpoints meanwhile.
   */
  checkpointThreadDelayMs?: number;
  /** Async services pool tasks reach with `ctx.call(name, ...args)`, besides `fetch` and `sleep`. */
  services?: CallServiceMap;
  /** Conditions the host found before the engine started (an unreachable Redis), shown as long as it runs. */
  notices?: HostNotice[];
}

export type { EngineEvents } from './engine-events.js';

export const DEFAULTS = {
  loopConcurrency: 64,
  cancelGraceMs: 2000,
  crashBudget: 2,
  telemetryIntervalMs: 500,
  telemetryHistory: 1200,
  storeFlushMs: 100,
  checkpointIntervalMs: 500,
  keepFinishedTasks: 10_000,
  resourceLimits: { maxOldGenerationSizeMb: 2048 } satisfies ResourceLimits,
};
export /** The piscina pool, once its compiled worker entry is found. */
function defaultPool(options: EngineOptions): ExecutorFactory {
  const workerFile = options.workerFile ?? defaultWorkerFile();
  if (!existsSync(workerFile)) {
    throw new ThreadlineError('BUILD_MISSING', `the pool worker entry ${workerFile} is missing; run "npm run build:node"`);
  }
  const resourceLimits = options.resourceLimits ?? DEFAULTS.resourceLimits;
  return (listener) =>
    new PoolExecutor({ workerFile, size: options.poolSize, spareAhead: options.spareThreadsAhead, resourceLimits, memoryLimits: options.memoryLimits, services: options.services }, listener);
}
