import { useMemo } from 'react';
import { useDashboard } from '../app/dashboard-context';
import { useNotices } from '../app/notices';
import { closeDirectionControls } from '../format';

/** Calls in flight at once when cancelling a selection (the contract cancels one task per call). */
const CANCEL_CONCURRENCY = 8;

export interface TaskActions {
  cancel(key: string): void;
  retry(key: string): void;
  cancelJob(jobId: string): void;
  cancelAll(): void;
  cancelMany(keys: readonly string[]): Promise<{ cancelled: number; failed: number }>;
  /** Runs a job again as a new job: every task, or only those that did not succeed. */
  rerunJob(jobId: string, failedOnly: boolean): void;
}

/** The user's cancel, retry and re-run buttons, with what went wrong reported as a notice. */
export function useTaskActions(): TaskActions {
  const { api } = useDashboard();
  const { notify, failed, watchJob } = useNotices();
  return useMemo<TaskActions>(
    () => ({
      cancel(key) {
        api.cancelTask({ key }).then(
          (r) => r.cancelled || notify(`${closeDirectionControls(key)} had already ended`),
          (error: unknown) => failed(`Cancel ${closeDirectionControls(key)}`, error),
        );
      },
      retry(key) {
        api.retryTask({ key }).then(
          (r) => r.retried || notify(`${closeDirectionControls(key)} cannot run again (it succeeded or has not ended)`),
          (error: unknown) => failed(`Retry ${closeDirectionControls(key)}`, error),
        );
      },
      cancelJob(jobId) {
        api.cancelJob({ jobId }).then(
          (r) => notify(`Asked ${r.cancelled} task${r.cancelled === 1 ? '' : 's'} of ${jobId} to stop`),
          (error: unknown) => failed(`Cancel job ${jobId}`, error),
        );
      },
      cancelAll() {
        api.cancelAll().then(
          (r) => notify(`Asked ${r.cancelled} task${r.cancelled === 1 ? '' : 's'} to stop`),
          (error: unknown) => failed('Cancel all', error),
        );
      },
      rerunJob(jobId, failedOnly) {
        const what = failedOnly ? `Re-run of the failed tasks of ${jobId}` : `Re-run of ${jobId}`;
        api.rerunJob({ jobId, failedOnly }).then(
          (r) => (r.ok ? watchJob(r.job, what) : notify(r.reason)),
          (error: unknown) => failed(what, error),
        );
      },
      async cancelMany(keys) {
        let next = 0;
        let cancelled = 0;
        let failedCount = 0;
        const worker = async (): Promise<void> => {
          while (next < keys.length) {
            const key = keys[next++]!;
            try {
              if ((await api.cancelTask({ key })).cancelled) cancelled++;
            } catch {
              failedCount++;
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(CANCEL_CONCURRENCY, keys.length) }, worker));
        return { cancelled, failed: failedCount };
      },
    }),
    [api, notify, failed, watchJob],
  );
}
