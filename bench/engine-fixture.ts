import { fileURLToPath } from 'node:url';
import type { JobSpec } from '../contract/job-spec.js';
import { validateJobSpec } from '../contract/job-spec.js';
import { Engine, type EngineOptions } from '../electron/engine/engine.js';
import type { BenchContext } from './harness.js';

export const BASELINE_WORKER = fileURLToPath(new URL('./baseline-worker.js', import.meta.url));

export function benchEngine(ctx: BenchContext, options: Partial<EngineOptions> = {}): Engine {
  return new Engine({ dataDir: ctx.scratch('store'), ...options });
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
