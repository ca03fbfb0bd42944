/**
 * What crosses Redis between the orchestrator and `threadline worker` processes. Everything is
 * JSON and is validated where it arrives: the Redis server is a trust boundary, so nothing read
 * from it is believed until it has the expected shape.
 *
 * - A task travels as one BullMQ job on the `threadline-tasks` queue (`RemoteTask`), or, when
 *   its kind has proven tiny, with up to `MAX_REMOTE_BATCH` others in one job (`RemoteBatch`), so
 *   that the queue's cost per job is paid once per batch. A batch's worker keeps each task's
 *   outcome in a hash as it ends (`batchResultsKey`): a batch that runs again after its worker was
 *   lost skips the tasks that already ended. Each batched task's attempt points at its batch
 *   (`batchPointerKey`), so that an orchestrator restarted meanwhile finds it.
 * - While it runs, the worker reports on the job's progress (`RemoteReport`): started, progress, logs.
 * - Its end is the job's return value (`RemoteOutcome`); a BullMQ failure only means the task
 *   could not be run at all (it stalled too often, or the worker could not read it).
 * - Stop requests go to every worker on a pub/sub channel (`RemoteStop`) and stay in a key, so
 *   that a worker that picks the task up later still sees them.
 * - Each worker announces itself on another channel once a second (`WorkerAnnouncement`).
 */
import { z } from 'zod';
import { machineNameProblem, machineNameRefusal, machineOfWorker, shownName } from '../../contract/machine-names.js';
import { MAX_NESTING_DEPTH, tooDeepAt } from '../../shared/nesting.js';

export const TASK_QUEUE = 'threadline-tasks';

/** The key prefix of everything Threadline keeps on Redis. */
export const KEY_PREFIX = 'threadline';

export const STOP_CHANNEL = `${KEY_PREFIX}:stop`;
export const ANNOUNCE_CHANNEL = `${KEY_PREFIX}:workers`;

/** The key that keeps a stop request for a task's job until the task has surely ended. */
export function stopKey(remoteJobId: string): string {
  return `${KEY_PREFIX}:stop:${remoteJobId}`;
}
export const STOP_KEY_TTL_MS = 24 * 3600_000;

/**
 * A worker that dies holding a task loses its lock `LOCK_DURATION_MS` after it last renewed it;
 * the other workers look for lost locks every `STALLED_INTERVAL_MS`. A lost task is thus queued
 * again within about LOCK_DURATION_MS + STALLED_INTERVAL_MS (3 s), inside the 5 s promised.
 * A lock is renewed every LOCK_DURATION_MS / 2 by the worker's main thread, which runs no task
 * code (tasks run on its pool's threads), so a busy task does not lose its lock.
 */
export const LOCK_DURATION_MS = 2000;
export const STALLED_INTERVAL_MS = 1000;
/**
 * How often a task may be found without a live worker and still run again: the second time, it
 * is taken for the cause (as the local pool's crash budget does) and ends `WORKER_CRASHED`.
 */
export const MAX_STALLED_COUNT = 1;

/** A worker not heard from for this long is `lost`; its threads no longer count as room. */
export const ANNOUNCE_INTERVAL_MS = 1000;
export const LOST_AFTER_MS = 3000;

/**
 * Drops the entries of a notice's list not heard for as long as a lost worker (they say nothing
 * more); true when any went.
 */
export function forgetSilent<K>(entries: Map<K, { lastHeardAt: number }>, now: number): boolean {
  let changed = false;
  for (const [key, entry] of entries) {
    if (now - entry.lastHeardAt <= LOST_AFTER_MS) continue;
    entries.delete(key);
    changed = true;
  }
  return changed;
}

/** The largest result (as JSON) a remote task may send back; a bigger one fails the task. */
export const MAX_RESULT_BYTES = 1024 * 1024;
/** Log lines and progress messages longer than this are cut, with a note saying so. */
export const MAX_TEXT_CHARS = 16 * 1024;

/** The key that keeps stop requests for tasks of a batch (field: task key, value: mode). */
export function batchStopKey(batchId: string): string {
  return `${KEY_PREFIX}:stop:${batchId}`;
}

/** The hash of outcomes of a batch's tasks that ended (field: task key, value: `RemoteOutcome` as JSON). */
export function batchResultsKey(batchId: string): string {
  return `${KEY_PREFIX}:results:${batchId}`;
}

/** The key naming the batch that carries one attempt of a task (by its `remoteJobId`). */
export function batchPointerKey(remoteId: string): string {
  return `${KEY_PREFIX}:in:${remoteId}`;
}

/** The key a worker holds its name by while it runs (`electron/worker/worker-name-lease.ts`). */
export function workerNameKey(name: string): string {
  return `${KEY_PREFIX}:worker:${name}`;
}

/** The key an orchestrator holds a job by while it sends the job's tasks to workers (`job-leases.ts`). */
export function jobLeaseKey(jobId: string): string {
  return `${KEY_PREFIX}:job:${jobId}`;
}

/** Batch results and pointers live as long as finished jobs are kept. */
export const BATCH_KEYS_TTL_MS = 24 * 3600_000;

/** Tasks of tiny kinds carried by one job at most (as the local pool's batches). */
export const MAX_REMOTE_BATCH = 64;

/** The BullMQ job id of one attempt of a task (BullMQ forbids ':' in ids). */
export function remoteJobId(taskKey: string, attempt: number): string {
  return `${encodeURIComponent(taskKey)}@${attempt}`;
}

export const remoteTaskSchema = z.object({
  taskKey: z.string().min(1).max(1000),
  kind: z.string().min(1).max(200),
  input: z.record(z.string(), z.unknown()),
  attempt: z.number().int().positive(),
});
export type RemoteTask = z.infer<typeof remoteTaskSchema>;

export const remoteBatchSchema = z.object({ tasks: z.array(remoteTaskSchema).min(1).max(MAX_REMOTE_BATCH) });
export type RemoteBatch = z.infer<typeof remoteBatchSchema>;

/** A batch job id, told apart from a task's by its prefix (a task's id starts with its encoded key). */
export function isBatchId(remoteId: string): boolean {
  return remoteId.startsWith('batch.');
}

/**
 * A machine's name as a worker announces it: held to the rule `threadline worker --name` is
 * (`contract/machine-names.ts`), so that a worker of another version, or a forged announcement,
 * cannot put a name the views would read as a local thread or the event loop on the dashboard.
 */
export const machineNameSchema = z.string().superRefine((name, ctx) => {
  const refusal = machineNameRefusal('name', name);
  if (refusal) ctx.addIssue({ code: 'custom', message: refusal });
});

/**
 * Where a task ran, as a worker reports it: one of its threads (`build-07/3`) or the machine
 * alone (a task refused before a thread took it). Anything else would be recorded as the task's
 * worker and could read as a local one (`w1`, `loop`), so it is refused.
 */
export const remoteWorkerSchema = z.string().superRefine((worker, ctx) => {
  if (machineOfWorker(worker) !== null) return;
  const machine = worker.split('/')[0]!;
  const problem = machineNameProblem(machine);
  const why = problem === null ? '' : `: its machine ${shownName(machine)} ${problem}`;
  ctx.addIssue({ code: 'custom', message: `worker: ${shownName(worker)} is not <machine>/<thread> or <machine> alone${why}` });
});

const taskErrorSchema = z.object({ code: z.string().max(200), message: z.string().max(MAX_TEXT_CHARS * 4) });

export const remoteReportSchema = z.discriminatedUnion('type', [
  // In a batch, one message starts every task named in `keys` (those not ended in an earlier run).
  z.object({ type: z.literal('started'), worker: remoteWorkerSchema, at: z.number(), keys: z.array(z.string()).max(MAX_REMOTE_BATCH).optional() }),
  // In a batch, `key` names the task a progress or log line is of.
  z.object({ type: z.literal('progress'), key: z.string().optional(), progress: z.number().finite().nullable(), message: z.string().max(MAX_TEXT_CHARS + 100).nullable() }),
  z.object({ type: z.literal('log'), key: z.string().optional(), at: z.number(), level: z.enum(['info', 'warn', 'error']), message: z.string().max(MAX_TEXT_CHARS + 100) }),
]);
export type RemoteReport = z.infer<typeof remoteReportSchema>;

const times = { startedAt: z.number(), finishedAt: z.number(), worker: remoteWorkerSchema };
export const remoteOutcomeSchema = z.discriminatedUnion('type', [
  z.object({
    type: z.literal('succeeded'),
    // A worker refuses such a result itself; a forged one would overflow the stack of whatever walks it here (its size check, the store).
    result: z.unknown().refine((result) => tooDeepAt(result) === null, `the result nests arrays and objects more than ${MAX_NESTING_DEPTH} levels deep`),
    ...times,
  }),
  z.object({ type: z.literal('failed'), error: taskErrorSchema, ...times }),
  z.object({ type: z.literal('stopped'), ...times }),
]);
export type RemoteOutcome = z.infer<typeof remoteOutcomeSchema>;

/** A batch's return value: the outcome of each of its tasks, by task key. */
export const remoteBatchOutcomeSchema = z.object({ type: z.literal('batch'), outcomes: z.record(z.string(), z.unknown()) });
export type RemoteBatchOutcome = { type: 'batch'; outcomes: Record<string, RemoteOutcome> };

export const remoteStopSchema = z.object({
  remoteJobId: z.string().max(2000),
  /** For a task in a batch: which one (the others go on). */
  taskKey: z.string().max(1000).optional(),
  /** `soft`: raise the task's cancel flag; `hard`: end the thread it runs on. */
  mode: z.enum(['soft', 'hard']),
});
export type RemoteStop = z.infer<typeof remoteStopSchema>;

/**
 * The most threads a worker may announce: what `threadline worker --workers` accepts. The room
 * for jobs on Redis is two per announced thread, so a forged count beyond it is refused rather
 * than let lift that bound.
 */
export const MAX_ANNOUNCED_THREADS = 1024;

/**
 * A worker whose connections to Redis are cut this many times within `LINK_CUT_WINDOW_MS` (each
 * cut once it had connected: a refused connection is Redis away, not a cut) cannot keep one:
 * a link that ends every connection after so many bytes, or a proxy with limits. A Redis
 * restart cuts each of its connections once (three), so it is not taken for one.
 */
export const LINK_CUTS = 8;
export const LINK_CUT_WINDOW_MS = 10_000;
/**
 * A worker cut off sends little (announcements, renewals), and a link that cuts each connection
 * after so many bytes lets that through for a long while: quiet is no proof that a task's end
 * (BullMQ's script that writes it is about 40 KB the first time on a connection) would pass. So
 * before it takes tasks again, a worker sends Redis this many bytes and has them echoed back.
 */
export const LINK_PROBE_BYTES = 48 * 1024;

/** What a worker that cannot keep its connection to Redis says of it in its announcements. */
export const linkCutSchema = z.object({
  /** Connections cut within the last `LINK_CUT_WINDOW_MS`. */
  cuts: z.number().int().nonnegative(),
  /** How the last one ended, in a few words. */
  reason: z.string().max(200),
});
export type LinkCut = z.infer<typeof linkCutSchema>;

export const workerAnnouncementSchema = z.object({
  name: machineNameSchema,
  host: z.string().max(300),
  threads: z.number().int().nonnegative().max(MAX_ANNOUNCED_THREADS),
  running: z.number().int().nonnegative(),
  /** `leaving`: it has ended and takes nothing more (it is then forgotten). */
  state: z.enum(['ready', 'draining', 'leaving']),
  rssBytes: z.number().nonnegative(),
  loopDelayP99Ms: z.number().nonnegative(),
  /** Present while it cannot keep its connection to Redis: it takes no task meanwhile. */
  linkCut: linkCutSchema.optional(),
});
export type WorkerAnnouncement = z.infer<typeof workerAnnouncementSchema>;

/** An announcement held to its shape but not to the naming rule nor the bound on threads: how a refused one is still heard, to be told of. */
export const announcementUnderAnyNameSchema = workerAnnouncementSchema.extend({ name: z.string(), threads: z.number().int().nonnegative() });

/** Parses JSON text from Redis against `schema`; null when it is not what was expected. */
export function readWire<T>(schema: z.ZodType<T>, text: unknown): T | null {
  const read = parseWire(schema, text);
  return read.ok ? read.data : null;
}

/** Why `text` is not what `schema` expects, in one line (the first thing wrong), or null when it is. */
export function wireProblem<T>(schema: z.ZodType<T>, text: unknown): string | null {
  const read = parseWire(schema, text);
  return read.ok ? null : read.problem;
}

/** Parses JSON text from Redis against `schema`: the value, or why it is not one (as `wireProblem` says). */
export function parseWire<T>(schema: z.ZodType<T>, text: unknown): { ok: true; data: T } | { ok: false; problem: string } {
  let value: unknown = text;
  if (typeof text === 'string') {
    try {
      value = JSON.parse(text);
    } catch {
      return { ok: false, problem: 'not JSON' };
    }
  }
  const parsed = schema.safeParse(value);
  if (parsed.success) return { ok: true, data: parsed.data };
  const issue = parsed.error.issues[0];
  if (!issue) return { ok: false, problem: 'not what was expected' };
  // Our own refusals name their field; zod's say what was expected, and where.
  const where = issue.code === 'custom' || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `;
  return { ok: false, problem: `${where}${issue.message}` };
}

/** Cuts a text a task wrote to the wire's limit, saying how much was left out. */
export function boundedText(text: string): string {
  if (text.length <= MAX_TEXT_CHARS) return text;
  return `${text.slice(0, MAX_TEXT_CHARS)}… (${text.length - MAX_TEXT_CHARS} more characters not sent)`;
}

/** The size of a result as JSON when it is over the limit, else null. */
export function resultTooBig(result: unknown): { bytes: number } | null {
  const text = JSON.stringify(result ?? null);
  const bytes = Buffer.byteLength(text, 'utf8');
  return bytes > MAX_RESULT_BYTES ? { bytes } : null;
}

export function resultTooBigError(bytes: number): { code: string; message: string } {
  const mb = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MB`;
  return {
    code: 'RESULT_TOO_BIG',
    message: `the result is ${mb(bytes)} as JSON, over the ${mb(MAX_RESULT_BYTES)} a remote task may send back; write it to a file instead (or run the task with runOn: local)`,
  };
}
