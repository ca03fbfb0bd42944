import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { taskError } from '../../contract/task-error-codes.js';
import { ThreadlineError } from './errors.js';
import { JobStore, STORE_FILE } from './job-store.js';
import { StoreLock } from './store-lock.js';
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
    if (!job) throw new ThreadlineError('NOT_FOUND', `no job ${JSON.stringify(jobId)}`);
    if (job.state !== 'interrupted') return 0;
    assertJobTransition(jobId, job.state, 'cancelled');
    for (const from of UNFINISHED) assertTaskTransition(`${jobId}:*`, from, 'cancelled');
    const now = Date.now();
    const error = JSON.stringify(taskError('CANCELLED', 'cancelled while interrupted'));
    const { changes } = store.db
      .prepare(`UPDATE tasks SET state = 'cancelled', finished_at = ?, error = ? WHERE job_id = ? AND state IN (${UNFINISHED.map(() => '?').join(', ')})`)
      .run(now, error, jobId, ...UNFINISHED);
    store.db.prepare(`UPDATE jobs SET state = 'cancelled', finished_at = ? WHERE id = ?`).run(now, jobId);
    return changes;
  }).immediate();
}

/**
 * `threadline cancel <jobId>` with no host running: an interrupted job is cancelled in the
 * store, and the count of its tasks cancelled returned. Null when the store holds no interrupted
 * job of that id. A data directory a live engine owns is refused: only that engine may change it.
 */
export function cancelInterruptedInStore(dataDir: string, jobId: string): number | null {
  if (!existsSync(join(dataDir, STORE_FILE))) return null;
  let lock: StoreLock;
  try {
    lock = StoreLock.take(dataDir);
  } catch (error) {
    if (error instanceof ThreadlineError && error.code === 'DATA_DIR_IN_USE') {
      throw new ThreadlineError('DATA_DIR_IN_USE', `${error.message.replace(/; stop it or pass another --data-dir$/, '')} with no dashboard to reach; cancel job ${jobId} there or stop it first`);
    }
    throw error;
  }
  try {
    const store = new JobStore(dataDir);
    try {
      // What a dead owner left running is interrupted first, as every opener of the store does.
      store.markInterrupted();
      if (store.getJob(jobId)?.state !== 'interrupted') return null;
      return cancelStoredJob(store, jobId);
    } finally {
      store.close();
    }
  } finally {
    lock.release();
  }
}
