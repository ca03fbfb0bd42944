import type { FailurePolicy, JobState, TaskState } from './task-states.js';

/** An error as it crosses a thread or process boundary. */
export interface TaskError {
  message: string;
  /** A stable machine-readable code, e.g. `TIMED_OUT`, `SQLITE_ERROR`, `ENOENT`. */
  code: string;
  stack?: string;
}

/** One run of a task on an executor. A task has one attempt per try. */
export interface TaskAttempt {
  attempt: number;
  startedAt: number;
  finishedAt: number | null;
  /** `loop` for the event loop, else `w<threadId>` for a pool thread (telemetry's `threadId`). */
  worker: string | null;
  state: TaskState;
}

/** What the engine knows of a task; the shape the store persists and the UI shows. */
export interface TaskRecord {
  /** Globally unique: `<jobId>:<task id>`. */
  key: string;
  jobId: string;
  id: string;
  kind: string;
  input: Record<string, unknown>;
  priority: number;
  timeoutMs: number | null;
  retries: number;
  retryBackoffMs: number;
  dependsOn: string[];
  state: TaskState;
  attempts: number;
  queuedAt: number;
  startedAt: number | null;
  finishedAt: number | null;
  /** Where the latest attempt ran: `loop`, or `w<threadId>` for a pool thread. */
  worker: string | null;
  /** 0..1, or null when the kind reports none. */
  progress: number | null;
  progressMessage: string | null;
  error: TaskError | null;
  result: unknown;
}

export interface JobRecord {
  id: string;
  name: string;
  state: JobState;
  /** Most tasks of this job on the executors at once; null for no cap of its own. */
  concurrency: number | null;
  onFailure: FailurePolicy;
  /** The folder relative paths of the job file were resolved against. */
  baseDir: string;
  createdAt: number;
  finishedAt: number | null;
  taskCount: number;
}

export interface TaskLogLine {
  taskKey: string;
  at: number;
  level: 'info' | 'warn' | 'error';
  message: string;
}
