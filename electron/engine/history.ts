import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { JobRecord } from '../../contract/records.js';
import type { TaskState } from '../../contract/task-states.js';
import { JobStore, ownerAlive, STORE_FILE, type JobFilter, type StoredTask } from './job-store.js';

export interface JobSummary extends JobRecord {
  counts: Partial<Record<TaskState, number>>;
}

/**
 * Reads the job history of a data directory without running anything. If the engine that
 * owned it died, what it left running is first marked interrupted, so that a dead process's
 * task is never shown as running.
 */
export function withHistory<T>(dataDir: string, read: (store: JobStore) => T): T | null {
  if (!existsSync(join(dataDir, STORE_FILE))) return null;
  const store = new JobStore(dataDir);
  try {
    const owner = store.owner();
    if (!owner || !ownerAlive(owner)) store.markInterrupted();
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
