import type { TaskLogLine } from '../../contract/records.js';
import { ProgressThrottle } from '../../shared/progress-throttle.js';
import { toTaskError } from '../../shared/task-errors.js';
import type { Executor, ExecutorListener, ExecutorOutcome, ReadySource } from './executor.js';
import { loopHandler } from './loop-kinds/index.js';
import type { LoopHandler, LoopTaskContext } from './loop-kinds/loop-handler.js';
import type { Task } from './task.js';

const LOOP_WORKER = 'loop';

/**
 * One task running on the loop, and the context its handler gets. One object per task, with
 * what a handler may never use (its abort signal, its progress throttle) made on first use:
 * a job of a thousand short waits pays for a thousand small objects, not for ten thousand.
 */
class LoopRun implements LoopTaskContext {
  readonly startedAt = Date.now();
  /** The attempt's number, once the engine opened it. */
  attempt = 0;
  private abort: AbortController | null = null;
  /** Why it was asked to stop, once it was (an abort signal not yet made is made aborted). */
  private stopCause: Error | null = null;
  private stopListeners: Array<(reason: Error) => void> = [];
  private throttle: ProgressThrottle | null = null;

  constructor(
    readonly task: Task,
    private readonly listener: ExecutorListener,
  ) {}

  get key(): string {
    return this.task.key;
  }

  get signal(): AbortSignal {
    if (!this.abort) {
      this.abort = new AbortController();
      if (this.stopCause) this.abort.abort(this.stopCause);
    }
    return this.abort.signal;
  }

  get stopped(): boolean {
    return this.stopCause !== null;
  }

  onStop(listener: (reason: Error) => void): () => void {
    if (this.stopCause) {
      listener(this.stopCause);
      return () => {};
    }
    this.stopListeners.push(listener);
    return () => {
      const at = this.stopListeners.indexOf(listener);
      if (at >= 0) this.stopListeners.splice(at, 1);
    };
  }

  stop(reason: Error): void {
    if (this.stopCause) return;
    this.stopCause = reason;
    this.abort?.abort(reason);
    for (const listener of this.stopListeners.splice(0)) listener(reason);
  }

  progress(fraction: number | null, message?: string): void {
    const report = (this.throttle ??= new ProgressThrottle()).take(fraction);
    if (report) this.listener.progress(this.task, report.progress, message ?? null);
  }

  log(message: string, level: TaskLogLine['level'] = 'info'): void {
    this.listener.log({ taskKey: this.task.key, at: Date.now(), level, message });
  }
}

/**
 * Runs async kinds on the event loop. A job with a `concurrency` of its own runs that many of
 * them at once (the engine holds it to that); tasks of jobs without one share `limit`.
 */
export class LoopExecutor implements Executor {
  private readonly running = new Map<Task, LoopRun>();
  /** Running tasks of jobs without a concurrency of their own, against `limit`. */
  private underLimit = 0;
  private closed = false;

  constructor(
    private readonly limit: number,
    private readonly listener: ExecutorListener,
  ) {}

  /**
   * Takes every ready task that fits, and records them as handed over in one write before any of
   * them begins: a job of a thousand sleeps costs the crash ledger one row, not a thousand.
   */
  fill(next: ReadySource): void {
    if (this.closed) return;
    let taken = 0;
    const request = { accept: (task: Task): boolean => task.job.concurrency !== null || this.underLimit + taken < this.limit };
    const tasks: Task[] = [];
    for (let task = next(request); task; task = next(request)) {
      tasks.push(task);
      if (this.countsAgainstLimit(task)) taken++;
    }
    if (tasks.length === 0) return;
    this.listener.beginning(tasks);
    for (const task of tasks) this.start(task);
  }

  private countsAgainstLimit(task: Task): boolean {
    return task.job.concurrency === null;
  }

  private start(task: Task): void {
    const run = new LoopRun(task, this.listener);
    this.running.set(task, run);
    if (this.countsAgainstLimit(task)) this.underLimit++;
    this.listener.started(task, LOOP_WORKER, run.startedAt);
    run.attempt = task.attempts;
    const handler = loopHandler(task.kind);
    // The handler begins on the next microtask, once every task of this fill has started; its own
    // promise is awaited, with none around it (each one more costs every task's end two turns).
    queueMicrotask(() => this.run(run, handler));
  }

  private run(run: LoopRun, handler: LoopHandler<unknown> | undefined): void {
    let outcome: Promise<unknown>;
    try {
      if (!handler) throw Object.assign(new Error(`no loop handler for kind "${run.task.kind}"`), { code: 'UNKNOWN_KIND' });
      outcome = Promise.resolve(handler(run.task.input, run));
    } catch (error) {
      outcome = Promise.reject(error);
    }
    outcome.then(
      (result) => this.settle(run, { type: 'succeeded', result: result ?? null, startedAt: run.startedAt, finishedAt: Date.now(), worker: LOOP_WORKER }),
      (error: unknown) =>
        this.settle(
          run,
          run.stopped
            ? { type: 'stopped', startedAt: run.startedAt, finishedAt: Date.now(), worker: LOOP_WORKER }
            : { type: 'failed', error: toTaskError(error), startedAt: run.startedAt, finishedAt: Date.now(), worker: LOOP_WORKER },
        ),
    );
  }

  private settle(run: LoopRun, outcome: ExecutorOutcome): void {
    // A task given up on by `terminate` has already been reported.
    if (!this.forget(run)) return;
    this.listener.finished(run.task, outcome);
  }

  private forget(run: LoopRun): boolean {
    if (this.running.get(run.task) !== run) return false;
    this.running.delete(run.task);
    if (this.countsAgainstLimit(run.task)) this.underLimit--;
    return true;
  }

  /** Loop tasks begin as soon as they are handed over. */
  withdraw(): boolean {
    return false;
  }

  requestStop(task: Task): void {
    this.running.get(task)?.stop(new Error('task was cancelled'));
  }

  /** An async task cannot be killed; it is aborted and no longer waited for. */
  terminate(task: Task): void {
    const run = this.running.get(task);
    if (!run) return;
    run.stop(new Error('task was terminated'));
    const now = Date.now();
    this.forget(run);
    this.listener.finished(task, { type: 'stopped', startedAt: task.startedAt ?? now, finishedAt: now, worker: LOOP_WORKER });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of [...this.running.keys()]) this.terminate(task);
  }
}
