import type { EventEmitter } from 'node:events';
import type { JobSpec } from '../../contract/job-spec.js';
import { findKind } from '../../contract/kinds/index.js';
import type { JobRecord } from '../../contract/records.js';
import { taskError } from '../../contract/task-error-codes.js';
import { isTerminal } from '../../contract/task-states.js';
import type { CrashLedger } from './crash-ledger.js';
import type { EngineEvents } from './engine-events.js';
import { ThreadlineError } from './errors.js';
import { newJobId, taskKey } from './ids.js';
import { Job } from './job.js';
import type { JobRegistry } from './job-registry.js';
import { storeWriteError, type JobStore } from './job-store.js';
import type { StoredTask } from './store-rows.js';
import type { TaskLifeCycle } from './life-cycle.js';
import type { Scheduler } from './scheduler.js';
import type { StoreWriter } from './store-writer.js';
import { Task } from './task.js';
import { TimeSlicer } from './time-slicer.js';
import { assertTaskTransition } from './transitions.js';

/** Admission works in slices of this many milliseconds, storing at most this many rows per transaction. */
const ADMISSION_SLICE_MS = 4;
const ADMISSION_ROWS = 500;

export interface AdmissionParts {
  store: JobStore;
  writer: StoreWriter;
  events: EventEmitter<EngineEvents>;
  registry: JobRegistry;
  lifeCycle: TaskLifeCycle;
  scheduler: Scheduler;
  ledger: CrashLedger;
  /** Crashes of the process a task may be running at before it is failed instead of run again. */
  crashBudget: number;
  /** Throws when the engine is shutting down. */
  assertOpen: () => void;
}

/**
 * How jobs become live: a submitted one is checked, stored and made live in slices of a few
 * milliseconds; an interrupted one is rebuilt from the store, minus tasks out of crash budget.
 */
export class Admission {
  private seq = 0;

  constructor(private readonly parts: AdmissionParts) {}

  /**
   * Admits a validated job. Every task is durable before any of them starts, and before this
   * resolves; an admission cut short (shutdown, crash) leaves nothing behind.
   */
  async submit(spec: JobSpec, baseDir: string): Promise<Job> {
    const now = Date.now();
    const job = new Job(newJobId(now), spec.name, spec.concurrency ?? null, spec.onFailure, baseDir, now);
    const slicer = new TimeSlicer(ADMISSION_SLICE_MS);
    // Build and check every task before anything is stored.
    for (const s of spec.tasks) {
      const kind = findKind(s.kind);
      if (!kind) throw new ThreadlineError('JOB_FILE_INVALID', `unknown kind "${s.kind}" in task ${s.id}`);
      const task = new Task(
        job, taskKey(job.id, s.id), s.id, this.seq++, s.kind, kind.executor, s.input,
        s.priority, s.timeoutMs ?? null, s.retries, s.retryBackoffMs, s.dependsOn, now,
      );
      if (s.runOn === 'local') task.runOn = 'local';
      job.tasks.push(task);
      job.byId.set(s.id, task);
      if (slicer.due) await this.nextSlice(slicer);
    }
    for (let from = 0; from < job.tasks.length; from += ADMISSION_ROWS) {
      linkDependencies(job, from, from + ADMISSION_ROWS);
      if (slicer.due) await this.nextSlice(slicer);
    }
    // Stored in one transaction, or in slices under a job row that readers do not see until the last one.
    try {
      if (job.tasks.length <= ADMISSION_ROWS) this.parts.store.insertJob(job.toRecord(), job.tasks);
      else await this.storeInSlices(job, slicer);
    } catch (error) {
      throw storeWriteError(error, this.parts.store.dataDir);
    }
    // Durable now: it goes live in slices too (a shutdown waits for the last one).
    this.adoptJob(job);
    for (let from = 0; from < job.tasks.length; from += ADMISSION_ROWS) {
      this.adoptTasks(job, from, from + ADMISSION_ROWS);
      if (slicer.due) await slicer.yield();
    }
    this.parts.lifeCycle.settleJobIfDone(job);
    return job;
  }

  /** Until the job is stored, a shutdown refuses it: the caller has not been told it was admitted. */
  private async nextSlice(slicer: TimeSlicer): Promise<void> {
    await slicer.yield();
    this.parts.assertOpen();
  }

  private async storeInSlices(job: Job, slicer: TimeSlicer): Promise<void> {
    const { store } = this.parts;
    store.beginJob(job.toRecord());
    try {
      for (let from = 0; from < job.tasks.length; from += ADMISSION_ROWS) {
        store.insertTasks(job.id, job.tasks.slice(from, from + ADMISSION_ROWS));
        if (slicer.due) await this.nextSlice(slicer);
      }
      store.admitJob(job.id);
    } catch (error) {
      // If the store cannot take even that (a full disk), the writer removes them later: the first error is the one to report.
      this.parts.writer.discardJob(job.id);
      throw error;
    }
  }

  /** Indexes and counts the job with all its tasks, so it cannot settle before the last is live. */
  private adoptJob(job: Job): void {
    this.parts.registry.add(job);
    this.parts.lifeCycle.adopt(job);
    this.parts.events.emit('job', job);
  }

  /** Makes tasks `from` to `to` (exclusive) live: indexed, announced, and queued when ready. */
  private adoptTasks(job: Job, from: number, to: number): void {
    for (const task of job.tasks.slice(from, to)) {
      task.live = true;
      this.parts.events.emit('task', task);
      if (task.state === 'queued' && task.waitingOn === 0) this.parts.scheduler.enqueue(task);
    }
  }

  /**
   * Runs the unfinished tasks of interrupted jobs (all of them, or those named) to the end. A
   * task out of crash budget ends `failed` (`PROCESS_CRASHED`) instead; a suspect runs alone.
   */
  resume(jobIds?: readonly string[]): Job[] {
    const { store, writer, registry, lifeCycle } = this.parts;
    const records = jobIds ? jobIds.map((id) => this.interruptedJob(id)) : store.jobsInState('interrupted');
    const resumed: Job[] = [];
    for (const record of records) {
      if (registry.get(record.id)) continue;
      const { job, outOfBudget } = this.rebuild(record, store.tasksOfJob(record.id));
      this.adoptJob(job);
      lifeCycle.transitionJob(job, 'running');
      for (const task of job.tasks) if (task.state === 'queued') writer.task(task);
      for (const [task, crashes] of outOfBudget) {
        const message = `the process died ${crashes} times while this task ran; it is not run again (crash budget ${this.parts.crashBudget})`;
        lifeCycle.finish(task, 'failed', taskError('PROCESS_CRASHED', message));
      }
      // A crash can come between a task's end and the skip of its dependents reaching the store.
      for (const task of job.tasks) {
        if (!isTerminal(task.state) || task.state === 'succeeded') continue;
        const skip = taskError('DEPENDENCY_NOT_MET', `dependency "${task.id}" ended ${task.state}`);
        for (const dependent of task.dependents) if (dependent.state === 'queued') lifeCycle.finish(dependent, 'skipped', skip);
      }
      this.adoptTasks(job, 0, job.tasks.length);
      lifeCycle.settleJobIfDone(job);
      resumed.push(job);
    }
    return resumed;
  }

  private interruptedJob(jobId: string): JobRecord {
    this.parts.writer.flush();
    const record = this.parts.store.getJob(jobId);
    if (!record) throw new ThreadlineError('NOT_FOUND', `no job ${JSON.stringify(jobId)} in the store`);
    if (record.state !== 'interrupted' && !this.parts.registry.get(jobId)) {
      throw new ThreadlineError('NOT_FOUND', `job ${jobId} is ${record.state}, not interrupted; nothing to resume`);
    }
    return record;
  }

  private rebuild(record: JobRecord, stored: StoredTask[]): { job: Job; outOfBudget: Array<[Task, number]> } {
    const job = new Job(record.id, record.name, record.concurrency, record.onFailure, record.baseDir, record.createdAt);
    job.state = record.state;
    const attempts = this.parts.store.attemptsOfJob(record.id);
    const logCounts = this.parts.store.logCountsOfJob(record.id);
    const crashes = this.parts.ledger.ofJob(record.id);
    const outOfBudget: Array<[Task, number]> = [];
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
        runOn: s.runOn,
      });
      // An interruption is not the task's fault: it runs again without spending a retry.
      if (task.state === 'interrupted' || task.state === 'running' || task.state === 'cancelling') {
        assertTaskTransition(task, 'interrupted', 'queued');
        task.state = 'queued';
        task.queuedAt = Date.now();
      }
      // The store may not have learnt that a task it shows queued had begun: the ledger has.
      const crash = crashes.get(task.id);
      if (task.state === 'queued' && crash) {
        if (crash.crashes >= this.parts.crashBudget) outOfBudget.push([task, crash.crashes]);
        else task.isolated = true;
      }
      job.tasks.push(task);
      job.byId.set(task.id, task);
    }
    linkDependencies(job);
    return { job, outOfBudget };
  }
}

/** Links tasks `from` to `to` (exclusive) to their dependencies; a succeeded one is never waited on (or run) again. */
function linkDependencies(job: Job, from = 0, to = job.tasks.length): void {
  for (const task of job.tasks.slice(from, to)) {
    task.waitingOn = 0;
    for (const id of task.dependsOn) {
      const dep = job.byId.get(id);
      if (!dep) throw new ThreadlineError('JOB_FILE_INVALID', `task ${task.id} depends on unknown task ${id}`);
      dep.addDependent(task);
      if (dep.state !== 'succeeded') task.waitingOn++;
    }
  }
}
