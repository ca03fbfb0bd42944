/**
 * The one API between the renderer and a host (the desktop app over IPC, `threadline serve`
 * over WebSocket). Transport-agnostic: methods are request/response with one params object
 * each; events are a stream of a snapshot followed by batched deltas with sequence numbers.
 *
 * Every params object has a zod schema; the receiving side (the host) validates with it.
 * Server messages have schemas too, for a client that wants to check what it receives.
 */
import { z } from 'zod';
import type { SpecIssue } from './job-spec.js';
import {
  jobRecordSchema,
  taskAttemptSchema,
  taskLogLineSchema,
  taskRecordSchema,
  type JobRecord,
  type TaskAttempt,
  type TaskLogLine,
  type TaskRecord,
} from './records.js';
import type { ScheduleRecord, ScheduleRun } from './schedule.js';
import { TASK_STATES, type TaskState } from './task-states.js';
import type { RemoteMachine, TelemetrySample } from './telemetry.js';

// ---- shared records ---------------------------------------------------------------------

/**
 * Everything a host holds live, to start a view from. Its tasks (and those of deltas) carry
 * `result: null`: results can be large, so a view fetches one with `taskDetail`.
 */
export interface ApiSnapshot {
  at: number;
  jobs: JobRecord[];
  tasks: TaskRecord[];
  /** Attempts by task key (tasks without attempts are left out). */
  attempts: Record<string, TaskAttempt[]>;
  telemetry: TelemetrySample[];
  counts: Record<TaskState, number>;
  /** What people should see until it clears (absent from hosts that have none to say). */
  notices?: HostNotice[];
}

/**
 * A condition of the host that lasts, shown until it clears: a job store that cannot be written
 * (`DISK_FULL`: no task starts until space comes back; what ran meanwhile is written then), or the
 * remote workers' Redis that could not be reached when the host started or cannot be reached now (`REDIS_UNREACHABLE`), or
 * remote workers announcing themselves under names the orchestrator refuses, whose threads are
 * therefore not used (`REMOTE_WORKER_REFUSED`, until they stop announcing), or announcing themselves
 * under good names but turned away, the roster being full or their thread count over the bound
 * (`REMOTE_WORKER_TURNED_AWAY`, likewise), or saying they cannot keep a connection to Redis, whose
 * tasks' ends cannot get through (`REMOTE_WORKER_CUT_OFF`, until their connections hold).
 */
export interface HostNotice {
  code: 'DISK_FULL' | 'STORE_WRITE_FAILED' | 'REDIS_UNREACHABLE' | 'REMOTE_WORKER_REFUSED' | 'REMOTE_WORKER_TURNED_AWAY' | 'REMOTE_WORKER_CUT_OFF';
  /** One line. */
  message: string;
  since: number;
}

/** A job of the history with how many of its tasks ended in each state. */
export interface JobListEntry extends JobRecord {
  counts: Partial<Record<TaskState, number>>;
}

/** One job, live or past, with all its tasks (`result: null`, as in a snapshot) and their attempts. */
export interface JobDetail {
  job: JobListEntry;
  tasks: TaskRecord[];
  /** Attempts by task key (tasks without attempts are left out). */
  attempts: Record<string, TaskAttempt[]>;
}

/** What a view may want to know of its host. */
export interface HostInfo {
  /** Where relative paths of a submitted job file resolve when the caller names no `baseDir`. */
  defaultBaseDir: string;
}

export interface TaskDetail {
  task: TaskRecord;
  attempts: TaskAttempt[];
  /** The newest log lines (at most 200 per task, a note first when earlier ones were dropped), for past jobs too. */
  logs: TaskLogLine[];
}

// ---- methods: params schemas ------------------------------------------------------------

const taskKeySchema = z
  .string()
  .min(3)
  .max(500)
  .regex(/^[^:\s]+:[^:\s]+$/, 'expected a task key "<jobId>:<taskId>"');
const jobIdSchema = z.string().min(1).max(200).regex(/^[^:\s]+$/, 'expected a job id');

const MAX_JOB_TEXT_CHARS = 64 * 1024 * 1024;

const jobTextParams = z.strictObject({
  text: z.string().max(MAX_JOB_TEXT_CHARS, `expected a job file of at most ${MAX_JOB_TEXT_CHARS} characters`),
  /** Decides JSON or YAML by extension, and names the file in messages. */
  fileName: z.string().min(1).max(1000),
  /** Absolute folder that relative paths of the job resolve against; default: the host's folder. */
  baseDir: z.string().min(1).max(4096).optional(),
});
/** A schedule is named after its job. */
const scheduleNameParams = z.strictObject({ name: z.string().min(1).max(200) });

export const apiParamsSchemas = {
  snapshot: z.strictObject({}),
  /** The text of a JSON or YAML job file, validated with the same rules as `threadline run`. */
  submitJob: jobTextParams,
  cancelTask: z.strictObject({ key: taskKeySchema }),
  cancelJob: z.strictObject({ jobId: jobIdSchema }),
  cancelAll: z.strictObject({}),
  retryTask: z.strictObject({ key: taskKeySchema }),
  taskDetail: z.strictObject({ key: taskKeySchema }),
  /**
   * Starts the demo workload. `inline: false` runs it as a job on the pool; `inline: true` runs
   * the same synchronous CPU work on the host's main thread, one task's worth at a time with a
   * turn of the loop between them, so the loop-delay chart shows the stalls; it answers when done.
   */
  runDemo: z.strictObject({ inline: z.boolean() }),
  /**
   * `history: false`: the jobs this host runs now; `true`: the newest jobs of the store too.
   * `search`: only jobs whose name or id contains it (any case).
   */
  listJobs: z.strictObject({
    history: z.boolean(),
    limit: z.number().int().min(1).max(10_000).optional(),
    search: z.string().max(200).optional(),
  }),
  /** A job of this host or of the store's history, with its tasks. */
  jobDetail: z.strictObject({ jobId: jobIdSchema }),
  /**
   * Submits a job again as a new job, from what the store kept of it. `failedOnly`: only the
   * tasks that did not succeed and those depending on them; dependencies on tasks that
   * succeeded are dropped (already met). The new job resolves paths against the same folder.
   */
  rerunJob: z.strictObject({ jobId: jobIdSchema, failedOnly: z.boolean() }),
  hostInfo: z.strictObject({}),
  /** Every schedule of the store, with its next and last run. */
  listSchedules: z.strictObject({}),
  /** A job file with a `schedule` field: added, or replacing the schedule of the job's name. */
  addSchedule: jobTextParams,
  removeSchedule: scheduleNameParams,
  pauseSchedule: scheduleNameParams,
  resumeSchedule: scheduleNameParams,
  /** Starts a run of the schedule now (skipped, and said so, if its last run still runs and overlap is "skip"). */
  runSchedule: scheduleNameParams,
  /** Runs the unfinished tasks of the store's interrupted jobs (`threadline resume` against a running host). */
  /** Interrupted jobs to resume; every one when left out. */
  resumeJobs: z.strictObject({ jobIds: z.array(z.string().min(1)).min(1).optional() }),
} as const;

export type ApiMethod = keyof typeof apiParamsSchemas;
export const API_METHODS = Object.keys(apiParamsSchemas) as ApiMethod[];

export function isApiMethod(name: unknown): name is ApiMethod {
  return typeof name === 'string' && Object.hasOwn(apiParamsSchemas, name);
}

/** What a caller passes (defaults not yet applied). */
export type ApiParams<M extends ApiMethod> = z.input<(typeof apiParamsSchemas)[M]>;

/** A method's arguments: its params object, optional when every field of it is. */
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export type ApiArgs<M extends ApiMethod> = {} extends ApiParams<M> ? [params?: ApiParams<M>] : [params: ApiParams<M>];

// ---- methods: results --------------------------------------------------------------------

export type SubmitJobResult = { ok: true; job: JobRecord } | { ok: false; issues: SpecIssue[] };

export type RerunJobResult =
  | { ok: true; job: JobRecord }
  /** Nothing was submitted: every task succeeded, or (failedOnly) the job has not ended yet. */
  | { ok: false; code: 'NOTHING_TO_RERUN' | 'JOB_RUNNING'; reason: string };

export type RunDemoResult =
  | { mode: 'pool'; job: JobRecord }
  /**
   * Measured on the main thread: it was blocked `slices` times (one task's CPU work each, a turn
   * of the loop between them), `blockedMs` in all, the longest stall `longestStallMs`.
   */
  | { mode: 'inline'; slices: number; blockedMs: number; longestStallMs: number };

export type AddScheduleResult = { ok: true; replaced: boolean; schedule: ScheduleRecord } | { ok: false; issues: SpecIssue[] };

export interface ApiResults {
  snapshot: ApiSnapshot;
  submitJob: SubmitJobResult;
  /** False when the task had already ended. */
  cancelTask: { cancelled: boolean };
  /** How many tasks were asked to stop. */
  cancelJob: { cancelled: number };
  cancelAll: { cancelled: number };
  /** False when the task cannot run again (it succeeded, or has not ended). */
  retryTask: { retried: boolean };
  taskDetail: TaskDetail;
  runDemo: RunDemoResult;
  listJobs: { jobs: JobListEntry[] };
  jobDetail: JobDetail;
  rerunJob: RerunJobResult;
  hostInfo: HostInfo;
  listSchedules: { schedules: ScheduleRecord[] };
  addSchedule: AddScheduleResult;
  removeSchedule: { removed: string };
  pauseSchedule: { schedule: ScheduleRecord };
  resumeSchedule: { schedule: ScheduleRecord };
  runSchedule: { run: ScheduleRun };
  /** The jobs resumed (none when nothing was interrupted). */
  resumeJobs: { jobs: JobRecord[] };
}

// ---- errors ------------------------------------------------------------------------------

/** Why a call failed. `BAD_REQUEST` carries the payload's issues. */
export type ApiErrorCode = 'BAD_REQUEST' | 'UNKNOWN_METHOD' | 'NOT_FOUND' | 'ENGINE_CLOSED' | 'INTERNAL';

export interface ApiErrorBody {
  code: ApiErrorCode;
  message: string;
  issues?: SpecIssue[];
}

/** What a transport rejects a call with, on the calling side. */
export class ApiCallError extends Error {
  override name = 'ApiCallError';
  readonly code: ApiErrorCode;
  readonly issues: SpecIssue[];

  constructor(body: ApiErrorBody) {
    super(body.message);
    this.code = body.code;
    this.issues = body.issues ?? [];
  }
}

// ---- events ------------------------------------------------------------------------------

/** The first message of a subscription, and the answer to `resync()`. */
export interface SnapshotMessage extends ApiSnapshot {
  type: 'snapshot';
  /** The next delta carries `seq + 1`. */
  seq: number;
}

/**
 * What changed since the previous message (at most one per 50 ms per subscriber). Tasks and
 * jobs are their latest records; `attempts` holds the full attempt list of each task whose
 * attempts changed; `logs` and `telemetry` are new entries only.
 */
export interface DeltaMessage {
  type: 'delta';
  /** Exactly one more than the previous message's; a gap means messages were lost: resync. */
  seq: number;
  at: number;
  tasks: TaskRecord[];
  jobs: JobRecord[];
  attempts: Record<string, TaskAttempt[]>;
  logs: TaskLogLine[];
  telemetry: TelemetrySample[];
  counts: Record<TaskState, number>;
  /** Every current notice, present when they changed since the previous message. */
  notices?: HostNotice[];
}

export type ApiEvent = SnapshotMessage | DeltaMessage;
export type ApiEventListener = (event: ApiEvent) => void;

/**
 * What the renderer calls. A transport implements it; the renderer does not know which.
 * `subscribe` starts the event stream (a snapshot first); `resync` asks for a new snapshot,
 * e.g. after a gap in `seq`.
 */
export type ThreadlineApi = {
  [M in ApiMethod]: (...params: ApiArgs<M>) => Promise<ApiResults[M]>;
} & {
  subscribe(listener: ApiEventListener): () => void;
  resync(): Promise<void>;
};

// ---- the wire (WebSocket, or any message channel) ----------------------------------------

/**
 * `threadline serve` takes the WebSocket at this path, with the token of the page's URL as a
 * query parameter: `ws://127.0.0.1:PORT/api?token=TOKEN`. One JSON message per frame.
 */
export const API_WEBSOCKET_PATH = '/api';
export const TOKEN_QUERY_PARAM = 'token';

export const clientMessageSchema = z.discriminatedUnion('type', [
  /** A method call; answered by a `result` with the same `id`. */
  z.strictObject({ type: z.literal('call'), id: z.number().int().nonnegative(), method: z.string().max(100), params: z.unknown() }),
  /** Start the event stream: a snapshot, then deltas. */
  z.strictObject({ type: z.literal('subscribe') }),
  z.strictObject({ type: z.literal('unsubscribe') }),
  /** Send a fresh snapshot; the deltas continue from its `seq`. */
  z.strictObject({ type: z.literal('resync') }),
]);
export type ClientMessage = z.infer<typeof clientMessageSchema>;

export type ResultMessage =
  | { type: 'result'; id: number; ok: true; value: unknown }
  | { type: 'result'; id: number; ok: false; error: ApiErrorBody };

export type ServerMessage = ApiEvent | ResultMessage;

// ---- schemas of what the host sends (optional checks on the receiving side) -------------

const taskStateSchema = z.enum(TASK_STATES);
const telemetrySampleSchema = z.object({
  at: z.number(),
  memory: z.object({ rss: z.number(), heapUsed: z.number(), heapTotal: z.number(), external: z.number(), arrayBuffers: z.number() }),
  loop: z.object({ delayP50Ms: z.number(), delayP99Ms: z.number(), delayMaxMs: z.number(), utilization: z.number() }),
  workers: z.array(z.object({ threadId: z.number(), heapUsed: z.number().nullable(), utilization: z.number() })),
  poolUtilization: z.number(),
  queued: z.number(),
  running: z.number(),
  completionsPerSecond: z.number(),
  machines: z.array(
    z.object({
      name: z.string(),
      host: z.string(),
      threads: z.number(),
      running: z.number(),
      state: z.enum(['ready', 'draining', 'lost']),
      lastHeardAt: z.number(),
      rssBytes: z.number(),
      loopDelayP99Ms: z.number(),
    }) satisfies z.ZodType<RemoteMachine>,
  ),
}) satisfies z.ZodType<TelemetrySample>;

const countsSchema = z.record(taskStateSchema, z.number());
const noticesSchema = z.array(
  z.object({ code: z.enum(['DISK_FULL', 'STORE_WRITE_FAILED', 'REDIS_UNREACHABLE', 'REMOTE_WORKER_REFUSED', 'REMOTE_WORKER_TURNED_AWAY', 'REMOTE_WORKER_CUT_OFF']), message: z.string(), since: z.number() }) satisfies z.ZodType<HostNotice>,
);
const attemptsByTaskSchema = z.record(z.string(), z.array(taskAttemptSchema));

export const apiEventSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('snapshot'),
    seq: z.number().int().nonnegative(),
    at: z.number(),
    jobs: z.array(jobRecordSchema),
    tasks: z.array(taskRecordSchema),
    attempts: attemptsByTaskSchema,
    telemetry: z.array(telemetrySampleSchema),
    counts: countsSchema,
    notices: noticesSchema.optional(),
  }),
  z.object({
    type: z.literal('delta'),
    seq: z.number().int().nonnegative(),
    at: z.number(),
    tasks: z.array(taskRecordSchema),
    jobs: z.array(jobRecordSchema),
    attempts: attemptsByTaskSchema,
    logs: z.array(taskLogLineSchema),
    telemetry: z.array(telemetrySampleSchema),
    counts: countsSchema,
    notices: noticesSchema.optional(),
  }),
]) satisfies z.ZodType<ApiEvent>;

const specIssueSchema = z.object({ path: z.string(), message: z.string() });
export const apiErrorBodySchema = z.object({
  code: z.enum(['BAD_REQUEST', 'UNKNOWN_METHOD', 'NOT_FOUND', 'ENGINE_CLOSED', 'INTERNAL']),
  message: z.string(),
  issues: z.array(specIssueSchema).optional(),
}) satisfies z.ZodType<ApiErrorBody>;

export const resultMessageSchema = z.discriminatedUnion('ok', [
  z.object({ type: z.literal('result'), id: z.number(), ok: z.literal(true), value: z.unknown() }),
  z.object({ type: z.literal('result'), id: z.number(), ok: z.literal(false), error: apiErrorBodySchema }),
]);

export const serverMessageSchema = z.union([apiEventSchema, resultMessageSchema]);
