/** The rows of the store's `jobs` and `tasks` tables, and the records they hold. */
import type { JobRecord, TaskRecord } from '../../contract/records.js';
import type { FailurePolicy, JobState, TaskState } from '../../contract/task-states.js';
import { taskKey } from './ids.js';

export interface TaskRow {
  job_id: string;
  id: string;
  seq: number;
  kind: string;
  input: string;
  priority: number;
  timeout_ms: number | null;
  retries: number;
  retry_backoff_ms: number;
  depends_on: string;
  state: TaskState;
  attempts: number;
  queued_at: number;
  started_at: number | null;
  finished_at: number | null;
  worker: string | null;
  progress: number | null;
  error: string | null;
  result: string | null;
  run_on: 'local' | null;
}

export interface JobRow {
  id: string;
  name: string;
  state: JobState;
  concurrency: number | null;
  on_failure: FailurePolicy;
  base_dir: string;
  created_at: number;
  finished_at: number | null;
  task_count: number;
}

/** A task as the store holds it: its record and its place in its job. */
export interface StoredTask extends TaskRecord {
  seq: number;
}

/** The record of a stored task, without what only the store keeps. */
export function taskRecordOf(stored: StoredTask): TaskRecord {
  const { seq: _seq, ...record } = stored;
  return record;
}

export function jobFromRow(row: JobRow): JobRecord {
  return {
    id: row.id,
    name: row.name,
    state: row.state,
    concurrency: row.concurrency,
    onFailure: row.on_failure,
    baseDir: row.base_dir,
    createdAt: row.created_at,
    finishedAt: row.finished_at,
    taskCount: row.task_count,
  };
}

export function taskFromRow(row: TaskRow): StoredTask {
  return {
    key: taskKey(row.job_id, row.id),
    jobId: row.job_id,
    id: row.id,
    seq: row.seq,
    kind: row.kind,
    input: JSON.parse(row.input) as Record<string, unknown>,
    priority: row.priority,
    timeoutMs: row.timeout_ms,
    retries: row.retries,
    retryBackoffMs: row.retry_backoff_ms,
    dependsOn: JSON.parse(row.depends_on) as string[],
    ...(row.run_on === 'local' ? { runOn: 'local' as const } : {}),
    state: row.state,
    attempts: row.attempts,
    queuedAt: row.queued_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
    worker: row.worker,
    progress: row.progress,
    progressMessage: null,
    error: row.error === null ? null : JSON.parse(row.error),
    result: row.result === null ? null : JSON.parse(row.result),
  };
}
