import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import type { ResourceLimits } from 'node:worker_threads';
import type { ApiSnapshot, HostNotice } from '../../contract/api.js';
import type { JobSpec } from '../../contract/job-spec.js';
import { findKind } from '../../contract/kinds/index.js';
import type { JobRecord, TaskAttempt, TaskError, TaskLogLine, TaskRecord } from '../../contract/records.js';
import { isTerminal, TASK_STATES, type TaskState } from '../../contract/task-states.js';
import type { CallServiceMap } from './call-services.js';
import { ThreadlineError } from './errors.js';
import type { Executor, ExecutorListener, ExecutorOutcome, ReadySource } from './executor.js';
import { newJobId, splitTaskKey, taskKey } from './ids.js';
import { Job } from './job.js';
import { JobStore, storeWriteError, taskRecordOf, type StoredTask } from './job-store.js';
import { LoopExecutor } from './loop-executor.js';
import type { MemoryLimits } from './memory-watch.js';
import { defaultCheckpointFile, defaultWorkerFile } from './paths.js';
import { PoolExecutor } from './pool-executor.js';
import { ReadyQueue } from './ready-queue.js';
import { StoreCheckpointer } from './store-checkpointer.js';
import { StoreLock } from './store-lock.js';
import { StoreWriter } from './store-writer.js';
import { appendTaskLog, taskLogInMemory } from './task-logs.js';
import { Task, type StopReason } from './task.js';
import { Telemetry, type TelemetrySample } from './telemetry.js';
import { TimeSlicer } from './time-slicer.js';

export interface EngineOptions {
  /** Where the job store lives. */
  dataDir: string;
  /** The compiled pool worker entry; default: found next to the engine. */
  workerFile?: string;
  /** Threads in the pool; default: one per CPU core. */
  poolSize?: number;
  /** V8 limits for each pool thread; a task over them fails alone. */
  resourceLimits?: ResourceLimits;
  /** Ceilings on memory the heap limit does not count, per task and for the process. */
  memoryLimits?: MemoryLimits;
  /**
   * Async (loop) tasks of jobs without a `concurrency` of their own running at once (default
   * 64); a job that sets `concurrency` runs that many of its async tasks whatever this is.
   */
  loopConcurrency?: number;
  /** How long a cancelled running task may take to stop by itself before its thread is ended. */
  cancelGraceMs?: number;
  telemetryIntervalMs?: number;
  /** Telemetry samples kept in memory. */
  telemetryHistory?: number;
  /** How often batched state changes are written to the store. */
  storeFlushMs?: number;
  /**
   * Tasks of finished jobs kept in memory (newest jobs first); older finished jobs are read
   * from the store instead, so a long-running host returns to its baseline. Default 10,000.
   */
  keepFinishedTasks?: number;
  /** The compiled store checkpoint thread; default: found next to the engine. */
  checkpointFile?: string;
  /** How often that thread folds the store's write-ahead log into the file. */
  checkpointIntervalMs?: number;
  /** Async services pool tasks reach with `ctx.call(name, ...args)`, besides `fetch` and `sleep`. */
  services?: CallServiceMap;
}

export interface EngineEvents {
  /** A task changed state or progress. The object is live: copy what you keep. */
  task: [task: Task];
  job: [job: Job];
  log: [line: TaskLogLine];
  telemetry: [sample: TelemetrySample];
  /** What people should see until it clears (a store that cannot be written); the whole list. */
  notices: [notices: HostNotice[]];
}

/** What a host starts a view from: the contract's snapshot, without the wire's `type` and `seq`. */
export type EngineSnapshot = ApiSnapshot;

const DEFAULTS = {
  loopConcurrency: 64,
  cancelGraceMs: 2000,
  telemetryIntervalMs: 500,
  telemetryHistory: 1200,
  storeFlushMs: 100,
  checkpointIntervalMs: 500,
  keepFinishedTasks: 10_000,
  resourceLimits: { maxOldGenerationSizeMb: 2048 } satisfies ResourceLimits,
};
const TELEMETRY_RETENTION_MS = 7 * 24 * 3600 * 1000;
const MAX_BACKOFF_MS = 60_000;
/** Admission works in slices of this many milliseconds, storing at most this many rows per transaction. */
const ADMISSION_SLICE_MS = 4;
const ADMISSION_ROWS = 500;

/**
 * The orchestrator: admission, scheduling (priority, FIFO, per-job caps, dependencies),
 * timeouts, retries, cancellation, events and telemetry. It knows nothing of its host.
 */
export class Engine extends EventEmitter<EngineEvents> {
  readonly store: JobStore;
  /** The data directory is this engine's while the operating system says so. */
  private readonly ownership: StoreLock;
  readonly pool: PoolExecutor;
  readonly interruptedOnOpen: string[];
  private readonly loop: LoopExecutor;
  private readonly writer: StoreWriter;
  readonly checkpointer: StoreCheckpointer;
  private readonly telemetry: Telemetry;
  private readonly ready = { pool: new ReadyQueue(), loop: new ReadyQueue() };
  private readonly jobsById = new Map<string, Job>();
  private readonly counts = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
  private readonly cancelGraceMs: number;
  private readonly keepFinishedTasks: number;
  /** Finished jobs still in memory, oldest first, and how many tasks they hold. */
  private readonly finishedJobs: Job[] = [];
  private finishedTasksHeld = 0;
  private seq = 0;
  private completions = 0;
  private pumpScheduled = false;
  /** Admissions under way; a shutdown waits for them to end or give up. */
  private readonly admissions = new Set<Promise<void>>();
  private closing = false;
  private closed: Promise<void> | null = null;
  /** Set while the store cannot be written: no task starts until it can record what runs. */
  private storeNotice: HostNotice | null = null;

  constructor(options: EngineOptions) {
    super();
    this.cancelGraceMs = options.cancelGraceMs ?? DEFAULTS.cancelGraceMs;
    this.keepFinishedTasks = options.keepFinishedTasks ?? DEFAULTS.keepFinishedTasks;
    const workerFile = options.workerFile ?? defaultWorkerFile();
    if (!existsSync(workerFile)) {
      throw new ThreadlineError('DATA_DIR_UNUSABLE', `the pool worker entry ${workerFile} is missing; run "npm run build:node"`);
    }
    // Taken before the store is opened: the loser of two starts never touches it.
    this.ownership = StoreLock.take(options.dataDir);
    try {
      this.store = new JobStore(options.dataDir);
    } catch (error) {
      this.ownership.release();
      throw storeWriteError(error, options.dataDir);
    }
    try {
      this.interruptedOnOpen = this.recoverStore();
    } catch (error) {
      this.store.close();
      this.ownership.release();
      throw storeWriteError(error, options.dataDir);
    }
    this.checkpointer = new StoreCheckpointer(this.store, {
      threadFile: options.checkpointFile ?? defaultCheckpointFile(),
      intervalMs: options.checkpointIntervalMs ?? DEFAULTS.checkpointIntervalMs,
    });
    this.writer = new StoreWriter(this.store, options.storeFlushMs ?? DEFAULTS.storeFlushMs, {
      failed: (error) => this.onStoreHealth({ code: error.code === 'DISK_FULL' ? 'DISK_FULL' : 'STORE_WRITE_FAILED', message: error.message, since: Date.now() }),
      recovered: () => this.onStoreHealth(null),
    });
    const listener = this.executorListener();
    this.pool = new PoolExecutor(
      { workerFile, size: options.poolSize, resourceLimits: options.resourceLimits ?? DEFAULTS.resourceLimits, memoryLimits: options.memoryLimits, services: options.services },
      listener,
    );
    this.loop = new LoopExecutor(options.loopConcurrency ?? DEFAULTS.loopConcurrency, listener);
    this.telemetry = new Telemetry(
      {
        workers: () => this.pool.workerStats(),
        queued: () => this.counts.queued,
        running: () => this.counts.running + this.counts.cancelling,
        takeCompletions: () => {
          const n = this.completions;
          this.completions = 0;
          return n;
        },
      },
      options.telemetryIntervalMs ?? DEFAULTS.telemetryIntervalMs,
      options.telemetryHistory ?? DEFAULTS.telemetryHistory,
      (sample) => this.onTelemetry(sample),
    );
    this.telemetry.start();
  }

  /** Whoever held the store before is gone: what it left running is interrupted. */
  private recoverStore(): string[] {
    const interrupted = this.store.markInterrupted();
    this.store.pruneTelemetry(Date.now() - TELEMETRY_RETENTION_MS);
    this.store.claimOwnership();
    return interrupted;
  }

  private onStoreHealth(notice: HostNotice | null): void {
    this.storeNotice = notice;
    this.emit('notices', this.notices());
    if (!notice) this.schedulePump();
  }

  /** Conditions of this engine people should see: today, a store that cannot be written. */
  notices(): HostNotice[] {
    return this.storeNotice ? [{ ...this.storeNotice }] : [];
  }

  /** Samples taken while work ran are kept in the store too, for traces of past jobs. */
  private onTelemetry(sample: TelemetrySample): void {
    if (sample.running > 0 || sample.queued > 0 || sample.completionsPerSecond > 0) this.writer.telemetry(sample);
    this.emit('telemetry', sample);
  }

  // ---- admission -------------------------------------------------------------------------

  /**
   * Admits a validated job. A big one is admitted in slices of a few milliseconds, so the loop
   * keeps serving views and workers meanwhile. Every task is durable before any of them starts,
   * and before this resolves; an admission cut short (shutdown, crash) leaves nothing behind.
   */
  async submitJob(spec: JobSpec, baseDir: string): Promise<JobRecord> {
    this.assertOpen();
    const now = Date.now();
    const job = new Job(newJobId(now), spec.name, spec.concurrency ?? null, spec.onFailure, baseDir, now);
    const admission = this.admit(job, spec, now);
    this.admissions.add(admission);
    try {
      await admission;
    } finally {
      this.admissions.delete(admission);
    }
    return job.toRecord();
  }

  private async admit(job: Job, spec: JobSpec, now: number): Promise<void> {
    const slicer = new TimeSlicer(ADMISSION_SLICE_MS);
    // Build and check every task before anything is stored.
    for (const s of spec.tasks) {
      const kind = findKind(s.kind);
      if (!kind) throw new ThreadlineError('JOB_FILE_INVALID', `unknown kind "${s.kind}" in task ${s.id}`);
      const task = new Task(
        job, taskKey(job.id, s.id), s.id, this.seq++, s.kind, kind.executor, s.input,
        s.priority, s.timeoutMs ?? null, s.retries, s.retryBackoffMs, s.dependsOn, now,
      );
      job.tasks.push(task);
      job.byId.set(s.id, task);
      if (slicer.due) await this.nextAdmissionSlice(slicer);
    }
    for (let from = 0; from < job.tasks.length; from += ADMISSION_ROWS) {
      this.linkDependencies(job, from, from + ADMISSION_ROWS);
      if (slicer.due) await this.nextAdmissionSlice(slicer);
    }
    // Stored in one transaction, or in slices under a job row that readers do not see until the last one.
    try {
      if (job.tasks.length <= ADMISSION_ROWS) this.store.insertJob(job.toRecord(), job.tasks);
      else await this.storeInSlices(job, slicer);
    } catch (error) {
      throw storeWriteError(error, this.store.dataDir);
    }
    // Durable now: it goes live in slices too (a shutdown waits for the last one).
    this.adoptJob(job);
    for (let from = 0; from < job.tasks.length; from += ADMISSION_ROWS) {
      this.adoptTasks(job, from, from + ADMISSION_ROWS);
      if (slicer.due) await slicer.yield();
    }
    this.settleJobIfDone(job);
  }

  /** Until the job is stored, a shutdown refuses it: the caller has not been told it was admitted. */
  private async nextAdmissionSlice(slicer: TimeSlicer): Promise<void> {
    await slicer.yield();
    this.assertOpen();
  }

  private async storeInSlices(job: Job, slicer: TimeSlicer): Promise<void> {
    this.store.beginJob(job.toRecord());
    try {
      for (let from = 0; from < job.tasks.length; from += ADMISSION_ROWS) {
        this.store.insertTasks(job.id, job.tasks.slice(from, from + ADMISSION_ROWS));
        if (slicer.due) await this.nextAdmissionSlice(slicer);
      }
      this.store.admitJob(job.id);
    } catch (error) {
      // If the store cannot take even that (a full disk), the writer removes them later: the first error is the one to report.
      this.writer.discardJob(job.id);
      throw error;
    }
  }

  /** Links tasks `from` to `to` (exclusive) to their dependencies. */
  private linkDependencies(job: Job, from = 0, to = job.tasks.length): void {
    for (const task of job.tasks.slice(from, to)) {
      task.waitingOn = 0;
      for (const id of task.dependsOn) {
        const dep = job.byId.get(id);
        if (!dep) throw new ThreadlineError('JOB_FILE_INVALID', `task ${task.id} depends on unknown task ${id}`);
        dep.dependents.push(task);
        if (dep.state !== 'succeeded') task.waitingOn++;
      }
    }
  }

  /** Makes a job live at once (a resumed one). */
  private adopt(job: Job): void {
    this.adoptJob(job);
    this.adoptTasks(job, 0, job.tasks.length);
    this.settleJobIfDone(job);
  }

  /** Indexes and counts the job with all its tasks, so it cannot settle before the last is live. */
  private adoptJob(job: Job): void {
    this.jobsById.set(job.id, job);
    for (const task of job.tasks) {
      this.counts[task.state]++;
      if (!isTerminal(task.state)) job.unfinished++;
    }
    this.emit('job', job);
  }

  /** Makes tasks `from` to `to` (exclusive) live: indexed, announced, and queued when ready. */
  private adoptTasks(job: Job, from: number, to: number): void {
    for (const task of job.tasks.slice(from, to)) {
      task.live = true;
      this.emit('task', task);
      if (task.state === 'queued' && task.waitingOn === 0) this.enqueue(task);
    }
  }

  /** Runs the unfinished tasks of interrupted jobs (all of them, or those named) to the end. */
  resumeInterrupted(jobIds?: string[]): JobRecord[] {
    this.assertOpen();
    const wanted = jobIds ? new Set(jobIds) : null;
    const resumed: JobRecord[] = [];
    for (const record of this.store.jobsInState('interrupted')) {
      if (wanted && !wanted.has(record.id)) continue;
      if (this.jobsById.has(record.id)) continue;
      const job = this.rebuildJob(record, this.store.tasksOfJob(record.id));
      this.writer.job(job);
      for (const task of job.tasks) if (task.state === 'queued') this.writer.task(task);
      this.adopt(job);
      resumed.push(job.toRecord());
    }
    return resumed;
  }

  private rebuildJob(record: JobRecord, stored: StoredTask[]): Job {
    const job = new Job(record.id, record.name, record.concurrency, record.onFailure, record.baseDir, record.createdAt);
    const attempts = this.store.attemptsOfJob(record.id);
    const logCounts = this.store.logCountsOfJob(record.id);
    for (const s of stored) {
      const executor = findKind(s.kind)?.executor ?? 'pool';
      const task = new Task(
        job, s.key, s.id, this.seq++, s.kind, executor, s.input, s.priority, s.timeoutMs,
        s.retries, s.retryBackoffMs, s.dependsOn, s.queuedAt,
      );
      Object.assign(task, {
        state: s.state, attempts: s.attempts, startedAt: s.startedAt, finishedAt: s.finishedAt,
        worker: s.worker, progress: s.progress, error: s.error, result: s.result,
        history: attempts.get(s.id) ?? [],
        logCount: logCounts.get(s.id) ?? 0,
      });
      // An interruption is not the task's fault: it runs again without spending a retry.
      if (task.state === 'interrupted' || task.state === 'running' || task.state === 'cancelling') {
        task.state = 'queued';
        task.queuedAt = Date.now();
      }
      job.tasks.push(task);
      job.byId.set(task.id, task);
    }
    this.linkDependencies(job);
    return job;
  }

  // ---- scheduling ------------------------------------------------------------------------

  private enqueue(task: Task): void {
    this.ready[task.executor].push(task);
    this.schedulePump();
  }

  private schedulePump(): void {
    if (this.pumpScheduled || this.closing || this.storeNotice) return;
    this.pumpScheduled = true;
    queueMicrotask(() => {
      this.pumpScheduled = false;
      if (this.closing) return;
      this.pool.fill(this.readySource(this.ready.pool));
      this.loop.fill(this.readySource(this.ready.loop));
    });
  }

  private readySource(queue: ReadyQueue): ReadySource {
    return (accept) => {
      for (;;) {
        const task = queue.peek();
        if (!task) return null;
        if (task.state !== 'queued' || task.onExecutor) {
          queue.pop(); // cancelled or skipped while it waited
          continue;
        }
        if (task.job.atCap) {
          queue.pop();
          task.job.held.push(task);
          continue;
        }
        if (accept && !accept(task)) return null;
        queue.pop();
        task.onExecutor = true;
        task.job.active++;
        return task;
      }
    };
  }

  private executorListener(): ExecutorListener {
    return {
      started: (task, worker, at) => this.onStarted(task, worker, at),
      progress: (task, progress, message) => {
        if (isTerminal(task.state)) return;
        task.progress = progress;
        task.progressMessage = message;
        this.writer.task(task);
        this.emit('task', task);
      },
      log: (line) => this.appendLog(line),
      finished: (task, outcome) => this.onFinished(task, outcome),
    };
  }

  private onStarted(task: Task, worker: string, at: number): void {
    if (task.onExecutor && !task.attemptOpen) this.openAttempt(task, worker, at);
  }

  private openAttempt(task: Task, worker: string, at: number): void {
    task.attemptOpen = true;
    task.attempts++;
    task.startedAt = at;
    task.finishedAt = null;
    task.worker = worker;
    task.progress = null;
    task.progressMessage = null;
    const attempt: TaskAttempt = { attempt: task.attempts, startedAt: at, finishedAt: null, worker, state: 'running' };
    task.history.push(attempt);
    if (task.state === 'queued') this.setState(task, task.stopReason ? 'cancelling' : 'running');
    if (task.timeoutMs !== null && task.stopReason === null) {
      task.timers.timeout = setTimeout(() => this.stopTask(task, 'timeout'), task.timeoutMs);
    }
    this.writer.task(task);
    this.writer.attempt(task, attempt);
    this.emit('task', task);
  }

  private onFinished(task: Task, outcome: ExecutorOutcome): void {
    if (isTerminal(task.state) || task.state === 'interrupted') {
      // Withdrawn before it began and already ended: only its place on the executor is freed.
      this.leaveExecutor(task);
      return;
    }
    // The worker's start message may not have arrived before its outcome.
    if (outcome.type !== 'returned' && !task.attemptOpen) this.openAttempt(task, outcome.worker, outcome.startedAt);
    this.leaveExecutor(task);
    if (outcome.type === 'returned') {
      this.discardOpenAttempt(task);
      if (task.stopReason) this.finish(task, stoppedState(task.stopReason), null);
      else {
        this.setState(task, 'queued');
        this.enqueue(task);
        this.emit('task', task);
        this.writer.task(task);
      }
      return;
    }
    task.attemptOpen = false;
    // The worker measured the attempt precisely; the start event may have been coarser.
    const attempt = task.history.at(-1)!;
    attempt.startedAt = task.startedAt = outcome.startedAt;
    attempt.finishedAt = outcome.finishedAt;
    attempt.worker = task.worker = outcome.worker;

    if (outcome.type === 'succeeded') {
      task.result = outcome.result;
      task.error = null;
      this.finish(task, 'succeeded', null, outcome.finishedAt);
    } else if (outcome.type === 'failed') {
      this.failOrRetry(task, 'failed', outcome.error, outcome.finishedAt);
    } else if (task.stopReason === 'timeout') {
      const error = { code: 'TIMED_OUT', message: `timed out after ${task.timeoutMs} ms` };
      this.failOrRetry(task, 'timed_out', error, outcome.finishedAt);
    } else {
      const reason = task.stopReason ?? 'cancel';
      this.finish(task, stoppedState(reason), stopError(reason), outcome.finishedAt);
    }
  }

  private leaveExecutor(task: Task): void {
    task.onExecutor = false;
    clearTimeout(task.timers.timeout);
    clearTimeout(task.timers.grace);
    task.job.active--;
    this.releaseHeld(task.job);
    this.schedulePump();
  }

  /** Its batch announced it, but it never ran: that was no attempt. */
  private discardOpenAttempt(task: Task): void {
    if (!task.attemptOpen) return;
    task.attemptOpen = false;
    task.attempts--;
    task.history.pop();
    task.startedAt = task.history.at(-1)?.startedAt ?? null;
  }

  private failOrRetry(task: Task, state: 'failed' | 'timed_out', error: TaskError, at: number): void {
    const attempt = task.history.at(-1);
    if (task.attempts <= task.retries && !this.closing) {
      if (attempt) attempt.state = state;
      if (attempt) this.writer.attempt(task, attempt);
      task.error = error;
      task.stopReason = null;
      this.setState(task, 'queued');
      task.queuedAt = at;
      const backoff = Math.min(MAX_BACKOFF_MS, task.retryBackoffMs * 2 ** (task.attempts - 1));
      task.timers.retry = setTimeout(() => {
        task.timers.retry = undefined;
        if (task.state === 'queued') this.enqueue(task);
      }, backoff);
      this.writer.task(task);
      this.emit('task', task);
      return;
    }
    this.finish(task, state, error, at);
  }

  private releaseHeld(job: Job): void {
    while (job.held.length > 0 && !job.atCap) {
      const task = job.held.shift()!;
      if (task.state === 'queued') this.ready[task.executor].push(task);
    }
  }

  private setState(task: Task, state: TaskState): void {
    this.counts[task.state]--;
    this.counts[state]++;
    task.state = state;
  }

  /**
   * Ends a task for good and carries the consequences: dependents run or are skipped, a
   * fail-fast job stops, a job whose last task ended settles.
   */
  private finish(first: Task, state: TaskState, error: TaskError | null, at = Date.now()): void {
    const work: Array<{ task: Task; state: TaskState; error: TaskError | null }> = [{ task: first, state, error }];
    while (work.length > 0) {
      const { task, state, error } = work.pop()!;
      if (isTerminal(task.state) || task.state === 'interrupted') continue;
      task.clearTimers();
      this.setState(task, state);
      task.finishedAt = at;
      task.stopReason = null;
      if (error) task.error = error;
      const attempt = task.history.at(-1);
      if (attempt && attempt.finishedAt !== null && attempt.state === 'running') {
        attempt.state = state;
        this.writer.attempt(task, attempt);
      }
      if (state === 'succeeded') task.progress = 1;
      this.completions++;
      task.job.unfinished--;
      this.writer.task(task);
      this.emit('task', task);

      for (const dependent of task.dependents) {
        if (dependent.state !== 'queued' || dependent.onExecutor) continue;
        if (state === 'succeeded') {
          // One not yet live is queued when it goes live.
          if (--dependent.waitingOn === 0 && dependent.live) this.enqueue(dependent);
        } else {
          const skip = { code: 'DEPENDENCY_NOT_MET', message: `dependency "${task.id}" ended ${state}` };
          work.push({ task: dependent, state: 'skipped', error: skip });
        }
      }
      if ((state === 'failed' || state === 'timed_out') && task.job.onFailure === 'fail-fast') {
        for (const other of task.job.tasks) if (other !== task) this.stopTask(other, 'fail-fast');
      }
      this.settleJobIfDone(task.job);
    }
  }

  private settleJobIfDone(job: Job): void {
    if (job.unfinished > 0 || job.state !== 'running') return;
    job.state = job.outcome();
    job.finishedAt = Date.now();
    this.writer.job(job);
    this.emit('job', job);
    job.resolveSettled();
    this.finishedJobs.push(job);
    this.finishedTasksHeld += job.tasks.length;
    this.releaseFinishedJobs();
  }

  /** Lets go of the oldest finished jobs beyond the budget: their records stay in the store. */
  private releaseFinishedJobs(): void {
    while (this.finishedTasksHeld > this.keepFinishedTasks && this.finishedJobs.length > 0) {
      const job = this.finishedJobs.shift()!;
      this.finishedTasksHeld -= job.tasks.length;
      // Its tasks (and their logs) are reached through it: letting go of it lets go of them.
      this.jobsById.delete(job.id);
    }
  }

  /** A live task of a job this engine holds, by `<jobId>:<taskId>` key. */
  private liveTask(key: string): Task | undefined {
    const id = splitTaskKey(key);
    const task = id ? this.jobsById.get(id.jobId)?.byId.get(id.taskId) : undefined;
    return task?.live ? task : undefined;
  }

  /** Every live task, job by job. */
  private *liveTasks(): Generator<Task> {
    for (const job of this.jobsById.values()) for (const task of job.tasks) if (task.live) yield task;
  }

  /** Records of a job this engine let go of (or never held), from the store. */
  private storedJob(jobId: string): { job: JobRecord; tasks: StoredTask[] } | null {
    this.writer.flush();
    const job = this.store.getJob(jobId);
    return job ? { job, tasks: this.store.tasksOfJob(jobId) } : null;
  }

  // ---- cancellation ----------------------------------------------------------------------

  /** Cancels one task (by `<jobId>:<taskId>` key). Returns false when it had already ended. */
  cancelTask(key: string): boolean {
    const task = this.liveTask(key);
    if (!task) throw new ThreadlineError('NOT_FOUND', `no task ${key} in this engine`);
    return this.stopTask(task, 'cancel');
  }

  /** Cancels every unfinished task of a job. Returns how many were asked to stop. */
  cancelJob(jobId: string): number {
    const job = this.jobsById.get(jobId);
    if (!job) throw new ThreadlineError('NOT_FOUND', `no job ${jobId} in this engine`);
    let n = 0;
    for (const task of job.tasks) if (this.stopTask(task, 'cancel')) n++;
    return n;
  }

  cancelAll(): number {
    let n = 0;
    for (const job of this.jobsById.values()) if (job.state === 'running') n += this.cancelJob(job.id);
    return n;
  }

  private stopTask(task: Task, reason: StopReason): boolean {
    if (isTerminal(task.state) || task.state === 'interrupted') return false;
    if (task.onExecutor && !this.withdraw(task)) return this.stopRunning(task, reason);
    if (reason === 'shutdown') {
      task.clearTimers();
      this.setState(task, 'interrupted');
      task.job.unfinished--;
      this.writer.task(task);
      this.emit('task', task);
      return true;
    }
    this.finish(task, stoppedState(reason), stopError(reason));
    return true;
  }

  private executorOf(task: Task): Executor {
    return task.executor === 'pool' ? this.pool : this.loop;
  }

  /** A task handed to the pool but not begun is, from the outside, still queued: it stops at once. */
  private withdraw(task: Task): boolean {
    if (task.stopReason !== null || !this.executorOf(task).withdraw(task)) return false;
    this.discardOpenAttempt(task);
    if (task.state !== 'queued') this.setState(task, 'queued');
    return true;
  }

  /** Soft first (the handler's cancel flag), then, after the grace period, the thread ends. */
  private stopRunning(task: Task, reason: StopReason): boolean {
    if (task.stopReason !== null) {
      // Asked again while stopping: a cancel or shutdown does not wait out the grace period twice.
      if (reason !== 'timeout' && task.stopReason === 'timeout') task.stopReason = reason;
      return true;
    }
    const executor = this.executorOf(task);
    task.stopReason = reason;
    clearTimeout(task.timers.timeout);
    if (task.state === 'running') {
      this.setState(task, 'cancelling');
      this.writer.task(task);
      this.emit('task', task);
    }
    executor.requestStop(task);
    if (this.cancelGraceMs <= 0) executor.terminate(task);
    else {
      task.timers.grace = setTimeout(() => {
        if (task.onExecutor) executor.terminate(task);
      }, this.cancelGraceMs);
    }
    return true;
  }

  /** Runs a finished task again (and whatever was skipped because of it). */
  retryTask(key: string): boolean {
    const task = this.liveTask(key);
    if (!task) throw new ThreadlineError('NOT_FOUND', `no task ${key} in this engine`);
    if (!isTerminal(task.state) || task.state === 'succeeded' || this.closing) return false;
    const job = task.job;
    // What must run again with it: the unsuccessful tasks it depends on (else it would wait on
    // them forever) and the tasks skipped because of any of these.
    const again = new Set<Task>();
    const stack = [task];
    while (stack.length > 0) {
      const t = stack.pop()!;
      if (again.has(t)) continue;
      again.add(t);
      for (const id of t.dependsOn) {
        const dep = job.byId.get(id)!;
        if (isTerminal(dep.state) && dep.state !== 'succeeded') stack.push(dep);
      }
      for (const d of t.dependents) if (d.state === 'skipped') stack.push(d);
    }
    for (const t of again) {
      this.setState(t, 'queued');
      t.error = null;
      t.result = null;
      t.finishedAt = null;
      t.queuedAt = Date.now();
      job.unfinished++;
    }
    for (const t of again) {
      t.waitingOn = t.dependsOn.filter((id) => job.byId.get(id)!.state !== 'succeeded').length;
      this.writer.task(t);
      this.emit('task', t);
      if (t.waitingOn === 0) this.enqueue(t);
    }
    if (job.state !== 'running') {
      const held = this.finishedJobs.indexOf(job);
      if (held >= 0) {
        this.finishedJobs.splice(held, 1);
        this.finishedTasksHeld -= job.tasks.length;
      }
      job.state = 'running';
      job.finishedAt = null;
      job.settled = new Promise((resolve) => (job.resolveSettled = resolve));
      this.writer.job(job);
      this.emit('job', job);
    }
    return true;
  }

  // ---- reading ---------------------------------------------------------------------------

  /** Resolves with the job's record once every task of it has ended (or the engine closed). */
  async waitForJob(jobId: string): Promise<JobRecord> {
    const job = this.jobsById.get(jobId);
    if (!job) {
      const stored = this.storedJob(jobId)?.job;
      if (stored && stored.state !== 'running') return stored;
      throw new ThreadlineError('NOT_FOUND', `no job ${jobId} in this engine`);
    }
    await job.settled;
    return job.toRecord();
  }

  /** Resolves once every state change made so far is written to the store (durable). */
  whenStored(): Promise<void> {
    return this.writer.drained();
  }

  /** The jobs this engine holds (submitted or resumed since it opened), oldest first. */
  jobs(): JobRecord[] {
    return [...this.jobsById.values()].map((job) => job.toRecord());
  }

  /** A job of this engine; one it let go of comes from the store. */
  job(jobId: string): JobRecord | null {
    return this.jobsById.get(jobId)?.toRecord() ?? this.storedJob(jobId)?.job ?? null;
  }

  tasksOfJob(jobId: string): TaskRecord[] {
    const job = this.jobsById.get(jobId);
    if (job) return job.tasks.map((task) => task.toRecord());
    return (this.storedJob(jobId)?.tasks ?? []).map(taskRecordOf);
  }

  task(key: string): TaskRecord | null {
    const live = this.liveTask(key);
    if (live) return live.toRecord();
    const id = splitTaskKey(key);
    const stored = id ? this.storedJob(id.jobId)?.tasks.find((task) => task.id === id.taskId) : undefined;
    return stored ? taskRecordOf(stored) : null;
  }

  attemptsOf(key: string): TaskAttempt[] {
    const live = this.liveTask(key);
    if (live) return live.history.map((a) => ({ ...a }));
    const id = splitTaskKey(key);
    if (!id) return [];
    this.writer.flush();
    return this.store.attemptsOfJob(id.jobId).get(id.taskId) ?? [];
  }

  /** A task's newest log lines (a note first when some were dropped), from memory or the store. */
  logsOf(key: string): TaskLogLine[] {
    const live = this.liveTask(key);
    const inMemory = live ? taskLogInMemory(key, live) : null;
    if (inMemory) return inMemory;
    const id = splitTaskKey(key);
    if (!id) return [];
    this.writer.flush();
    return this.store.logsOfTask(id.jobId, id.taskId);
  }

  private appendLog(line: TaskLogLine): void {
    const task = this.liveTask(line.taskKey);
    if (task) {
      appendTaskLog(task, line);
      this.writer.log(task, task.logCount, line);
    }
    this.emit('log', line);
  }

  /** For each job this engine holds, how many of its tasks are in each state. */
  countsByJob(): Map<string, Partial<Record<TaskState, number>>> {
    const byJob = new Map<string, Partial<Record<TaskState, number>>>();
    for (const job of this.jobsById.values()) {
      const counts: Partial<Record<TaskState, number>> = {};
      for (const task of job.tasks) counts[task.state] = (counts[task.state] ?? 0) + 1;
      byJob.set(job.id, counts);
    }
    return byJob;
  }

  stateCounts(): Record<TaskState, number> {
    return { ...this.counts };
  }

  telemetryHistory(): TelemetrySample[] {
    return this.telemetry.history();
  }

  /** Takes a telemetry sample now (it is also emitted and kept). */
  sampleTelemetry(): TelemetrySample {
    return this.telemetry.sample();
  }

  /**
   * A consistent picture of everything this engine holds, to start a view from. Views leave
   * out results (`withResults: false`, they can be large) and fetch them per task.
   */
  snapshot(options: { withResults?: boolean } = {}): EngineSnapshot {
    const withResults = options.withResults ?? true;
    const attempts: Record<string, TaskAttempt[]> = {};
    const tasks: TaskRecord[] = [];
    for (const task of this.liveTasks()) {
      const record = task.toRecord();
      if (!withResults) record.result = null;
      tasks.push(record);
      if (task.history.length > 0) attempts[task.key] = task.history.map((a) => ({ ...a }));
    }
    return {
      at: Date.now(),
      jobs: [...this.jobsById.values()].map((job) => job.toRecord()),
      tasks,
      attempts,
      telemetry: this.telemetry.history(),
      counts: this.stateCounts(),
      notices: this.notices(),
    };
  }

  // ---- shutdown --------------------------------------------------------------------------

  private assertOpen(): void {
    if (this.closing) throw new ThreadlineError('ENGINE_CLOSED', 'the engine is shutting down');
  }

  get isClosing(): boolean {
    return this.closing;
  }

  /**
   * Stops admitting, asks running tasks to stop, waits up to `deadlineMs`, ends the rest,
   * and flushes the store. Unfinished tasks end `interrupted`, so `resume` can finish them.
   */
  shutdown(options: { deadlineMs?: number } = {}): Promise<void> {
    this.closed ??= this.close(options.deadlineMs ?? 5000);
    return this.closed;
  }

  private async close(deadlineMs: number): Promise<void> {
    this.closing = true;
    await Promise.allSettled(this.admissions);
    const all = [...this.liveTasks()];
    const running = all.filter((task) => task.onExecutor);
    for (const task of all) if (!task.onExecutor) this.stopTask(task, 'shutdown');
    for (const task of running) this.stopTask(task, 'shutdown');
    const deadline = Date.now() + deadlineMs;
    while (running.some((task) => task.onExecutor) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    for (const task of running) {
      if (task.onExecutor) this.executorOf(task).terminate(task);
    }
    while (running.some((task) => task.onExecutor)) await new Promise((resolve) => setTimeout(resolve, 5));
    for (const job of this.jobsById.values()) {
      if (job.state === 'running') {
        job.state = 'interrupted';
        this.writer.job(job);
        this.emit('job', job);
        job.resolveSettled();
      }
    }
    this.telemetry.stop();
    await Promise.all([this.pool.close(), this.loop.close(), this.checkpointer.close()]);
    this.writer.flush();
    this.store.releaseOwnership();
    this.store.close();
    this.ownership.release();
  }
}

function stoppedState(reason: StopReason): TaskState {
  if (reason === 'timeout') return 'timed_out';
  if (reason === 'shutdown') return 'interrupted';
  return 'cancelled';
}

function stopError(reason: StopReason): TaskError {
  if (reason === 'fail-fast') return { code: 'CANCELLED', message: 'cancelled because another task of the job failed (fail-fast)' };
  if (reason === 'shutdown') return { code: 'INTERRUPTED', message: 'interrupted by shutdown' };
  return { code: 'CANCELLED', message: 'cancelled' };
}
