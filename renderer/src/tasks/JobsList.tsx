import { useState } from 'react';
import type { JobListEntry } from '../../../contract/api';
import { useDashboard, useStoreVersion } from '../app/dashboard-context';
import { useNotices } from '../app/notices';
import { formatClock, formatCount } from '../format';
import { STATE_COLORS } from '../state-colors';
import type { TaskState } from '../../../contract/task-states';
import { useTaskActions } from './use-task-actions';

export interface JobsListProps {
  /** The job whose tasks the table shows, or null. */
  filterJobId: string | null;
  onShowJob: (jobId: string | null) => void;
}

const ENDED: TaskState[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'];
/** Jobs of the store's history listed on request. */
const EARLIER_JOBS = 50;

/** The jobs this host runs, newest first, each with its progress and a Cancel job button. */
export function JobsList({ filterJobId, onShowJob }: JobsListProps) {
  const { api, store } = useDashboard();
  useStoreVersion(store);
  const actions = useTaskActions();
  const { failed } = useNotices();
  const [earlier, setEarlier] = useState<JobListEntry[] | null>(null);

  const toggleEarlier = (): void => {
    if (earlier) {
      setEarlier(null);
      return;
    }
    api.listJobs({ history: true, limit: EARLIER_JOBS }).then(
      ({ jobs }) => setEarlier(jobs.filter((job) => !store.jobs.has(job.id))),
      (error: unknown) => failed('Earlier jobs', error),
    );
  };
  const jobs = [...store.jobs.values()].sort((a, b) => b.createdAt - a.createdAt);
  const anyActive = store.counts.queued + store.counts.running + store.counts.cancelling > 0;

  return (
    <section className="panel jobs-panel" aria-label="Jobs">
      <header className="panel-header">
        <h2>Jobs</h2>
        <div className="toolbar">
          <button type="button" aria-pressed={earlier !== null} onClick={toggleEarlier}>
            Earlier jobs
          </button>
          <button type="button" className="danger" disabled={!anyActive} onClick={actions.cancelAll}>
            Cancel all
          </button>
        </div>
      </header>
      {jobs.length === 0 && <p className="empty">No jobs yet.</p>}
      <ul className="jobs" aria-label="Job list">
        {jobs.map((job) => {
          const counts = store.jobCounts.get(job.id);
          const ended = counts ? ENDED.reduce((sum, state) => sum + counts[state], 0) : 0;
          const total = Math.max(job.taskCount, 1);
          return (
            <li key={job.id} className={filterJobId === job.id ? 'job selected' : 'job'} data-job-id={job.id} aria-label={`Job ${job.name}`}>
              <div className="job-title">
                <button type="button" className="link" onClick={() => onShowJob(filterJobId === job.id ? null : job.id)} aria-pressed={filterJobId === job.id}>
                  {job.name}
                </button>
                <span className={`job-state job-${job.state}`}>{job.state}</span>
              </div>
              <div className="job-meta">
                <span className="mono">{job.id}</span> · {formatClock(job.createdAt)} · {formatCount(ended)}/{formatCount(job.taskCount)} ended
              </div>
              <div className="job-bar" aria-hidden="true">
                {counts &&
                  (['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped', 'running', 'cancelling'] as TaskState[]).map((state) =>
                    counts[state] > 0 ? (
                      <span key={state} style={{ width: `${(counts[state] / total) * 100}%`, background: STATE_COLORS[state] }} />
                    ) : null,
                  )}
              </div>
              {job.state === 'running' && (
                <button type="button" className="small danger" onClick={() => actions.cancelJob(job.id)}>
                  Cancel job
                </button>
              )}
            </li>
          );
        })}
      </ul>
      {earlier && (
        <>
          <h3>Earlier jobs</h3>
          {earlier.length === 0 && <p className="empty">None in the store.</p>}
          <ul className="jobs" aria-label="Earlier jobs">
            {earlier.map((job) => (
              <li key={job.id} className="job" data-job-id={job.id}>
                <div className="job-title">
                  <strong>{job.name}</strong>
                  <span className={`job-state job-${job.state}`}>{job.state}</span>
                </div>
                <div className="job-meta">
                  <span className="mono">{job.id}</span> · {formatClock(job.createdAt)} ·{' '}
                  {Object.entries(job.counts)
                    .filter(([, n]) => (n ?? 0) > 0)
                    .map(([state, n]) => `${formatCount(n ?? 0)} ${state}`)
                    .join(', ') || 'no tasks'}
                </div>
              </li>
            ))}
          </ul>
        </>
      )}
    </section>
  );
}
