/**
 * A desktop notification when a job that ran for a long time ends, so people can look away
 * from the window while it runs.
 */
import type { JobRecord } from '../../contract/records.js';
import type { Engine } from '../engine/engine.js';
import type { JobView } from '../engine/job.js';

export const LONG_JOB_MS = 10_000;

export interface JobNotice {
  title: string;
  body: string;
}

const ENDINGS: Partial<Record<JobRecord['state'], string>> = {
  succeeded: 'finished',
  failed: 'failed',
  cancelled: 'was cancelled',
};

/**
 * Calls `notify` when a job ends (succeeded, failed or cancelled; not interrupted by a quit)
 * more than `longJobMs` after this engine started running it. Returns a function that stops.
 */
export function notifyWhenLongJobsEnd(
  engine: Engine,
  notify: (notice: JobNotice) => void,
  options: { longJobMs?: number; now?: () => number } = {},
): () => void {
  const longJobMs = options.longJobMs ?? LONG_JOB_MS;
  const now = options.now ?? (() => Date.now());
  // When this engine saw each job start running: a resumed job's createdAt may be days old.
  const runningSince = new Map<string, number>();
  const onJob = (job: JobView) => {
    if (job.state === 'running') {
      if (!runningSince.has(job.id)) runningSince.set(job.id, now());
      return;
    }
    const since = runningSince.get(job.id);
    runningSince.delete(job.id);
    const ending = ENDINGS[job.state];
    if (since === undefined || !ending) return;
    const elapsed = now() - since;
    if (elapsed <= longJobMs) return;
    notify({
      title: `Job "${job.name}" ${ending}`,
      body: `${job.taskCount} task${job.taskCount === 1 ? '' : 's'} in ${formatDuration(elapsed)}`,
    });
  };
  engine.on('job', onJob);
  return () => engine.off('job', onJob);
}

export function formatDuration(ms: number): string {
  const seconds = Math.round(ms / 1000);
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
