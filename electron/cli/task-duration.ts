import type { TaskRecord } from '../../contract/records.js';

/** How long a task (or a job, from its creation) took, as the CLI prints it: `8.0ms`, `312ms`, `2.41s`; empty while it runs. */
export function duration(task: Pick<TaskRecord, 'startedAt' | 'finishedAt'>): string {
  if (task.startedAt === null || task.finishedAt === null) return '';
  const ms = task.finishedAt - task.startedAt;
  return ms < 1000 ? `${ms.toFixed(ms < 10 ? 1 : 0)}ms` : `${(ms / 1000).toFixed(2)}s`;
}
