import { statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { JobSpec } from '../contract/job-spec.js';
import { validateJobSpec } from '../contract/job-spec.js';
import { Engine, type EngineOptions } from '../electron/engine/engine.js';
import type { BenchContext } from './harness.js';

export const BASELINE_WORKER = fileURLToPath(new URL('./baseline-worker.js', import.meta.url));

/** dist/, where this file runs from once compiled. */
const DIST = fileURLToPath(new URL('..', import.meta.url));

const modifiedMs = (path: string) => statSync(path, { throwIfNoEntry: false })?.mtimeMs;

/**
 * The CLI's bundle of the pool worker in the build at `dist` (`npm run build:node`): what
 * `threadline run` and `serve` load in each pool thread. Missing, or older than the compiled
 * code beside it (a bare `tsc -b` after the bundle was made, when bin/threadline.js runs the
 * compiled modules instead): an error that says how to build it.
 */
export function shippedPoolWorker(dist: string): string {
  const file = join(dist, 'cli', 'pool-worker.cjs');
  if (modifiedMs(file) === undefined) throw new Error(`the pool worker bundle ${file} is missing; run "npm run build:node"`);
  const built = modifiedMs(join(dist, 'cli', 'built'));
  const compiled = modifiedMs(join(dist, '.tsbuildinfo.node'));
  if (built === undefined || (compiled !== undefined && compiled > built)) {
    throw new Error(`the pool worker bundle ${file} is older than the compiled code in ${dist}; run "node scripts/bundle-cli.mjs" (or "npm run build:node")`);
  }
  return file;
}

let poolWorkerSaid = false;

/**
 * The pool worker the benchmarks' engines run: the one the hosts ship (`shippedPoolWorker`), not
 * the compiled modules of dist/workers/ the engine would find beside itself, whose thread boots
 * dearer (an ES module loader and seven modules where the bundle is one CommonJS file; see
 * benchmarks.md, Method). THREADLINE_BENCH_POOL_WORKER names another entry, to compare builds;
 * the run's log says which one ran.
 */
export function benchPoolWorker(ctx: BenchContext): string {
  const chosen = process.env.THREADLINE_BENCH_POOL_WORKER;
  if (chosen && modifiedMs(chosen) === undefined) throw new Error(`THREADLINE_BENCH_POOL_WORKER names ${chosen}, which does not exist`);
  const file = chosen || shippedPoolWorker(DIST);
  if (!poolWorkerSaid) {
    poolWorkerSaid = true;
    ctx.log(`the engines' pool threads run ${file}`);
  }
  return file;
}

export function benchEngine(ctx: BenchContext, options: Partial<EngineOptions> = {}): Engine {
  return new Engine({ dataDir: ctx.scratch('store'), workerFile: benchPoolWorker(ctx), ...options });
}

/** `n` trivial tasks (`demo.echo`, ids t0, t1, ...): what a dispatch rate is measured on. */
export function echoTasks(n: number): Array<Record<string, unknown>> {
  return Array.from({ length: n }, (_, i) => ({ id: `t${i}`, kind: 'demo.echo', value: i }));
}

/** A job document as a user's file holds it, before validation. */
export type JobDocument = { name: string; tasks: Array<Record<string, unknown>> } & Record<string, unknown>;

export function jobDocument(tasks: Array<Record<string, unknown>>, header: Record<string, unknown> = {}): JobDocument {
  return { name: 'bench', ...header, tasks };
}

export function validated(document: JobDocument): JobSpec {
  const result = validateJobSpec(document);
  if (!result.ok) throw new Error(`bad bench job: ${JSON.stringify(result.issues[0])}`);
  return result.spec;
}

export function spec(tasks: Array<Record<string, unknown>>, header: Record<string, unknown> = {}): JobSpec {
  return validated(jobDocument(tasks, header));
}

/**
 * Validates and submits a job, and resolves with its wall time in ms: from the document in
 * hand to the last task's end, or with `durable`, to every task's final state in the store.
 */
export async function timeJob(engine: Engine, job: JobDocument, options: { durable?: boolean } = {}): Promise<number> {
  const start = performance.now();
  const record = await engine.submitJob(validated(job), '/');
  await engine.waitForJob(record.id);
  if (options.durable) await engine.whenStored();
  return performance.now() - start;
}
