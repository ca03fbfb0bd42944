import type { TaskAttempt, TaskLogLine } from '../../contract/records.js';
import type { TelemetrySample } from '../../contract/telemetry.js';
import { BatchSizer } from './batch-sizer.js';
import type { ThreadlineError } from './errors.js';
import type { Job } from './job.js';
import { storeWriteError, type JobStore, type StoredLogLine } from './job-store.js';
import type { Task } from './task.js';

/** While writes fail (a full disk), how often they are tried again. */
const RETRY_MS = 1000;

/** Who hears that the store stopped taking writes, and that it takes them again. */
export interface StoreWriterHealth {
  failed(error: ThreadlineError): void;
  recovered(): void;
}

/**
 * Write-behind for state changes: the engine marks what changed, and every `intervalMs` the
 * latest state of each changed task, attempt and job is written in one transaction. Thousands
 * of transitions a second cost a few small transactions, not one fsync each.
 *
 * A write that fails (the disk is full) never throws out of a timer: what it carried stays
 * pending, `health.failed` hears of it once, and the writes are tried again every second until
 * one goes through (`health.recovered`). Telemetry samples of a failed write are dropped.
 */
export class StoreWriter {
  private readonly tasks = new Map<string, Task>();
  private readonly jobs = new Map<string, Job>();
  private readonly attempts = new Map<string, AttemptEntry>();
  private telemetrySamples: TelemetrySample[] = [];
  private logLines: StoredLogLine[] = [];
  /** Jobs whose abandoned admission left rows to remove. */
  private readonly discards = new Set<string>();
  /** Why the last write failed; null while writes go through. */
  private failure: ThreadlineError | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Callers of `drained()` waiting for the pending changes to be written. */
  private drainWaiters: Array<() => void> = [];
  /** Rows per sliced write, so that one takes about 4 ms on this machine. */
  private readonly sliceRows = new BatchSizer({ budgetMs: 4, initial: 250, min: 50, max: 2000 });

  constructor(
    private readonly store: JobStore,
    private readonly intervalMs: number,
    private readonly health: StoreWriterHealth = { failed: () => {}, recovered: () => {} },
  ) {}

  /** The error of the last write while writes fail. */
  get failing(): ThreadlineError | null {
    return this.failure;
  }

  /**
   * Removes the rows of a job whose admission was abandoned, now or, if the store cannot be
   * written, with the next write that goes through (until then readers do not see them, and
   * the next open of the store removes them too).
   */
  discardJob(jobId: string): void {
    this.discards.add(jobId);
    this.flush();
  }

  task(task: Task): void {
    this.tasks.set(task.key, task);
    this.schedule();
  }

  attempt(task: Task, attempt: TaskAttempt): void {
    const entry = { jobId: task.job.id, taskId: task.id, attempt };
    this.attempts.set(attemptKey(entry), entry);
    this.schedule();
  }

  job(job: Job): void {
    this.jobs.set(job.id, job);
    this.schedule();
  }

  /** A task's log line; `n` is its number in the task's log (from 1), which bounds what is kept. */
  log(task: Task, n: number, line: TaskLogLine): void {
    this.logLines.push({ jobId: task.job.id, taskId: task.id, n, line });
    this.schedule();
  }

  telemetry(sample: TelemetrySample): void {
    this.telemetrySamples.push(sample);
    this.schedule();
  }

  get pending(): number {
    return this.tasks.size + this.jobs.size + this.attempts.size + this.telemetrySamples.length + this.logLines.length + this.discards.size;
  }

  /** Resolves once every change marked so far (and any marked meanwhile) is in the store. */
  drained(): Promise<void> {
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => this.drainWaiters.push(resolve));
  }

  private wakeDrainWaiters(): void {
    if (this.pending > 0 || this.drainWaiters.length === 0) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flushSlice(), this.failure ? RETRY_MS : this.intervalMs);
    this.timer.unref();
  }

  /**
   * The timer's write: task and attempt rows for about 4 ms per transaction, the rest
   * after the loop has had a turn, so a burst of transitions never blocks it for long. Job rows
   * go last, so a job never reads finished in the store while one of its tasks does not.
   */
  private flushSlice(): void {
    this.timer = null;
    const started = performance.now();
    const tasks = take(this.tasks, this.sliceRows.size);
    const attempts = take(this.attempts, this.sliceRows.size);
    const logs = this.logLines.splice(0, this.sliceRows.size);
    const last = this.tasks.size === 0 && this.attempts.size === 0;
    const jobs = last ? take(this.jobs, Number.POSITIVE_INFINITY) : [];
    const telemetry = last ? this.telemetrySamples.splice(0) : [];
    if (!this.write(tasks, attempts, jobs, telemetry, logs)) return this.schedule();
    this.sliceRows.observe(Math.max(tasks.length, attempts.length, logs.length), performance.now() - started);
    if (this.pending > 0) {
      this.timer = setTimeout(() => this.flushSlice(), 0);
      this.timer.unref();
    }
    this.wakeDrainWaiters();
  }

  /** Writes everything pending now, in one transaction (shutdown, and readers of the store). Never throws. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending === 0) return;
    const all = Number.POSITIVE_INFINITY;
    if (!this.write(take(this.tasks, all), take(this.attempts, all), take(this.jobs, all), this.telemetrySamples.splice(0), this.logLines.splice(0))) this.schedule();
    this.wakeDrainWaiters();
  }

  /** One transaction of the latest records; if it fails, what it carried is pending again and false is returned. */
  private write(tasks: Task[], attempts: AttemptEntry[], jobs: Job[], telemetry: TelemetrySample[], logs: StoredLogLine[]): boolean {
    // Closed after its last flush (shutdown): nothing can be written any more.
    if (!this.store.db.open) return true;
    try {
      this.store.db.transaction(() => {
        for (const jobId of this.discards) this.store.discardJob(jobId);
        this.store.saveChanges(
          jobs.map((job) => job.toRecord()),
          tasks.map((task) => task.toRecord()),
          attempts.map((entry) => ({ ...entry, attempt: { ...entry.attempt } })),
          telemetry,
          logs,
        );
      })();
    } catch (error) {
      // Marked again unless marked anew meanwhile; the next write takes their latest state.
      for (const task of tasks) if (!this.tasks.has(task.key)) this.tasks.set(task.key, task);
      for (const entry of attempts) this.attempts.set(attemptKey(entry), this.attempts.get(attemptKey(entry)) ?? entry);
      for (const job of jobs) if (!this.jobs.has(job.id)) this.jobs.set(job.id, job);
      // Log lines are kept in their order, ahead of any marked meanwhile.
      this.logLines = logs.concat(this.logLines);
      const first = this.failure === null;
      this.failure = storeWriteError(error, this.store.dataDir);
      if (first) this.health.failed(this.failure);
      return false;
    }
    this.discards.clear();
    if (this.failure) {
      this.failure = null;
      this.health.recovered();
    }
    return true;
  }
}

interface AttemptEntry {
  jobId: string;
  taskId: string;
  attempt: TaskAttempt;
}

/** Built flat: a big job's attempts wait here by the million, and a concatenation is a rope of four parts. */
function attemptKey(entry: AttemptEntry): string {
  return [entry.jobId, ':', entry.taskId, '#', entry.attempt.attempt].join('');
}

/** Removes and returns up to `n` values, oldest first. */
function take<V>(map: Map<string, V>, n: number): V[] {
  const out: V[] = [];
  for (const [key, value] of map) {
    if (out.length >= n) break;
    out.push(value);
    map.delete(key);
  }
  return out;
}
