/**
 * The records the engine keeps and shows: their zod schemas are the one source, and the types
 * are derived from them (a host may check what it receives with the same schemas).
 */
import { z } from 'zod';
import { FAILURE_POLICIES, JOB_STATES, TASK_STATES } from './task-states.js';

const taskStateSchema = z.enum(TASK_STATES);

/** An error as it crosses a thread or process boundary. */
export const taskErrorSchema = z.object({
  message: z.string(),
  /** A stable machine-readable code, e.g. `TIMED_OUT`, `SQLITE_ERROR`, `ENOENT` (see contract/task-error-codes.ts). */
  code: z.string(),
  stack: z.string().optional(),
});
export type TaskError = z.infer<typeof taskErrorSchema>;

/** One run of a task on an executor. A task has one attempt per try. */
export const taskAttemptSchema = z.object({
  attempt: z.number(),
  startedAt: z.number(),
  finishedAt: z.number().nullable(),
  /**
   * `loop` for the event loop, `w<threadId>` for a pool thread (telemetry's `threadId`),
   * `<machine>/<thread>` for a remote worker's thread; the machine alone (`build-07`) when it
   * refused or stopped the task before any of its threads took it.
   */
  worker: z.string().nullable(),
  state: taskStateSchema,
});
export type TaskAttempt = z.infer<typeof taskAttemptSchema>;

/** What the engine knows of a task; the shape the store persists and the UI shows. */
export const taskRecordSchema = z.object({
  /** Globally unique: `<jobId>:<task id>`. */
  key: z.string(),
  jobId: z.string(),
  id: z.string(),
  kind: z.string(),
  input: z.record(z.string(), z.unknown()),
  priority: z.number(),
  timeoutMs: z.number().nullable(),
  retries: z.number(),
  retryBackoffMs: z.number(),
  dependsOn: z.array(z.string()),
  /** Set when the job file pins the task to the orchestrator's own pool (`runOn: local`). */
  runOn: z.literal('local').optional(),
  state: taskStateSchema,
  attempts: z.number(),
  queuedAt: z.number(),
  startedAt: z.number().nullable(),
  finishedAt: z.number().nullable(),
  /** Where the latest attempt ran, named as its attempt names it (`loop`, `w3`, `build-07/3`, or `build-07` alone). */
  worker: z.string().nullable(),
  /** 0..1, or null when the kind reports none. */
  progress: z.number().nullable(),
  progressMessage: z.string().nullable(),
  error: taskErrorSchema.nullable(),
  result: z.unknown(),
});
export type TaskRecord = z.infer<typeof taskRecordSchema>;

export const jobRecordSchema = z.object({
  id: z.string(),
  name: z.string(),
  state: z.enum(JOB_STATES),
  /** Most tasks of this job on the executors at once; null for no cap of its own. */
  concurrency: z.number().nullable(),
  onFailure: z.enum(FAILURE_POLICIES),
  /** The folder relative paths of the job file were resolved against. */
  baseDir: z.string(),
  createdAt: z.number(),
  finishedAt: z.number().nullable(),
  taskCount: z.number(),
});
export type JobRecord = z.infer<typeof jobRecordSchema>;

export const taskLogLineSchema = z.object({
  taskKey: z.string(),
  at: z.number(),
  level: z.enum(['info', 'warn', 'error']),
  message: z.string(),
});
export type TaskLogLine = z.infer<typeof taskLogLineSchema>;
