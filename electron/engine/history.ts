import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { JobRecord } from '../../contract/records.js';
import type { TaskState } from '../../contract/task-states.js';
import { JobStore, STORE_FILE, storeWriteError, type JobFilter } from './job-store.js';
import type { StoredTask } from './store-rows.js';
import { whileUnowned } from './store-lock.js';

export interface JobSummary extends JobRecord {
  counts: Partial<Record<TaskState, number>>;
}

/**
 * Reads the job history of a data directory without running anything. If no engine owns it
 * (the store's lock is free: its last owner died or stopped), what was left running is first
 * marked interrupted, so that a dead process's task is never shown as running. The lock is held
 * for that one transaction only, so a starting engine waits no longer.
 */
export function withHistory<T>(dataDir: string, read: (store: JobStore) => T): T | null {
  if (!existsSync(join(dataDir, STORE_FILE))) return null;
  let store: JobStore | null = null;
  whileUnowned(dataDir, () => {
    store = new JobStore(dataDir);
    try {
      store.markInterrupted();
    } catch (error) {
      store.close();
      // Showing a dead process's task as running would be wrong; a full disk is said in one line.
      throw storeWriteError(error, dataDir);
    }
  });
  store ??= new JobStore(dataDir);
  try {
    return read(store);
  } finally {
    store.close();
  }
}

export function listJobSummaries(dataDir: string, filter: JobFilter | number = 50): JobSummary[] {
  const wanted = typeof filter === 'number' ? { limit: filter } : filter;
  return withHistory(dataDir, (store) => store.findJobs(wanted).map((job) => ({ ...job, counts: store.stateCounts(job.id) }))) ?? [];
}

export function jobWithTasks(dataDir: string, jobId: string): { job: JobRecord; tasks: StoredTask[] } | null {
  return (
    withHistory(dataDir, (store) => {
      const job = store.getJob(jobId);
      return job ? { job, tasks: store.tasksOfJob(jobId) } : null;
    }) ?? null
  );
}
