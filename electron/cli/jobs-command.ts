import { JOB_STATES, type JobState } from '../../contract/task-states.js';
import { listJobSummaries } from '../engine/history.js';
import { CliError } from './cli-error.js';
import { dataDirOf } from './options.js';
import type { Output } from './run-command.js';

export interface JobsOptions {
  dataDir?: string;
  json?: boolean;
  limit?: number;
  state?: string;
  name?: string;
}

export function when(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
}

/** `threadline jobs`: the job history of a data directory, newest first, optionally filtered. */
export async function listJobs(options: JobsOptions, io: Output): Promise<number> {
  if (options.state !== undefined && !(JOB_STATES as readonly string[]).includes(options.state)) {
    throw new CliError(`--state must be one of ${JOB_STATES.join(', ')} (got ${JSON.stringify(options.state)})`);
  }
  const jobs = listJobSummaries(dataDirOf(options), {
    limit: options.limit ?? 50,
    ...(options.state ? { state: options.state as JobState } : {}),
    ...(options.name ? { name: options.name } : {}),
  });
  if (options.json) {
    io.out(JSON.stringify(jobs, null, 2));
    return 0;
  }
  if (jobs.length === 0) {
    io.out(options.state || options.name ? 'no jobs match' : 'no jobs yet');
    return 0;
  }
  const { table } = await import('./task-table.js');
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
