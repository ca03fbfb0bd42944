import { useState } from 'react';
import { useDashboard, useStoreVersion } from '../app/dashboard-context';
import { formatClock, formatCount } from '../format';
import { STATE_COLORS } from '../state-colors';
import type { TaskState } from '../../../contract/task-states';
import { EarlierJobs } from './EarlierJobs';
import { JobActions } from './JobActions';
import { useTaskActions } from './use-task-actions';

export interface JobsListProps {
  /** The job whose tasks the table shows, or null. */
  filterJobId: string | null;
  onShowJob: (jobId: string | null) => void;
}

const ENDED: TaskState[] = ['succeeded', 'failed', 'timed_out', 'cancelled', 'skipped'];

/**
 * The jobs shown (those this host runs, and earlier ones opened), newest first, each with its
 * progress and what can be done to it; the store's history on request.
 */
export function JobsList({ filterJobId, onShowJob }: JobsListProps) {
  const { store } = useDashboard();
  useStoreVersion(store);
  const actions = useTaskActions();
  const [earlier, setEarlier] = useState(false);
  const jobs = [...store.jobs.values()].sort((a, b) => b.createdAt - a.createdAt);
  const anyActive = store.counts.queued + store.counts.running + store.counts.cancelling > 0;

  return (
    <section className="panel jobs-panel" aria-label="Jobs">
      <header className="panel-header">
        <h2>Jobs</h2>
        <div className="toolbar">
          <button type="button" aria-pressed={earlier} onClick={() => setEarlier(!earlier)}>
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
                {store.isPastJob(job.id) && <span className="muted">earlier run</span>}
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
              <JobActions job={job} />
            </li>
          );
        })}
      </ul>
      {earlier && <EarlierJobs onOpenJob={(jobId) => onShowJob(jobId)} />}
    </section>
  );
}
