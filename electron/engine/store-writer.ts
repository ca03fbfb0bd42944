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
  /** Attempts to write, each with its task, keyed by the attempt itself: one object per try. */
  private readonly attempts = new Map<TaskAttempt, Task>();
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
    this.attempts.set(attempt, task);
    this.schedule();
  }

  /** A job that ended is written at the next turn of the loop: whoever waits for its end reads the store next. */
  job(job: Job): void {
    this.jobs.set(job.id, job);
    if (job.state === 'running') this.schedule();
    else this.hurry();
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
    return new Promise((resolve) => {
      this.drainWaiters.push(resolve);
      // Awaited: the write must come even when nothing else keeps the process alive.
      if (this.timer) this.timer.ref();
      else this.schedule();
    });
  }

  private wakeDrainWaiters(): void {
    if (this.pending > 0 || this.drainWaiters.length === 0) return;
    for (const resolve of this.drainWaiters.splice(0)) resolve();
  }

  /** The next write at the next turn of the loop (not while writes fail: those wait for their retry). */
  private hurry(): void {
    if (this.failure) return this.schedule();
    if (this.timer) clearTimeout(this.timer);
    this.arm(0);
  }

  private schedule(): void {
    if (this.timer) return;
    this.arm(this.failure ? RETRY_MS : this.intervalMs);
  }

  /** The next write in `ms`; it keeps the process alive only while someone awaits `drained()`. */
  private arm(ms: number): void {
    this.timer = setTimeout(() => this.flushSlice(), ms);
    if (this.drainWaiters.length === 0) this.timer.unref();
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
    const attempts = takeEntries(this.attempts, this.sliceRows.size);
    const logs = this.logLines.splice(0, this.sliceRows.size);
    const last = this.tasks.size === 0 && this.attempts.size === 0;
    const jobs = last ? take(this.jobs, Number.POSITIVE_INFINITY) : [];
    const telemetry = last ? this.telemetrySamples.splice(0) : [];
    if (!this.write(tasks, attempts, jobs, telemetry, logs)) return this.schedule();
    this.sliceRows.observe(Math.max(tasks.length, attempts.length, logs.length), performance.now() - started);
    if (this.pending > 0) this.arm(0);
    this.wakeDrainWaiters();
  }

  /** Writes everything pending now, in one transaction (shutdown, and readers of the store). Never throws. */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending === 0) return;
    const all = Number.POSITIVE_INFINITY;
    if (!this.write(take(this.tasks, all), takeEntries(this.attempts, all), take(this.jobs, all), this.telemetrySamples.splice(0), this.logLines.splice(0))) this.schedule();
    this.wakeDrainWaiters();
  }

  /** One transaction of the latest records; if it fails, what it carried is pending again and false is returned. */
  private write(tasks: Task[], attempts: Array<[TaskAttempt, Task]>, jobs: Job[], telemetry: TelemetrySample[], logs: StoredLogLine[]): boolean {
    // Closed after its last flush (shutdown): nothing can be written any more.
    if (!this.store.db.open) return true;
    try {
      this.store.db.transaction(() => {
        for (const jobId of this.discards) this.store.discardJob(jobId);
        // Tasks and attempts are read as they are now, within this call: no copies are needed.
        this.store.saveChanges(
          jobs.map((job) => job.toRecord()),
          tasks,
          attempts,
          telemetry,
          logs,
        );
      })();
    } catch (error) {
      // Marked again unless marked anew meanwhile; the next write takes their latest state.
      for (const task of tasks) if (!this.tasks.has(task.key)) this.tasks.set(task.key, task);
      // Attempts go back ahead of those marked since, so a try discarded before it began never
      // overwrites the one that took its number.
      putBack(this.attempts, attempts);
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

/** Removes and returns up to `n` entries, oldest first. */
function takeEntries<K, V>(map: Map<K, V>, n: number): Array<[K, V]> {
  const out: Array<[K, V]> = [];
  for (const entry of map) {
    if (out.length >= n) break;
    out.push(entry);
    map.delete(entry[0]);
  }
  return out;
}

/** Puts `taken` back ahead of the entries marked since. */
function putBack<K, V>(map: Map<K, V>, taken: Array<[K, V]>): void {
  const since = [...map];
  map.clear();
  for (const [key, value] of taken) map.set(key, value);
  for (const [key, value] of since) map.set(key, value);
}
