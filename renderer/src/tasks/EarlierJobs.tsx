import { useEffect, useId, useState } from 'react';
import type { JobListEntry } from '../../../contract/api';
import { useDashboard, useStoreVersion } from '../app/dashboard-context';
import { jobHref } from '../app/job-route';
import { useNotices } from '../app/notices';
import { formatClock, formatCount } from '../format';
import { JobActions } from './JobActions';

/** Jobs of the store's history listed at once. */
const EARLIER_JOBS = 50;
/** Typing pauses this long before the history is searched. */
const SEARCH_DELAY_MS = 200;

/** The store's history, newest first, searchable by name or id; a job opens in the table (and its URL). */
export function EarlierJobs({ onOpenJob }: { onOpenJob: (jobId: string) => void }) {
  const { api, store } = useDashboard();
  useStoreVersion(store);
  const { failed } = useNotices();
  const searchId = useId();
  const [search, setSearch] = useState('');
  const [jobs, setJobs] = useState<JobListEntry[] | null>(null);

  useEffect(() => {
    let current = true;
    const timer = setTimeout(() => {
      api.listJobs({ history: true, limit: EARLIER_JOBS, ...(search.trim() ? { search: search.trim() } : {}) }).then(
        (result) => current && setJobs(result.jobs),
        (error: unknown) => current && failed('Earlier jobs', error),
      );
    }, search === '' ? 0 : SEARCH_DELAY_MS);
    return () => {
      current = false;
      clearTimeout(timer);
    };
  }, [api, search, failed]);
  // A job shown above (live, or opened) is not listed twice.
  const shown = jobs?.filter((job) => !store.jobs.has(job.id)) ?? null;

  return (
    <section className="earlier-jobs" aria-labelledby={`${searchId}-title`}>
      <h3 id={`${searchId}-title`}>Earlier jobs</h3>
      <label className="job-search" htmlFor={searchId}>
        Find a job
        <input id={searchId} type="search" placeholder="name or id" value={search} onChange={(e) => setSearch(e.target.value)} />
      </label>
      {shown === null && <p className="muted">Loading…</p>}
      {shown?.length === 0 && <p className="empty">{search ? 'No other job matches.' : 'None in the store besides those above.'}</p>}
      {shown && shown.length > 0 && (
        <ul className="jobs" aria-label="Earlier jobs">
          {shown.map((job) => (
            <li key={job.id} className="job" data-job-id={job.id}>
              <div className="job-title">
                <a
                  href={jobHref(job.id)}
                  className="job-link"
                  onClick={(e) => {
                    e.preventDefault();
                    onOpenJob(job.id);
                  }}
                >
                  {job.name}
                </a>
                <span className={`job-state job-${job.state}`}>{job.state}</span>
              </div>
              <div className="job-meta">
                <span className="mono">{job.id}</span> · {formatClock(job.createdAt)} ·{' '}
                {Object.entries(job.counts)
                  .filter(([, n]) => (n ?? 0) > 0)
                  .map(([state, n]) => `${formatCount(n ?? 0)} ${state}`)
                  .join(', ') || 'no tasks'}
              </div>
              <JobActions job={job} />
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
