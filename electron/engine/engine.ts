import { EventEmitter } from 'node:events';
import { existsSync } from 'node:fs';
import type { ResourceLimits } from 'node:worker_threads';
import type { ApiSnapshot, HostNotice } from '../../contract/api.js';
import type { JobSpec } from '../../contract/job-spec.js';
import type { JobRecord, TaskAttempt, TaskLogLine, TaskRecord } from '../../contract/records.js';
import type { TaskState } from '../../contract/task-states.js';
import { Admission } from './admission.js';
import type { CallServiceMap } from './call-services.js';
import { CrashLedger } from './crash-ledger.js';
import type { EngineEvents } from './engine-events.js';
import { ThreadlineError } from './errors.js';
import type { Executor, ExecutorListener } from './executor.js';
import { cancelStoredJob } from './interrupted-jobs.js';
import { JobRegistry } from './job-registry.js';
import { JobStore, storeWriteError } from './job-store.js';
import { TaskLifeCycle } from './life-cycle.js';
import { LoopExecutor } from './loop-executor.js';
import type { MemoryLimits } from './memory-watch.js';
import { defaultCheckpointFile, defaultWorkerFile } from './paths.js';
import { PoolExecutor } from './pool-executor.js';
import { Scheduler } from './scheduler.js';
import { StoreCheckpointer } from './store-checkpointer.js';
import { StoreLock } from './store-lock.js';
import { StoreWriter } from './store-writer.js';
import { Telemetry, type TelemetrySample } from './telemetry.js';

/** Builds an executor that reports to the engine's life cycle. */
export type ExecutorFactory = (listener: ExecutorListener) => Executor;

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
  /** Where tasks run; default: a piscina pool for sync kinds, the event loop for async kinds. */
  executors?: { pool?: ExecutorFactory; loop?: ExecutorFactory };
  /** How long a cancelled running task may take to stop by itself before its thread is ended. */
  cancelGraceMs?: number;
  /** Crashes of the process a task may be running at before a resume fails it (`PROCESS_CRASHED`). Default 2. */
  crashBudget?: number;
  telemetryIntervalMs?: number;
  /** Telemetry samples kept in memory. */
  telemetryHistory?: number;
  /** How often batched state changes are written to the store. */
  storeFlushMs?: number;
  /** Tasks of finished jobs kept in memory (newest jobs first); older ones are read from the store. Default 10,000. */
  keepFinishedTasks?: number;
  /** The compiled store checkpoint thread; default: found next to the engine; null: checkpoints on the main connection. */
  checkpointFile?: string | null;
  /** How often that thread folds the store's write-ahead log into the file. */
  checkpointIntervalMs?: number;
  /** Async services pool tasks reach with `ctx.call(name, ...args)`, besides `fetch` and `sleep`. */
  services?: CallServiceMap;
}

export type { EngineEvents } from './engine-events.js';

/** What a host starts a view from: the contract's snapshot, without the wire's `type` and `seq`. */
export type EngineSnapshot = ApiSnapshot;

const DEFAULTS = {
  loopConcurrency: 64,
  cancelGraceMs: 2000,
  crashBudget: 2,
  telemetryIntervalMs: 500,
  telemetryHistory: 1200,
  storeFlushMs: 100,
  checkpointIntervalMs: 500,
  keepFinishedTasks: 10_000,
  resourceLimits: { maxOldGenerationSizeMb: 2048 } satisfies ResourceLimits,
};
const TELEMETRY_RETENTION_MS = 7 * 24 * 3600 * 1000;

/**
 * The orchestrator, as its hosts see it: jobs in, records and events out. It knows nothing of
 * its host. The work is done by its parts: admission, the scheduler, the task life cycle, the
 * job registry (the read model) and the executors.
 */
export class Engine extends EventEmitter<EngineEvents> {
  readonly store: JobStore;
  /** The data directory is this engine's while the operating system says so. */
  private readonly ownership: StoreLock;
  readonly interruptedOnOpen: string[];
  readonly checkpointer: StoreCheckpointer;
  private readonly executors: { pool: Executor; loop: Executor };
  private readonly writer: StoreWriter;
  private readonly telemetry: Telemetry;
  private readonly registry: JobRegistry;
  // What ended before a suspect runs alone is stored first: if it kills the process, nothing else runs again.
  private readonly scheduler = new Scheduler(() => this.writer.flush());
  private readonly lifeCycle: TaskLifeCycle;
  private readonly admission: Admission;
  /** Admissions under way; a shutdown waits for them to end or give up. */
  private readonly admissions = new Set<Promise<unknown>>();
  private closing = false;
  private closed: Promise<void> | null = null;
  /** Set while the store cannot be written: no task starts until it can record what runs. */
  private storeNotice: HostNotice | null = null;

  constructor(options: EngineOptions) {
    super();
    const poolFactory = options.executors?.pool ?? defaultPool(options);
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
    const checkpointFile = options.checkpointFile === undefined ? defaultCheckpointFile() : options.checkpointFile;
    this.checkpointer = new StoreCheckpointer(this.store, {
      threadFile: checkpointFile,
      intervalMs: options.checkpointIntervalMs ?? DEFAULTS.checkpointIntervalMs,
    });
    this.writer = new StoreWriter(this.store, options.storeFlushMs ?? DEFAULTS.storeFlushMs, {
      failed: (error) => this.onStoreHealth({ code: error.code === 'DISK_FULL' ? 'DISK_FULL' : 'STORE_WRITE_FAILED', message: error.message, since: Date.now() }),
      recovered: () => this.onStoreHealth(null),
    });
    this.registry = new JobRegistry(this.store, this.writer, options.keepFinishedTasks ?? DEFAULTS.keepFinishedTasks);
    const ledger = new CrashLedger(this.store.db);
    this.lifeCycle = new TaskLifeCycle({
      writer: this.writer, events: this, scheduler: this.scheduler, registry: this.registry, ledger,
      cancelGraceMs: options.cancelGraceMs ?? DEFAULTS.cancelGraceMs, closing: () => this.closing,
    });
    const listener = this.lifeCycle.listener((line) => {
      this.registry.appendLog(line);
      this.emit('log', line);
    });
    const loopConcurrency = options.loopConcurrency ?? DEFAULTS.loopConcurrency;
    this.executors = {
      pool: poolFactory(listener),
      loop: (options.executors?.loop ?? ((l) => new LoopExecutor(loopConcurrency, l)))(listener),
    };
    this.scheduler.attach(this.executors);
    this.admission = new Admission({
      store: this.store, writer: this.writer, events: this, registry: this.registry, lifeCycle: this.lifeCycle,
      scheduler: this.scheduler, ledger, crashBudget: options.crashBudget ?? DEFAULTS.crashBudget,
      assertOpen: () => this.assertOpen(),
    });
    const counts = this.lifeCycle.counts;
    this.telemetry = new Telemetry(
      {
        workers: () => this.executors.pool.workerStats?.() ?? [],
        queued: () => counts.queued,
        running: () => counts.running + counts.cancelling,
        takeCompletions: () => {
          const n = this.lifeCycle.completions;
          this.lifeCycle.completions = 0;
          return n;
        },
      },
      options.telemetryIntervalMs ?? DEFAULTS.telemetryIntervalMs,
      options.telemetryHistory ?? DEFAULTS.telemetryHistory,
      (sample) => this.onTelemetry(sample),
    );
    this.telemetry.start();
  }

  /** The default pool executor (its threads are what tests and benchmarks look at). */
  get pool(): PoolExecutor {
    if (!(this.executors.pool instanceof PoolExecutor)) throw new Error('this engine runs pool kinds on another executor');
    return this.executors.pool;
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
    this.scheduler.hold(notice !== null);
    this.emit('notices', this.notices());
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

  // ---- commands --------------------------------------------------------------------------

  /**
   * Admits a validated job. A big one is admitted in slices of a few milliseconds, so the loop
   * keeps serving views and workers meanwhile; it resolves once every task is durable and live.
   */
  async submitJob(spec: JobSpec, baseDir: string): Promise<JobRecord> {
    this.assertOpen();
    const admission = this.admission.submit(spec, baseDir);
    this.admissions.add(admission);
    try {
      return (await admission).toRecord();
    } finally {
      this.admissions.delete(admission);
    }
  }

  /** Runs the unfinished tasks of interrupted jobs (all of them, or those named) to the end. */
  resumeInterrupted(jobIds?: readonly string[]): JobRecord[] {
    this.assertOpen();
    return this.admission.resume(jobIds).map((job) => job.toRecord());
  }

  /** Cancels one task (by `<jobId>:<taskId>` key). Returns false when it had already ended. */
  cancelTask(key: string): boolean {
    const task = this.registry.liveTask(key);
    if (!task) throw new ThreadlineError('NOT_FOUND', `no task ${key} in this engine`);
    return this.lifeCycle.stop(task, 'cancel');
  }

  /**
   * Cancels every unfinished task of a job, and returns how many were asked to stop. An
   * interrupted job this engine has not resumed is cancelled in the store.
   */
  cancelJob(jobId: string): number {
    const job = this.registry.get(jobId);
    if (job) {
      let n = 0;
      for (const task of job.tasks) if (this.lifeCycle.stop(task, 'cancel')) n++;
      return n;
    }
    this.writer.flush();
    if (!this.store.getJob(jobId)) throw new ThreadlineError('NOT_FOUND', `no job ${jobId} in this engine`);
    return cancelStoredJob(this.store, jobId);
  }

  cancelAll(): number {
    let n = 0;
    for (const job of [...this.registry.all()]) if (job.state === 'running') n += this.cancelJob(job.id);
    return n;
  }

  /** Runs a finished task again (and whatever was skipped because of it). */
  retryTask(key: string): boolean {
    const task = this.registry.liveTask(key);
    if (!task) throw new ThreadlineError('NOT_FOUND', `no task ${key} in this engine`);
    return this.lifeCycle.retry(task);
  }

  // ---- reading ---------------------------------------------------------------------------

  /** Resolves with the job's record once every task of it has ended (or the engine closed). */
  async waitForJob(jobId: string): Promise<JobRecord> {
    const job = this.registry.get(jobId);
    if (!job) {
      const stored = this.registry.storedJob(jobId)?.job;
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
    return this.registry.jobs();
  }

  /** A job of this engine; one it let go of comes from the store. */
  job(jobId: string): JobRecord | null {
    return this.registry.job(jobId);
  }

  /** The newest jobs of the store and of this engine, with their task counts by state. */
  jobHistory(limit: number, search = ''): ReturnType<JobRegistry['history']> {
    return this.registry.history(limit, search);
  }

  tasksOfJob(jobId: string): TaskRecord[] {
    return this.registry.tasksOfJob(jobId);
  }

  task(key: string): TaskRecord | null {
    return this.registry.task(key);
  }

  attemptsOf(key: string): TaskAttempt[] {
    return this.registry.attemptsOf(key);
  }

  /** Every attempt of each task of a job, by task key (a past job's in one read of the store). */
  attemptsOfJob(jobId: string): Map<string, TaskAttempt[]> {
    return this.registry.attemptsOfJob(jobId);
  }

  /** A task's newest log lines (a note first when some were dropped), from memory or the store. */
  logsOf(key: string): TaskLogLine[] {
    return this.registry.logsOf(key);
  }

  /** For each job this engine holds, how many of its tasks are in each state. */
  countsByJob(): Map<string, Partial<Record<TaskState, number>>> {
    return this.registry.countsByJob();
  }

  stateCounts(): Record<TaskState, number> {
    return { ...this.lifeCycle.counts };
  }

  /** Threads the pool runs now (none when pool kinds run on another executor). */
  poolThreads(): number {
    return this.executors.pool instanceof PoolExecutor ? this.executors.pool.threadCount : 0;
  }

  telemetryHistory(): TelemetrySample[] {
    return this.telemetry.history();
  }

  /** Takes a telemetry sample now (it is also emitted and kept). */
  sampleTelemetry(): TelemetrySample {
    return this.telemetry.sample();
  }

  /** Everything this engine holds, to start a view from. Views leave out results (`withResults: false`). */
  snapshot(options: { withResults?: boolean } = {}): EngineSnapshot {
    const around = { telemetry: this.telemetry.history(), counts: this.stateCounts(), notices: this.notices() };
    return this.registry.snapshot(options.withResults ?? true, around);
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
    this.scheduler.stop();
    await Promise.allSettled(this.admissions);
    const all = [...this.registry.liveTasks()];
    const running = all.filter((task) => task.onExecutor);
    for (const task of all) if (!task.onExecutor) this.lifeCycle.stop(task, 'shutdown');
    for (const task of running) this.lifeCycle.stop(task, 'shutdown');
    const deadline = Date.now() + deadlineMs;
    while (running.some((task) => task.onExecutor) && Date.now() < deadline) await pause(10);
    for (const task of running) if (task.onExecutor) this.scheduler.executorOf(task).terminate(task);
    while (running.some((task) => task.onExecutor)) await pause(5);
    for (const job of this.registry.all()) if (job.state === 'running') this.lifeCycle.transitionJob(job, 'interrupted', job.finishedAt);
    this.telemetry.stop();
    await Promise.all([this.executors.pool.close(), this.executors.loop.close(), this.checkpointer.close()]);
    this.writer.flush();
    this.store.releaseOwnership();
    this.store.close();
    this.ownership.release();
  }
}

/** The engine as a host sees it: commands, records and read-only views; not its store or executors. */
export type HostEngine = Omit<Engine, 'store' | 'checkpointer' | 'pool' | 'interruptedOnOpen'>;

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The piscina pool, once its compiled worker entry is found. */
function defaultPool(options: EngineOptions): ExecutorFactory {
  const workerFile = options.workerFile ?? defaultWorkerFile();
  if (!existsSync(workerFile)) {
    throw new ThreadlineError('BUILD_MISSING', `the pool worker entry ${workerFile} is missing; run "npm run build:node"`);
  }
  const resourceLimits = options.resourceLimits ?? DEFAULTS.resourceLimits;
  return (listener) =>
    new PoolExecutor({ workerFile, size: options.poolSize, resourceLimits, memoryLimits: options.memoryLimits, services: options.services }, listener);
}
