import { listJobSummaries } from '../engine/history.js';
import { dataDirOf } from './options.js';
import type { Output } from './run-command.js';
import { table } from './task-table.js';

function when(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/** `threadline jobs`: the job history of a data directory. */
export function listJobs(options: { dataDir?: string; json?: boolean; limit?: number }, io: Output): number {
  const jobs = listJobSummaries(dataDirOf(options), options.limit ?? 50);
  if (options.json) {
    io.out(JSON.stringify(jobs, null, 2));
    return 0;
  }
  if (jobs.length === 0) {
    io.out('no jobs yet');
    return 0;
  }
  io.out(
    table(
      ['JOB', 'NAME', 'STATE', 'TASKS', 'DONE', 'FAILED', 'CREATED', 'FINISHED'],
      jobs.map((j) => [
        j.id,
        j.name,
        j.state,
        String(j.taskCount),
        String(j.counts.succeeded ?? 0),
        String((j.counts.failed ?? 0) + (j.counts.timed_out ?? 0)),
        when(j.createdAt),
        when(j.finishedAt),
      ]),
    ),
  );
  return 0;
}
