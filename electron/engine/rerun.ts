/**
 * Running a job again as a new job, rebuilt from what the store keeps of it: its header (name,
 * concurrency, onFailure, base folder) and each task's kind, input (validated, with its paths
 * already resolved), priority, timeout, retries, backoff and dependencies.
 */
import type { JobSpec, TaskSpec } from '../../contract/job-spec.js';
import type { JobRecord, TaskRecord } from '../../contract/records.js';
import type { HostEngine } from './engine.js';
import { ThreadlineError } from './errors.js';

export interface RerunOptions {
  /**
   * Only the tasks that did not succeed, and every task that depends on one of them. A task
   * they depend on that succeeded does not run again: the dependency on it is dropped from the
   * new job, as already met.
   */
  failedOnly: boolean;
}

export type RerunOutcome =
  | { ok: true; job: JobRecord; from: JobRecord }
  | { ok: false; code: 'NOTHING_TO_RERUN' | 'JOB_RUNNING'; reason: string };

/** The spec of a new job with the tasks of `tasks` (all, or those that did not succeed). */
export function rerunSpec(job: JobRecord, tasks: readonly TaskRecord[], options: RerunOptions): JobSpec {
  const chosen = options.failedOnly ? notSucceededWithDependents(tasks) : new Set(tasks.map((task) => task.id));
  const specs: TaskSpec[] = [];
  for (const task of tasks) {
    if (!chosen.has(task.id)) continue;
    specs.push({
      id: task.id,
      kind: task.kind,
      input: task.input,
      priority: task.priority,
      ...(task.timeoutMs === null ? {} : { timeoutMs: task.timeoutMs }),
      retries: task.retries,
      retryBackoffMs: task.retryBackoffMs,
      dependsOn: task.dependsOn.filter((id) => chosen.has(id)),
      ...(task.runOn ? { runOn: task.runOn } : {}),
    });
  }
  return {
    name: job.name,
    ...(job.concurrency === null ? {} : { concurrency: job.concurrency }),
    onFailure: job.onFailure,
    tasks: specs,
  };
}

/** The ids of tasks that did not succeed, plus (transitively) every task depending on one. */
function notSucceededWithDependents(tasks: readonly TaskRecord[]): Set<string> {
  const dependents = new Map<string, string[]>();
  for (const task of tasks) {
    for (const dep of task.dependsOn) {
      let list = dependents.get(dep);
      if (!list) dependents.set(dep, (list = []));
      list.push(task.id);
    }
  }
  const chosen = new Set<string>();
  const stack = tasks.filter((task) => task.state !== 'succeeded').map((task) => task.id);
  while (stack.length > 0) {
    const id = stack.pop()!;
    if (chosen.has(id)) continue;
    chosen.add(id);
    for (const dependent of dependents.get(id) ?? []) stack.push(dependent);
  }
  return chosen;
}

/**
 * Submits job `jobId` again as a new job, against the same base folder. With `failedOnly` the
 * job must have ended; a job all of whose tasks succeeded has nothing to run again.
 */
export async function rerunJob(engine: Pick<HostEngine, 'job' | 'tasksOfJob' | 'submitJob'>, jobId: string, options: RerunOptions): Promise<RerunOutcome> {
  const from = engine.job(jobId);
  if (!from) throw new ThreadlineError('NOT_FOUND', `no job ${JSON.stringify(jobId)} in this data directory`);
  if (options.failedOnly && from.state === 'running') {
    return { ok: false, code: 'JOB_RUNNING', reason: `job ${jobId} is still running: wait for it to end (or cancel it) before re-running its failed tasks` };
  }
  const spec = rerunSpec(from, engine.tasksOfJob(jobId), options);
  if (spec.tasks.length === 0) {
    return { ok: false, code: 'NOTHING_TO_RERUN', reason: `nothing to re-run: every task of job ${jobId} succeeded` };
  }
  return { ok: true, job: await engine.submitJob(spec, from.baseDir), from };
}
