import { useEffect } from 'react';
import type { JobRecord } from '../../../contract/records';
import type { TaskState } from '../../../contract/task-states';
import { closeDirectionControls, formatCount } from '../format';
import { useDashboard, useStoreVersion } from './dashboard-context';
import { jobHref } from './job-route';
import type { NoticeOptions } from './notices';

export interface JobOutcomeWatcherProps {
  /** Jobs started from this page, by id, with what started them ("Job file", "Run demo", …). */
  watched: ReadonlyMap<string, string>;
  onOutcome: (text: string, options: NoticeOptions) => void;
  onSettled: (jobId: string) => void;
}

/** Turns the end of a job started from this page into a notice of how it ended. */
export function JobOutcomeWatcher({ watched, onOutcome, onSettled }: JobOutcomeWatcherProps) {
  const { store } = useDashboard();
  const version = useStoreVersion(store);
  useEffect(() => {
    for (const [jobId, what] of watched) {
      const job = store.jobs.get(jobId);
      if (!job || job.state === 'running') continue;
      const counts = store.jobCounts.get(jobId);
      onOutcome(`${what}: ${outcomeText(job, (state) => counts?.[state] ?? 0)}`, {
        topic: jobId,
        tone: job.state === 'succeeded' ? 'info' : 'error',
        ...(job.state === 'succeeded' ? {} : { link: { href: jobHref(jobId), label: 'Show its tasks' } }),
      });
      onSettled(jobId);
    }
  }, [store, version, watched, onOutcome, onSettled]);
  return null;
}

/** "job nightly (j-…) failed: 2 of 12 tasks failed, 3 skipped" (a timeout counts as a failure). */
export function outcomeText(job: JobRecord, count: (state: TaskState) => number): string {
  const of = `${formatCount(job.taskCount)} task${job.taskCount === 1 ? '' : 's'}`;
  const name = `job ${closeDirectionControls(job.name)} (${job.id})`;
  const also = (states: TaskState[]) =>
    states
      .filter((s) => count(s) > 0)
      .map((s) => `${formatCount(count(s))} ${s === 'timed_out' ? 'timed out' : s}`)
      .join(', ');
  if (job.state === 'succeeded') return `${name} succeeded: ${of}`;
  if (job.state === 'failed') {
    const failed = count('failed') + count('timed_out');
    const rest = also(['cancelled', 'skipped']);
    return `${name} failed: ${formatCount(failed)} of ${of} failed${rest ? `, ${rest}` : ''}`;
  }
  if (job.state === 'cancelled') return `${name} was cancelled: ${also(['cancelled', 'skipped']) || 'nothing ran'} of ${of}`;
  return `${name} was interrupted; "threadline resume" finishes it`;
}
