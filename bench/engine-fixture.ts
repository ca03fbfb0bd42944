import { fileURLToPath } from 'node:url';
import type { JobSpec } from '../contract/job-spec.js';
import { validateJobSpec } from '../contract/job-spec.js';
import { Engine, type EngineOptions } from '../electron/engine/engine.js';
import type { BenchContext } from './harness.js';

export const BASELINE_WORKER = fileURLToPath(new URL('./baseline-worker.js', import.meta.url));

export function benchEngine(ctx: BenchContext, options: Partial<EngineOptions> = {}): Engine {
  return new Engine({ dataDir: ctx.scratch('store'), ...options });
}

export function spec(tasks: Array<Record<string, unknown>>, header: Record<string, unknown> = {}): JobSpec {
  const result = validateJobSpec({ name: 'bench', ...header, tasks });
  if (!result.ok) throw new Error(`bad bench job: ${JSON.stringify(result.issues[0])}`);
  return result.spec;
}

/** Submits a job and resolves with its wall time in ms, from submit to the last task's end. */
export async function timeJob(engine: Engine, job: JobSpec): Promise<number> {
  const start = performance.now();
  const record = await engine.submitJob(job, '/');
  await engine.waitForJob(record.id);
  return performance.now() - start;
}
