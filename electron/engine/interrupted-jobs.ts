import { ThreadlineError } from './errors.js';
import type { JobStore } from './job-store.js';
import { assertJobTransition, assertTaskTransition } from './transitions.js';

/** Task states an interrupted job's unfinished tasks are stored in. */
const UNFINISHED = ['queued', 'interrupted'] as const;

/**
 * Cancels, in the store, a job that no engine holds: its unfinished tasks end `cancelled` and so
 * does the job. Returns how many tasks it cancelled (0 when the job had already ended).
 */
export function cancelStoredJob(store: JobStore, jobId: string): number {
  return store.db.transaction(() => {
    const job = store.getJob(jobId);
    if (!job) throw new ThreadlineError('NOT_FOUND', `no job ${jobId}`);
    if (job.state !== 'interrupted') return 0;
    assertJobTransition(jobId, job.state, 'cancelled');
    for (const from of UNFINISHED) assertTaskTransition(`${jobId}:*`, from, 'cancelled');
    const now = Date.now();
    const error = JSON.stringify({ code: 'CANCELLED', message: 'cancelled while interrupted' });
    const { changes } = store.db
      .prepare(`UPDATE tasks SET state = 'cancelled', finished_at = ?, error = ? WHERE job_id = ? AND state IN (${UNFINISHED.map(() => '?').join(', ')})`)
      .run(now, error, jobId, ...UNFINISHED);
    store.db.prepare(`UPDATE jobs SET state = 'cancelled', finished_at = ? WHERE id = ?`).run(now, jobId);
    return changes;
  }).immediate();
}
