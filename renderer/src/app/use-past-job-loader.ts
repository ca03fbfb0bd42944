import { useEffect, useState } from 'react';
import type { ThreadlineApi } from '../../../contract/api';
import type { DashboardStore } from '../store/dashboard-store';
import { describeError } from './notices';

/**
 * Fetches a job the host does not stream (an earlier run, or one from before a restart) into
 * the store, so that the table, the timeline and the drawer show it like a live one. Returns
 * why it could not, if it could not.
 */
export function usePastJobLoader(api: ThreadlineApi, store: DashboardStore, jobId: string | null): string | null {
  const [problem, setProblem] = useState<{ jobId: string; text: string } | null>(null);
  useEffect(() => {
    if (jobId === null) return;
    let current = true;
    // Wait for the first snapshot: the job may be one the host holds.
    const load = () => {
      if (store.jobs.has(jobId) || store.stream !== 'live') return false;
      api.jobDetail({ jobId }).then(
        (detail) => current && store.loadJob(detail),
        (error: unknown) => current && setProblem({ jobId, text: describeError(error) }),
      );
      return true;
    };
    if (store.stream === 'live') {
      load();
      return () => {
        current = false;
      };
    }
    const unsubscribe = store.subscribe(() => {
      if (store.stream === 'live') {
        unsubscribe();
        load();
      }
    });
    return () => {
      current = false;
      unsubscribe();
    };
  }, [api, store, jobId]);
  return problem?.jobId === jobId ? problem.text : null;
}
