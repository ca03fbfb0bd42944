import type { JobRecord, TaskRecord } from '../../contract/records.js';

/** The `--json` shape of a finished job. */
export function jobJson(job: JobRecord, tasks: TaskRecord[]) {
  return {
    job,
    tasks: tasks.map((t) => ({
      id: t.id,
      kind: t.kind,
      state: t.state,
      attempts: t.attempts,
      startedAt: t.startedAt,
      finishedAt: t.finishedAt,
      worker: t.worker,
      result: t.result,
      error: t.error,
    })),
  };
}

/** 0 when every task succeeded, else 1. */
export function exitCodeOf(tasks: TaskRecord[]): number {
  return tasks.every((t) => t.state === 'succeeded') ? 0 : 1;
}
