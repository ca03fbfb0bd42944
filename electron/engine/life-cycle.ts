import type { EventEmitter } from 'node:events';
import type { TaskAttempt, TaskError } from '../../contract/records.js';
import { taskError } from '../../contract/task-error-codes.js';
import { isTerminal, TASK_STATES, type JobState, type TaskState } from '../../contract/task-states.js';
import type { CrashLedger } from './crash-ledger.js';
import type { EngineEvents } from './engine-events.js';
import type { ExecutorListener, ExecutorOutcome } from './executor.js';
import type { Job } from './job.js';
import type { JobRegistry } from './job-registry.js';
import type { Scheduler } from './scheduler.js';
import type { StoreWriter } from './store-writer.js';
import type { StopReason, Task } from './task.js';
import { afterRunningTime } from './running-time.js';
import { assertJobTransition, assertTaskTransition, isSettled } from './transitions.js';

const MAX_BACKOFF_MS = 60_000;

export interface LifeCycleParts {
  writer: StoreWriter;
  events: EventEmitter<EngineEvents>;
  scheduler: Scheduler;
  registry: JobRegistry;
  ledger: CrashLedger;
  cancelGraceMs: number;
  /** True once the engine shuts down: nothing is retried then. */
  closing: () => boolean;
}

/**
 * What happens to a task from admission to its end: attempts, outcomes, retries with backoff,
 * timeouts, stops, and what an end means for its dependents and its job. Every change of state
 * goes through `transition`, which keeps the counts, the store and the events in step.
 */
export class TaskLifeCycle {
  readonly counts = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
  /** Tasks that ended since telemetry last asked. */
  private completions = 0;

  constructor(private readonly parts: LifeCycleParts) {}

  /** How many tasks ended since the last call. */
  takeCompletions(): number {
    const n = this.completions;
    this.completions = 0;
    return n;
  }

  /** The one way a task's state changes. An illegal change throws (a bug in the engine). */
  transition(task: Task, to: TaskState, detail: { error?: TaskError | null; at?: number } = {}): void {
    assertTaskTransition(task, task.state, to);
    const wasSettled = isSettled(task.state);
    this.counts[task.state]--;
    this.counts[to]++;
    task.state = to;
    if (wasSettled !== isSettled(to)) task.job.unfinished += wasSettled ? 1 : -1;
    if (detail.error !== undefined) task.error = detail.error;
    if (isTerminal(to)) {
      task.finishedAt = detail.at ?? Date.now();
      this.completions++;
    } else if (to === 'interrupted' && detail.at !== undefined) task.finishedAt = detail.at;
    else if (to === 'queued') task.finishedAt = null;
    this.changed(task);
  }

  /** The one way a job's state changes. */
  transitionJob(job: Job, to: JobState, finishedAt: number | null = to === 'running' ? null : Date.now()): void {
    assertJobTransition(job.id, job.state, to);
    job.state = to;
    job.finishedAt = finishedAt;
    if (to === 'running') job.settled = new Promise((resolve) => (job.resolveSettled = resolve));
    this.parts.writer.job(job);
    this.parts.events.emit('job', job);
    if (to !== 'running') job.resolveSettled();
  }

  /** A change that is not one of state (progress, an attempt's times): stored and announced. */
  private changed(task: Task): void {
    this.parts.writer.task(task);
    this.parts.events.emit('task', task);
  }

  /** Counts a job that goes live with all its tasks (admitted or resumed). */
  adopt(job: Job): void {
    for (const task of job.tasks) {
      this.counts[task.state]++;
      if (!isSettled(task.state)) job.unfinished++;
    }
  }

  /** What the executors report, wired to this life cycle. */
  listener(onLog: ExecutorListener['log']): ExecutorListener {
    return {
      beginning: (tasks) => this.parts.ledger.markHandedOver(tasks),
      started: (task, worker, at) => {
        if (task.onExecutor && !task.attemptOpen) this.openAttempt(task, worker, at);
      },
      interrupted: (task, at) => {
        if (!task.onExecutor || !task.attemptOpen) return;
        const attempt = task.lastAttempt!;
        attempt.state = 'interrupted';
        attempt.finishedAt = at;
        task.attemptOpen = false;
        // The task's timeout runs for each attempt: the next one starts its own.
        task.clearTimer('timeout');
        this.parts.writer.attempt(task, attempt);
        this.changed(task);
      },
      progress: (task, progress, message) => {
        if (isTerminal(task.state)) return;
        task.progress = progress;
        task.progressMessage = message;
        this.changed(task);
      },
      log: onLog,
      finished: (task, outcome) => this.onFinished(task, outcome),
    };
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
    task.addAttempt(attempt);
    if (task.timeoutMs !== null && task.stopReason === null) {
      afterRunningTime(task.timeoutMs, () => this.stop(task, 'timeout'), (timer) => (task.timers.timeout = timer));
    }
    this.parts.writer.attempt(task, attempt);
    if (task.state === 'queued') this.transition(task, task.stopReason ? 'cancelling' : 'running');
    else this.changed(task);
  }

  private onFinished(task: Task, outcome: ExecutorOutcome): void {
    this.parts.ledger.unmark(task);
    if (isSettled(task.state)) {
      // No executor should speak for an ended task (a withdrawn one left at once): its word
      // would only re-run or re-end it. Its place on the executor is freed, nothing more.
      this.leaveExecutor(task, false);
      return;
    }
    // The worker's start message may not have arrived before its outcome.
    if (outcome.type !== 'returned' && !task.attemptOpen) this.openAttempt(task, outcome.worker, outcome.startedAt);
    this.leaveExecutor(task, outcome.type !== 'returned');
    if (outcome.type === 'returned') {
      this.discardOpenAttempt(task);
      if (task.stopReason) this.finish(task, stoppedState(task.stopReason), null);
      else {
        if (task.state !== 'queued') this.transition(task, 'queued');
        this.parts.scheduler.enqueue(task);
      }
      return;
    }
    task.attemptOpen = false;
    // The worker measured the attempt precisely; the start event may have been coarser.
    const attempt = task.lastAttempt!;
    attempt.startedAt = task.startedAt = outcome.startedAt;
    attempt.finishedAt = outcome.finishedAt;
    attempt.worker = task.worker = outcome.worker;

    if (outcome.type === 'succeeded') {
      task.result = outcome.result;
      this.finish(task, 'succeeded', null, outcome.finishedAt);
    } else if (outcome.type === 'failed') {
      this.failOrRetry(task, 'failed', outcome.error, outcome.finishedAt);
    } else if (task.stopReason === 'timeout') {
      const error = taskError('TIMED_OUT', `timed out after ${task.timeoutMs} ms`);
      this.failOrRetry(task, 'timed_out', error, outcome.finishedAt);
    } else {
      const reason = task.stopReason ?? 'cancel';
      this.finish(task, stoppedState(reason), stopError(reason), outcome.finishedAt);
    }
  }

  private leaveExecutor(task: Task, ran: boolean): void {
    task.clearTimer('timeout');
    task.clearTimer('grace');
    this.parts.scheduler.left(task, ran);
  }

  /** Its batch announced it, but it never ran: that was no attempt. */
  private discardOpenAttempt(task: Task): void {
    if (!task.attemptOpen) return;
    task.attemptOpen = false;
    task.attempts--;
    task.dropLastAttempt();
    task.startedAt = task.lastAttempt?.startedAt ?? null;
  }

  private failOrRetry(task: Task, state: 'failed' | 'timed_out', error: TaskError, at: number): void {
    if (task.attempts > task.retries || this.parts.closing()) {
      this.finish(task, state, error, at);
      return;
    }
    const attempt = task.lastAttempt;
    if (attempt) {
      attempt.state = state;
      this.parts.writer.attempt(task, attempt);
    }
    task.stopReason = null;
    task.queuedAt = at;
    this.transition(task, 'queued', { error });
    const backoff = Math.min(MAX_BACKOFF_MS, task.retryBackoffMs * 2 ** (task.attempts - 1));
    task.timers.retry = setTimeout(() => {
      task.timers.retry = undefined;
      if (task.state === 'queued') this.parts.scheduler.enqueue(task);
    }, backoff);
  }

  /**
   * Ends a task for good and carries the consequences: dependents run or are skipped, a
   * fail-fast job stops, a job whose last task ended settles.
   */
  finish(first: Task, state: TaskState, error: TaskError | null, at = Date.now()): void {
    const work: Array<{ task: Task; state: TaskState; error: TaskError | null }> = [{ task: first, state, error }];
    while (work.length > 0) {
      const { task, state, error } = work.pop()!;
      if (isSettled(task.state)) continue;
      task.clearTimers();
      task.stopReason = null;
      const attempt = task.lastAttempt;
      if (attempt && attempt.finishedAt !== null && attempt.state === 'running') {
        attempt.state = state;
        this.parts.writer.attempt(task, attempt);
      }
      if (state === 'succeeded') {
        task.progress = 1;
        task.error = null;
      }
      this.transition(task, state, { at, ...(error ? { error } : {}) });

      for (const dependent of task.dependents) {
        if (dependent.state !== 'queued' || dependent.onExecutor) continue;
        if (state === 'succeeded') {
          // One not yet live is queued when it goes live.
          if (--dependent.waitingOn === 0 && dependent.live) this.parts.scheduler.enqueue(dependent);
        } else {
          const skip = taskError('DEPENDENCY_NOT_MET', `dependency "${task.id}" ended ${state}`);
          work.push({ task: dependent, state: 'skipped', error: skip });
        }
      }
      if ((state === 'failed' || state === 'timed_out') && task.job.onFailure === 'fail-fast') {
        for (const other of task.job.tasks) if (other !== task) this.stop(other, 'fail-fast');
      }
      this.settleJobIfDone(task.job);
    }
  }

  settleJobIfDone(job: Job): void {
    if (job.unfinished > 0 || job.state !== 'running') return;
    this.transitionJob(job, job.outcome());
    this.parts.registry.finished(job);
  }

  /** Stops a task for `reason`. Returns false when it had already ended. */
  stop(task: Task, reason: StopReason): boolean {
    if (isSettled(task.state)) return false;
    if (task.onExecutor) {
      if (!this.withdraw(task)) return this.stopRunning(task, reason);
      // Its batch began (that opened its attempt and started its timeout) but it had not: a
      // timeout runs for an attempt that began, so it goes back to the queue for a whole one.
      if (reason === 'timeout') {
        this.parts.scheduler.enqueue(task);
        return true;
      }
    }
    if (reason === 'shutdown') {
      task.clearTimers();
      this.transition(task, 'interrupted');
      return true;
    }
    this.finish(task, stoppedState(reason), stopError(reason));
    return true;
  }

  /** A task handed over but not begun is, from the outside, still queued: it comes back and stops at once. */
  private withdraw(task: Task): boolean {
    if (task.stopReason !== null || !this.parts.scheduler.executorOf(task).withdraw(task)) return false;
    this.parts.ledger.unmark(task);
    this.leaveExecutor(task, false);
    this.discardOpenAttempt(task);
    if (task.state !== 'queued') this.transition(task, 'queued');
    return true;
  }

  /** Soft first (the handler's cancel flag), then, after the grace period, the thread ends. */
  private stopRunning(task: Task, reason: StopReason): boolean {
    if (task.stopReason !== null) {
      // Asked again while stopping: a cancel or shutdown does not wait out the grace period twice.
      if (reason !== 'timeout' && task.stopReason === 'timeout') task.stopReason = reason;
      return true;
    }
    const executor = this.parts.scheduler.executorOf(task);
    task.stopReason = reason;
    clearTimeout(task.timers.timeout);
    if (task.state === 'running') this.transition(task, 'cancelling');
    executor.requestStop(task);
    if (this.parts.cancelGraceMs <= 0) executor.terminate(task);
    else {
      const endThread = () => {
        if (task.onExecutor) executor.terminate(task);
      };
      afterRunningTime(this.parts.cancelGraceMs, endThread, (timer) => (task.timers.grace = timer));
    }
    return true;
  }

  /** Runs an ended, unsuccessful task again, with whatever it needs and whatever was skipped because of it. */
  retry(task: Task): boolean {
    if (!isTerminal(task.state) || task.state === 'succeeded' || this.parts.closing()) return false;
    const job = task.job;
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
    if (job.state !== 'running') {
      this.parts.registry.reopened(job);
      this.transitionJob(job, 'running');
    }
    for (const t of again) {
      t.result = null;
      t.queuedAt = Date.now();
      this.transition(t, 'queued', { error: null });
    }
    for (const t of again) {
      t.waitingOn = t.dependsOn.filter((id) => job.byId.get(id)!.state !== 'succeeded').length;
      if (t.waitingOn === 0) this.parts.scheduler.enqueue(t);
    }
    return true;
  }
}

function stoppedState(reason: StopReason): TaskState {
  if (reason === 'timeout') return 'timed_out';
  if (reason === 'shutdown') return 'interrupted';
  return 'cancelled';
}

function stopError(reason: StopReason): TaskError {
  if (reason === 'fail-fast') return taskError('CANCELLED', 'cancelled because another task of the job failed (fail-fast)');
  if (reason === 'shutdown') return taskError('INTERRUPTED', 'interrupted by shutdown');
  return taskError('CANCELLED', 'cancelled');
}
