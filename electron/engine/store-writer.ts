import { performance } from 'node:perf_hooks';
import type { TaskAttempt, TaskLogLine } from '../../contract/records.js';
import type { TelemetrySample } from '../../contract/telemetry.js';
import { BatchSizer } from './batch-sizer.js';
import type { ThreadlineError } from './errors.js';
import type { Job } from './job.js';
import { storeWriteError, type JobStore, type StoredLogLine } from './job-store.js';
import type { Task } from './task.js';

/** While writes fail (a full disk), how often they are tried again. */
const RETRY_MS = 1000;

/** A slice of the writer's work: about this many milliseconds of rows in one transaction. */
const SLICE_MS = 4;

/**
 * A turn of the writer comes once per turn of the loop. When the loop was busy since the last
 * one (a million short tasks turn it every few tens of milliseconds), the writer takes up to this
 * share of that time, so that it keeps up with what was marked; when the loop was idle, one
 * slice, so that timers and I/O never wait long behind it.
 */
const LOOP_SHARE = 0.5;
const MAX_SLICES_PER_TURN = 8;

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
  /**
   * Tasks with a row or an attempt to write, oldest mark first, from `head` on; what is to be
   * written of each is marked on the task itself (`rowUnstored`, `attemptUnstored`), so a task is
   * here at most once and costs one slot of this array.
   */
  private queue: Task[] = [];
  private head = 0;
  /** Attempts a newer attempt of their task replaced as its unstored one before they were written (a quick retry). */
  private earlierAttempts: Array<[TaskAttempt, Task]> = [];
  private readonly jobs = new Map<string, Job>();
  private telemetrySamples: TelemetrySample[] = [];
  private logLines: StoredLogLine[] = [];
  /** Jobs whose abandoned admission left rows to remove. */
  private readonly discards = new Set<string>();
  /** Why the last write failed; null while writes go through. */
  private failure: ThreadlineError | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** Callers of `drained()` waiting for the pending changes to be written. */
  private drainWaiters: Array<() => void> = [];
  /** Tasks (a row and an attempt each, at most) per sliced write, so that one takes about 4 ms on this machine. */
  private readonly sliceRows = new BatchSizer({ budgetMs: SLICE_MS, initial: 250, min: 50, max: 2000 });
  /** Tasks queued since the last turn: what the next one should write to keep up. */
  private marked = 0;
  /** The loop's utilization when the last turn ended, to tell how busy it was since. */
  private loopAtLastTurn = performance.eventLoopUtilization();

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
    this.markRow(task);
    this.schedule();
  }

  /** `attempt` is `task`'s newest: the one written is the newest of that number when the write comes. */
  attempt(task: Task, attempt: TaskAttempt): void {
    const unstored = task.attemptUnstored;
    if (unstored !== attempt.attempt) {
      if (unstored !== 0) {
        // A newer try replaces an unwritten one: that one is written as it is now, before it.
        const earlier = task.attemptNumbered(unstored);
        if (earlier) this.earlierAttempts.push([earlier, task]);
      }
      this.markAttempt(task, attempt.attempt);
    }
    this.schedule();
  }

  private markRow(task: Task): void {
    this.enqueue(task);
    task.rowUnstored = true;
  }

  private markAttempt(task: Task, attempt: number): void {
    this.enqueue(task);
    task.attemptUnstored = attempt;
  }

  /** Queues a task that had nothing unwritten (a task with marks is in the queue already). */
  private enqueue(task: Task): void {
    if (task.rowUnstored || task.attemptUnstored !== 0) return;
    this.queue.push(task);
    this.marked++;
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

  /** Tasks with something to write, and every other pending record. */
  get pending(): number {
    return this.queuedTasks + this.earlierAttempts.length + this.jobs.size + this.telemetrySamples.length + this.logLines.length + this.discards.size;
  }

  private get queuedTasks(): number {
    return this.queue.length - this.head;
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
   * The timer's write: task and attempt rows for about 4 ms per transaction, the rest after the
   * loop has had a turn, so a burst of transitions never blocks it for long. After a busy loop a
   * turn writes what was marked since the last one, within `LOOP_SHARE` of the time the loop
   * worked meanwhile: a loop busy with short tasks gives the writer one turn in many
   * milliseconds, and a writer held to one slice a turn falls behind, holding every task it has
   * not written (a million-task job's backlog reached most of its tasks, written long after their
   * job had ended). Job rows go last, so a job never reads finished in the store while one of
   * its tasks does not.
   */
  private flushSlice(): void {
    this.timer = null;
    const started = performance.now();
    const slice = this.sliceRows.size;
    const busyMs = performance.eventLoopUtilization(this.loopAtLastTurn).active;
    const slices = Math.min(MAX_SLICES_PER_TURN, Math.max(1, Math.floor((busyMs * LOOP_SHARE) / SLICE_MS)));
    const rows = Math.min(slice * slices, Math.max(slice, this.marked));
    this.marked = 0;
    const { tasks, attempts } = this.takeTasks(rows);
    const logs = this.logLines.splice(0, rows);
    const last = this.queuedTasks === 0;
    const jobs = last ? take(this.jobs, Number.POSITIVE_INFINITY) : [];
    const telemetry = last ? this.telemetrySamples.splice(0) : [];
    const written = this.write(tasks, attempts, jobs, telemetry, logs);
    this.loopAtLastTurn = performance.eventLoopUtilization();
    if (!written) return this.schedule();
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
    const { tasks, attempts } = this.takeTasks(all);
    if (!this.write(tasks, attempts, take(this.jobs, all), this.telemetrySamples.splice(0), this.logLines.splice(0))) this.schedule();
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
      // Marked again; the next write takes their latest state.
      this.putBack(tasks, attempts);
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

  /**
   * Takes up to `n` queued tasks, oldest mark first, with what each has to write: its row, its
   * unwritten attempt (the newest of that number: one discarded before it began is not written),
   * and any earlier attempts a retry replaced before they were written (all of them, first).
   */
  private takeTasks(n: number): { tasks: Task[]; attempts: Array<[TaskAttempt, Task]> } {
    const tasks: Task[] = [];
    const attempts = this.earlierAttempts;
    this.earlierAttempts = [];
    const queue = this.queue;
    const end = Math.min(queue.length, this.head + n);
    for (let i = this.head; i < end; i++) {
      const task = queue[i]!;
      if (task.rowUnstored) tasks.push(task);
      const number = task.attemptUnstored;
      const attempt = number === 0 ? undefined : task.attemptNumbered(number);
      if (attempt) attempts.push([attempt, task]);
      task.rowUnstored = false;
      task.attemptUnstored = 0;
    }
    this.head = end;
    if (this.head === queue.length) {
      this.queue = [];
      this.head = 0;
    } else if (this.head >= 4096 && this.head * 2 >= queue.length) {
      // Taken slots are dropped once they are half the array: each slot is moved at most once per take.
      queue.copyWithin(0, this.head);
      queue.length -= this.head;
      this.head = 0;
    }
    return { tasks, attempts };
  }

  /** After a failed write: what it carried is marked again, in one turn, unless marked anew meanwhile. */
  private putBack(tasks: Task[], attempts: Array<[TaskAttempt, Task]>): void {
    for (const task of tasks) this.markRow(task);
    for (const [attempt, task] of attempts) {
      const unstored = task.attemptUnstored;
      if (unstored === attempt.attempt) continue;
      if (unstored !== 0 || task.attemptNumbered(attempt.attempt) !== attempt) {
        // An attempt a newer one replaced (or one kept aside before): written first again.
        this.earlierAttempts.push([attempt, task]);
        continue;
      }
      this.markAttempt(task, attempt.attempt);
    }
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
