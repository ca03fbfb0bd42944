import type { TaskAttempt, TaskLogLine } from '../../contract/records.js';
import type { TelemetrySample } from '../../contract/telemetry.js';
import { BatchSizer } from './batch-sizer.js';
import type { Job } from './job.js';
import type { JobStore, StoredLogLine } from './job-store.js';
import type { Task } from './task.js';

/**
 * Write-behind for state changes: the engine marks what changed, and every `intervalMs` the
 * latest state of each changed task, attempt and job is written in one transaction. Thousands
 * of transitions a second cost a few small transactions, not one fsync each.
 */
export class StoreWriter {
  private readonly tasks = new Map<string, Task>();
  private readonly jobs = new Map<string, Job>();
  private readonly attempts = new Map<string, { jobId: string; taskId: string; attempt: TaskAttempt }>();
  private telemetrySamples: TelemetrySample[] = [];
  private logLines: StoredLogLine[] = [];
  private timer: NodeJS.Timeout | null = null;
  /** Callers of `drained()` waiting for the pending changes to be written. */
  private drainWaiters: Array<() => void> = [];
  /** Rows per sliced write, so that one takes about 4 ms on this machine. */
  private readonly sliceRows = new BatchSizer({ budgetMs: 4, initial: 250, min: 50, max: 2000 });

  constructor(
    private readonly store: JobStore,
    private readonly intervalMs: number,
  ) {}

  task(task: Task): void {
    this.tasks.set(task.key, task);
    this.schedule();
  }

  attempt(task: Task, attempt: TaskAttempt): void {
    this.attempts.set(`${task.key}#${attempt.attempt}`, { jobId: task.job.id, taskId: task.id, attempt });
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
    return this.tasks.size + this.jobs.size + this.attempts.size + this.telemetrySamples.length + this.logLines.length;
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
    this.timer = setTimeout(() => this.flushSlice(), this.intervalMs);
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
    const tasks = take(this.tasks, this.sliceRows.size).map((task) => task.toRecord());
    const attempts = take(this.attempts, this.sliceRows.size).map((entry) => ({ ...entry, attempt: { ...entry.attempt } }));
    const logs = this.logLines.splice(0, this.sliceRows.size);
    const last = this.tasks.size === 0 && this.attempts.size === 0;
    const jobs = last ? take(this.jobs, Number.POSITIVE_INFINITY).map((job) => job.toRecord()) : [];
    const telemetry = last ? this.telemetrySamples.splice(0) : [];
    this.store.saveChanges(jobs, tasks, attempts, telemetry, logs);
    this.sliceRows.observe(Math.max(tasks.length, attempts.length, logs.length), performance.now() - started);
    if (this.pending > 0) {
      this.timer = setTimeout(() => this.flushSlice(), 0);
      this.timer.unref();
    }
    this.wakeDrainWaiters();
  }

  /** Writes everything pending now, in one transaction (shutdown, and readers of the store). */
  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending === 0) return;
    const tasks = take(this.tasks, Number.POSITIVE_INFINITY).map((task) => task.toRecord());
    const attempts = take(this.attempts, Number.POSITIVE_INFINITY).map((entry) => ({ ...entry, attempt: { ...entry.attempt } }));
    const jobs = take(this.jobs, Number.POSITIVE_INFINITY).map((job) => job.toRecord());
    this.store.saveChanges(jobs, tasks, attempts, this.telemetrySamples.splice(0), this.logLines.splice(0));
    this.wakeDrainWaiters();
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
