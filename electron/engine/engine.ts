import { EventEmitter } from 'node:events';
import type { ApiSnapshot, HostNotice } from '../../contract/api.js';
import type { JobSpec } from '../../contract/job-spec.js';
import type { JobRecord, TaskAttempt, TaskLogLine, TaskRecord } from '../../contract/records.js';
import type { TaskState } from '../../contract/task-states.js';
import type { EngineEvents } from './engine-events.js';
import { DEFAULTS, type EngineOptions } from './engine-options.js';
import { assembleParts, type EngineParts } from './engine-parts.js';
import { ThreadlineError } from './errors.js';
import { cancelStoredJob } from './interrupted-jobs.js';
import type { JobRegistry } from './job-registry.js';
import type { JobStore } from './job-store.js';
import { closeOwnedStore, openOwnedStore, type OwnedStore } from './owned-store.js';
import { defaultCheckpointFile } from './paths.js';
import { PoolExecutor } from './pool-executor.js';
import { StoreCheckpointer } from './store-checkpointer.js';
import type { TelemetrySample } from './telemetry.js';

export type { EngineOptions, ExecutorFactory } from './engine-options.js';

/** What a host starts a view from: the contract's snapshot, without the wire's `type` and `seq`. */
export type EngineSnapshot = ApiSnapshot;

/**
 * The orchestrator, as its hosts see it: jobs in, records and events out. It knows nothing of
 * its host. The work is done by its parts: admission, the scheduler, the task life cycle, the
 * job registry (the read model) and the executors.
 */
export class Engine extends EventEmitter<EngineEvents> {
  readonly store: JobStore;
  private readonly owned: OwnedStore;
  readonly interruptedOnOpen: string[];
  readonly checkpointer: StoreCheckpointer;
  private readonly parts: EngineParts;
  /** Admissions under way; a shutdown waits for them to end or give up. */
  private readonly admissions = new Set<Promise<unknown>>();
  private closing = false;
  private closed: Promise<void> | null = null;

  constructor(options: EngineOptions) {
    super();
    this.owned = openOwnedStore(options.dataDir);
    this.store = this.owned.store;
    this.interruptedOnOpen = this.owned.interrupted;
    const checkpointFile = options.checkpointFile === undefined ? defaultCheckpointFile() : options.checkpointFile;
    this.checkpointer = new StoreCheckpointer(this.store, {
      threadFile: checkpointFile,
      intervalMs: options.checkpointIntervalMs ?? DEFAULTS.checkpointIntervalMs,
      startAfterMs: options.checkpointThreadDelayMs ?? 0,
    });
    this.parts = assembleParts(this.store, options, { events: this, closing: () => this.closing, assertOpen: () => this.assertOpen() });
    this.parts.telemetry.start();
  }

  /** The default pool executor (its threads are what tests and benchmarks look at). */
  get pool(): PoolExecutor {
    if (!(this.parts.executors.pool instanceof PoolExecutor)) throw new Error('this engine runs pool kinds on another executor');
    return this.parts.executors.pool;
  }

  /** Conditions of this engine people should see: today, a store that cannot be written. */
  notices(): HostNotice[] {
    return this.parts.notices();
  }

  // ---- commands --------------------------------------------------------------------------

  /**
   * Admits a validated job. A big one is admitted in slices of a few milliseconds, so the loop
   * keeps serving views and workers meanwhile; it resolves once every task is durable and live.
   */
  async submitJob(spec: JobSpec, baseDir: string): Promise<JobRecord> {
    this.assertOpen();
    const admission = this.parts.admission.submit(spec, baseDir);
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
    return this.parts.admission.resume(jobIds).map((job) => job.toRecord());
  }

  /** Cancels one task (by `<jobId>:<taskId>` key). Returns false when it had already ended. */
  cancelTask(key: string): boolean {
    const task = this.parts.registry.liveTask(key);
    if (!task) throw new ThreadlineError('NOT_FOUND', `no task ${JSON.stringify(key)} in this engine`);
    return this.parts.lifeCycle.stop(task, 'cancel');
  }

  /**
   * Cancels every unfinished task of a job, and returns how many were asked to stop. An
   * interrupted job this engine has not resumed is cancelled in the store.
   */
  cancelJob(jobId: string): number {
    const job = this.parts.registry.get(jobId);
    if (job) {
      let n = 0;
      for (const task of job.tasks) if (this.parts.lifeCycle.stop(task, 'cancel')) n++;
      return n;
    }
    this.parts.writer.flush();
    if (!this.store.getJob(jobId)) throw new ThreadlineError('NOT_FOUND', `no job ${JSON.stringify(jobId)} in this engine`);
    return cancelStoredJob(this.store, jobId);
  }

  cancelAll(): number {
    let n = 0;
    for (const job of [...this.parts.registry.all()]) if (job.state === 'running') n += this.cancelJob(job.id);
    return n;
  }

  /** Runs a finished task again (and whatever was skipped because of it). */
  retryTask(key: string): boolean {
    const task = this.parts.registry.liveTask(key);
    if (!task) throw new ThreadlineError('NOT_FOUND', `no task ${JSON.stringify(key)} in this engine`);
    return this.parts.lifeCycle.retry(task);
  }

  // ---- reading ---------------------------------------------------------------------------

  /** Resolves with the job's record once every task of it has ended (or the engine closed). */
  waitForJob(jobId: string): Promise<JobRecord> {
    return this.parts.registry.waitFor(jobId);
  }

  /** Resolves once every state change made so far is written to the store (durable). */
  whenStored(): Promise<void> {
    return this.parts.writer.drained();
  }

  /** The jobs this engine holds (submitted or resumed since it opened), oldest first. */
  jobs(): JobRecord[] {
    return this.parts.registry.jobs();
  }

  /** A job of this engine; one it let go of comes from the store. */
  job(jobId: string): JobRecord | null {
    return this.parts.registry.job(jobId);
  }

  /** The newest jobs of the store and of this engine, with their task counts by state. */
  /** The newest jobs of the store and of this engine whose name or id holds `search`, with their task counts by state. */
  jobHistory(limit: number, search = ''): ReturnType<JobRegistry['history']> {
    return this.parts.registry.history(limit, search);
  }

  tasksOfJob(jobId: string): TaskRecord[] {
    return this.parts.registry.tasksOfJob(jobId);
  }

  task(key: string): TaskRecord | null {
    return this.parts.registry.task(key);
  }

  attemptsOf(key: string): TaskAttempt[] {
    return this.parts.registry.attemptsOf(key);
  }

  /** Every attempt of each task of a job, by task key (a past job's in one read of the store). */
  attemptsOfJob(jobId: string): Map<string, TaskAttempt[]> {
    return this.parts.registry.attemptsOfJob(jobId);
  }

  /** A task's newest log lines (a note first when some were dropped), from memory or the store. */
  logsOf(key: string): TaskLogLine[] {
    return this.parts.registry.logsOf(key);
  }

  /** For each job this engine holds, how many of its tasks are in each state. */
  countsByJob(): Map<string, Partial<Record<TaskState, number>>> {
    return this.parts.registry.countsByJob();
  }

  stateCounts(): Record<TaskState, number> {
    return { ...this.parts.lifeCycle.counts };
  }

  /** Threads the pool runs now (none when pool kinds run on another executor). */
  poolThreads(): number {
    return this.parts.executors.pool instanceof PoolExecutor ? this.parts.executors.pool.threadCount : 0;
  }

  telemetryHistory(): TelemetrySample[] {
    return this.parts.telemetry.history();
  }

  /** Takes a telemetry sample now (it is also emitted and kept). */
  sampleTelemetry(): TelemetrySample {
    return this.parts.telemetry.sample();
  }

  /** Everything this engine holds, to start a view from. Views leave out results (`withResults: false`). */
  snapshot(options: { withResults?: boolean } = {}): EngineSnapshot {
    const around = { telemetry: this.parts.telemetry.history(), counts: this.stateCounts(), notices: this.notices() };
    return this.parts.registry.snapshot(options.withResults ?? true, around);
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
    this.parts.scheduler.stop();
    await Promise.allSettled(this.admissions);
    const all = [...this.parts.registry.liveTasks()];
    const running = all.filter((task) => task.onExecutor);
    for (const task of all) if (!task.onExecutor) this.parts.lifeCycle.stop(task, 'shutdown');
    for (const task of running) this.parts.lifeCycle.stop(task, 'shutdown');
    const deadline = Date.now() + deadlineMs;
    while (running.some((task) => task.onExecutor) && Date.now() < deadline) await pause(10);
    for (const task of running) if (task.onExecutor) this.parts.scheduler.executorOf(task).terminate(task);
    while (running.some((task) => task.onExecutor)) await pause(5);
    for (const job of this.parts.registry.all()) if (job.state === 'running') this.parts.lifeCycle.transitionJob(job, 'interrupted', job.finishedAt);
    this.parts.telemetry.stop();
    await Promise.all([this.parts.executors.pool.close(), this.parts.executors.loop.close(), this.checkpointer.close()]);
    this.parts.ledger.unmarkEnded();
    this.parts.writer.flush();
    closeOwnedStore(this.owned);
  }
}

/** The engine as a host sees it: commands, records and read-only views; not its store or executors. */
export type HostEngine = Omit<Engine, 'store' | 'checkpointer' | 'pool' | 'interruptedOnOpen'>;

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
