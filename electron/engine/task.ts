import type { TaskAttempt, TaskError, TaskLogLine, TaskRecord } from '../../contract/records.js';
import type { KindExecutor, TaskState } from '../../contract/task-states.js';
import { taskKey } from './ids.js';
import type { Job } from './job.js';

/** What a host sees of a task: its record, read-only. A live object: copy what you keep. */
export interface TaskView extends Readonly<TaskRecord> {
  /** One entry per try, oldest first. */
  readonly history: ReadonlyArray<Readonly<TaskAttempt>>;
  toRecord(): TaskRecord;
}

/** Why a running task is being stopped; decides its final state. */
export type StopReason = 'cancel' | 'timeout' | 'fail-fast' | 'shutdown';

/**
 * Shared by every task that has none: most tasks of a big job depend on nothing, have no
 * dependents and no attempt while they wait, and an empty array of each costs 32 bytes a task.
 * Frozen, so a push into a shared one throws instead of reaching every task.
 */
export const NO_DEPENDENCIES: readonly string[] = Object.freeze([]);
const NO_TASKS: readonly Task[] = Object.freeze([]);
const NO_ATTEMPTS: readonly TaskAttempt[] = Object.freeze([]);

/**
 * How a task runs, shared by the tasks that run alike (in a job, usually all of them): one
 * reference a task instead of five fields.
 */
interface RunTraits {
  readonly kind: string;
  readonly executor: KindExecutor;
  readonly timeoutMs: number | null;
  readonly retries: number;
  readonly retryBackoffMs: number;
}

/** The traits of the task built last: tasks are built a job at a time, so the next is mostly alike. */
let lastTraits: RunTraits | null = null;

function traitsOf(kind: string, executor: KindExecutor, timeoutMs: number | null, retries: number, retryBackoffMs: number): RunTraits {
  const last = lastTraits;
  if (last && last.kind === kind && last.executor === executor && last.timeoutMs === timeoutMs && last.retries === retries && last.retryBackoffMs === retryBackoffMs) return last;
  return (lastTraits = Object.freeze({ kind, executor, timeoutMs, retries, retryBackoffMs }));
}

/** What few tasks ever need (a failure, a log, a stop, a progress message): made on the first such need. */
interface TaskExtras {
  /** Its key, when it is not `<jobId>:<taskId>` (a remote worker's stand-in for a task of the orchestrator). */
  key: string | null;
  /** When it was queued, if not when its job was created (a retry, a resumed task). */
  queuedAt: number | null;
  progressMessage: string | null;
  error: TaskError | null;
  logLines: TaskLogLine[] | null;
  logCount: number;
  runOn: 'local' | undefined;
  stopReason: StopReason | null;
}

type TaskTimers = { timeout?: NodeJS.Timeout; grace?: NodeJS.Timeout; retry?: NodeJS.Timeout };

/** Its place in its job's graph, for a task that has one (most tasks of a big job depend on nothing and have no dependents). */
interface TaskLinks {
  dependsOn: string[];
  dependents: Task[];
  waitingOn: number;
}

const LIVE = 1;
const ON_EXECUTOR = 2;
const ATTEMPT_OPEN = 4;
const ISOLATED = 8;
/** Its row waits for the store writer. */
const ROW_UNSTORED = 16;
/** The bits above these hold the number of the attempt that waits for the store writer (0: none). */
const ATTEMPT_UNSTORED_SHIFT = 5;
const FLAG_BITS = (1 << ATTEMPT_UNSTORED_SHIFT) - 1;

/**
 * A task as the engine holds it: the persisted record plus scheduling state. Its `state` changes
 * only through `TaskLifeCycle.transition`.
 *
 * A million of these can be held at once, so a task keeps only what changes for every task in
 * fields of its own: what is shared (kind, executor, timeout and retry settings), rare (errors,
 * logs, stops) or boolean (packed in one number) sits behind accessors that read as fields.
 */
export class Task implements TaskView {
  state: TaskState = 'queued';
  attempts = 0;
  startedAt: number | null = null;
  finishedAt: number | null = null;
  worker: string | null = null;
  progress: number | null = null;
  result: unknown = null;
  /** Its tries: none, the one (most tasks run once), or all of them in order. */
  private tries: TaskAttempt | TaskAttempt[] | null = null;
  private links: TaskLinks | null = null;
  private flags = 0;
  private extras: TaskExtras | null = null;
  private timerSet: TaskTimers | null = null;
  private readonly traits: RunTraits;

  constructor(
    readonly job: Job,
    key: string,
    readonly id: string,
    readonly seq: number,
    kind: string,
    executor: KindExecutor,
    readonly input: Record<string, unknown>,
    readonly priority: number,
    timeoutMs: number | null,
    retries: number,
    retryBackoffMs: number,
    dependsOn: string[],
    queuedAt: number,
  ) {
    this.traits = traitsOf(kind, executor, timeoutMs, retries, retryBackoffMs);
    if (dependsOn.length > 0) this.links = { dependsOn, dependents: NO_TASKS as Task[], waitingOn: 0 };
    this.queuedAt = queuedAt;
    if (!isKeyOf(key, job.id, id)) this.more().key = key;
  }

  /**
   * `<jobId>:<taskId>`, made (flat, see `taskKey`) when read rather than kept: a million keys
   * of 40 bytes each are worth more than the short strings made while a task is handed over.
   */
  get key(): string {
    return this.extras?.key ?? taskKey(this.job.id, this.id);
  }

  /** The ids of the tasks it depends on. */
  get dependsOn(): string[] {
    return this.links?.dependsOn ?? (NO_DEPENDENCIES as string[]);
  }

  /** Unfinished dependencies; the task is ready when this reaches 0. */
  get waitingOn(): number {
    return this.links?.waitingOn ?? 0;
  }

  set waitingOn(n: number) {
    if (n !== 0 || this.links) this.linked().waitingOn = n;
  }

  private linked(): TaskLinks {
    return (this.links ??= { dependsOn: NO_DEPENDENCIES as string[], dependents: NO_TASKS as Task[], waitingOn: 0 });
  }

  /**
   * When it was (last) queued. Every task of a job is queued when the job is created, so that
   * time is the job's, and a task keeps one of its own only once it differs (a boxed number of
   * its own, a million times over in a big job, otherwise).
   */
  get queuedAt(): number {
    return this.extras?.queuedAt ?? this.job.createdAt;
  }

  set queuedAt(at: number) {
    const own = at === this.job.createdAt ? null : at;
    if (own !== null || this.extras) this.more().queuedAt = own;
  }

  get jobId(): string {
    return this.job.id;
  }

  get kind(): string {
    return this.traits.kind;
  }

  get executor(): KindExecutor {
    return this.traits.executor;
  }

  get timeoutMs(): number | null {
    return this.traits.timeoutMs;
  }

  get retries(): number {
    return this.traits.retries;
  }

  get retryBackoffMs(): number {
    return this.traits.retryBackoffMs;
  }

  /**
   * One entry per try, oldest first; grows through `addAttempt`. A task that ran once holds its
   * attempt alone, and this is a new array of one on each read: read it, do not keep it.
   */
  get history(): TaskAttempt[] {
    const tries = this.tries;
    if (tries === null) return NO_ATTEMPTS as TaskAttempt[];
    return Array.isArray(tries) ? tries : [tries];
  }

  set history(attempts: TaskAttempt[]) {
    this.tries = attempts.length === 0 ? null : attempts.length === 1 ? attempts[0]! : attempts;
  }

  /** Its newest try, without making an array of one. */
  get lastAttempt(): TaskAttempt | undefined {
    const tries = this.tries;
    if (tries === null) return undefined;
    return Array.isArray(tries) ? tries.at(-1) : tries;
  }

  /** Its newest try numbered `n`, if it has one. */
  attemptNumbered(n: number): TaskAttempt | undefined {
    const tries = this.tries;
    if (tries === null) return undefined;
    if (!Array.isArray(tries)) return tries.attempt === n ? tries : undefined;
    for (let i = tries.length - 1; i >= 0; i--) if (tries[i]!.attempt === n) return tries[i];
    return undefined;
  }

  addAttempt(attempt: TaskAttempt): void {
    const tries = this.tries;
    if (tries === null) this.tries = attempt;
    else if (Array.isArray(tries)) tries.push(attempt);
    else this.tries = [tries, attempt];
  }

  /** Forgets the newest try (one announced that never began). */
  dropLastAttempt(): void {
    const tries = this.tries;
    if (!Array.isArray(tries)) this.tries = null;
    else {
      tries.pop();
      if (tries.length === 1) this.tries = tries[0]!;
    }
  }

  /** Tasks that depend on this one; grows through `addDependent`. */
  get dependents(): readonly Task[] {
    return this.links?.dependents ?? NO_TASKS;
  }

  addDependent(task: Task): void {
    const links = this.linked();
    if (links.dependents === NO_TASKS) links.dependents = [task];
    else links.dependents.push(task);
  }

  /** Indexed by the engine and free to be queued; a big job's tasks go live in slices. */
  get live(): boolean {
    return (this.flags & LIVE) !== 0;
  }

  set live(on: boolean) {
    this.setFlag(LIVE, on);
  }

  /** Set while the task is on an executor (dispatched, not yet finished). */
  get onExecutor(): boolean {
    return (this.flags & ON_EXECUTOR) !== 0;
  }

  set onExecutor(on: boolean) {
    this.setFlag(ON_EXECUTOR, on);
  }

  /** Between the executor's start report and its outcome. */
  get attemptOpen(): boolean {
    return (this.flags & ATTEMPT_OPEN) !== 0;
  }

  set attemptOpen(on: boolean) {
    this.setFlag(ATTEMPT_OPEN, on);
  }

  /** Suspected of killing the process before: it runs alone, with nothing beside it. */
  get isolated(): boolean {
    return (this.flags & ISOLATED) !== 0;
  }

  set isolated(on: boolean) {
    this.setFlag(ISOLATED, on);
  }

  /**
   * Its row waits for the store writer (see store-writer.ts): marks kept in the task's flags, so
   * a task that waits to be written costs the writer one slot of a queue and no entry of a map.
   */
  get rowUnstored(): boolean {
    return (this.flags & ROW_UNSTORED) !== 0;
  }

  set rowUnstored(on: boolean) {
    this.setFlag(ROW_UNSTORED, on);
  }

  /** The number of its attempt that waits for the store writer; 0 when none does. */
  get attemptUnstored(): number {
    return this.flags >>> ATTEMPT_UNSTORED_SHIFT;
  }

  set attemptUnstored(n: number) {
    this.flags = (this.flags & FLAG_BITS) | (n << ATTEMPT_UNSTORED_SHIFT);
  }

  private setFlag(flag: number, on: boolean): void {
    this.flags = on ? this.flags | flag : this.flags & ~flag;
  }

  get progressMessage(): string | null {
    return this.extras?.progressMessage ?? null;
  }

  set progressMessage(message: string | null) {
    if (message !== null || this.extras) this.more().progressMessage = message;
  }

  get error(): TaskError | null {
    return this.extras?.error ?? null;
  }

  set error(error: TaskError | null) {
    if (error !== null || this.extras) this.more().error = error;
  }

  /** The newest log lines of its handler, once it wrote any. */
  get logLines(): TaskLogLine[] | null {
    return this.extras?.logLines ?? null;
  }

  set logLines(lines: TaskLogLine[] | null) {
    if (lines !== null || this.extras) this.more().logLines = lines;
  }

  /** Every line it ever wrote, those dropped from `logLines` and from earlier runs included. */
  get logCount(): number {
    return this.extras?.logCount ?? 0;
  }

  set logCount(count: number) {
    if (count !== 0 || this.extras) this.more().logCount = count;
  }

  /** `local`: it runs only on the orchestrator's own pool, never on a remote worker. */
  get runOn(): 'local' | undefined {
    return this.extras?.runOn;
  }

  set runOn(where: 'local' | undefined) {
    if (where !== undefined || this.extras) this.more().runOn = where;
  }

  get stopReason(): StopReason | null {
    return this.extras?.stopReason ?? null;
  }

  set stopReason(reason: StopReason | null) {
    if (reason !== null || this.extras) this.more().stopReason = reason;
  }

  private more(): TaskExtras {
    return (this.extras ??= { key: null, queuedAt: null, progressMessage: null, error: null, logLines: null, logCount: 0, runOn: undefined, stopReason: null });
  }

  /** Its timeout while it runs, the end of its grace period while it stops, its retry's backoff. */
  get timers(): TaskTimers {
    return (this.timerSet ??= {});
  }

  /** Clears one of its timers, if it has it (without making the record of timers for it). */
  clearTimer(name: keyof TaskTimers): void {
    const timers = this.timerSet;
    if (!timers) return;
    clearTimeout(timers[name]);
    timers[name] = undefined;
  }

  clearTimers(): void {
    const timers = this.timerSet;
    if (!timers) return;
    clearTimeout(timers.timeout);
    clearTimeout(timers.grace);
    clearTimeout(timers.retry);
    this.timerSet = null;
  }

  toRecord(): TaskRecord {
    return {
      key: this.key,
      jobId: this.job.id,
      id: this.id,
      kind: this.kind,
      input: this.input,
      priority: this.priority,
      timeoutMs: this.timeoutMs,
      retries: this.retries,
      retryBackoffMs: this.retryBackoffMs,
      dependsOn: this.dependsOn,
      ...(this.runOn ? { runOn: this.runOn } : {}),
      state: this.state,
      attempts: this.attempts,
      queuedAt: this.queuedAt,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
      worker: this.worker,
      progress: this.progress,
      progressMessage: this.progressMessage,
      error: this.error,
      result: this.result,
    };
  }
}

function isKeyOf(key: string, jobId: string, taskId: string): boolean {
  return key.length === jobId.length + 1 + taskId.length && key.startsWith(jobId) && key.charCodeAt(jobId.length) === 58 /* : */ && key.endsWith(taskId);
}
