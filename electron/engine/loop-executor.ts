import { ProgressThrottle } from '../../shared/progress-throttle.js';
import { toTaskError } from '../../shared/task-errors.js';
import type { Executor, ExecutorListener, ReadySource } from './executor.js';
import { loopHandler } from './loop-kinds/index.js';
import type { LoopTaskContext } from './loop-kinds/loop-handler.js';
import type { Task } from './task.js';

const LOOP_WORKER = 'loop';

/**
 * Runs async kinds on the event loop. A job with a `concurrency` of its own runs that many of
 * them at once (the engine holds it to that); tasks of jobs without one share `limit`.
 */
export class LoopExecutor implements Executor {
  private readonly running = new Map<Task, AbortController>();
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
    const fits = (task: Task): boolean => task.job.concurrency !== null || this.underLimit + taken < this.limit;
    const tasks: Task[] = [];
    for (let task = next({ accept: fits }); task; task = next({ accept: fits })) {
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
    const abort = new AbortController();
    this.running.set(task, abort);
    if (this.countsAgainstLimit(task)) this.underLimit++;
    const startedAt = Date.now();
    this.listener.started(task, LOOP_WORKER, startedAt);
    const throttle = new ProgressThrottle();
    const ctx: LoopTaskContext = {
      key: task.key,
      attempt: task.attempts,
      signal: abort.signal,
      progress: (fraction, message) => {
        const report = throttle.take(fraction);
        if (report) this.listener.progress(task, report.progress, message ?? null);
      },
      log: (message, level = 'info') => this.listener.log({ taskKey: task.key, at: Date.now(), level, message }),
    };
    const handler = loopHandler(task.kind);
    const run = handler
      ? Promise.resolve().then(() => handler(task.input, ctx))
      : Promise.reject(Object.assign(new Error(`no loop handler for kind "${task.kind}"`), { code: 'UNKNOWN_KIND' }));
    run.then(
      (result) => this.settle(task, () => ({ type: 'succeeded', result: result ?? null, startedAt, finishedAt: Date.now(), worker: LOOP_WORKER })),
      (error: unknown) =>
        this.settle(task, () =>
          abort.signal.aborted
            ? { type: 'stopped', startedAt, finishedAt: Date.now(), worker: LOOP_WORKER }
            : { type: 'failed', error: toTaskError(error), startedAt, finishedAt: Date.now(), worker: LOOP_WORKER },
        ),
    );
  }

  private settle(task: Task, outcome: () => Parameters<ExecutorListener['finished']>[1]): void {
    // A task given up on by `terminate` has already been reported.
    if (!this.forget(task)) return;
    this.listener.finished(task, outcome());
  }

  private forget(task: Task): boolean {
    if (!this.running.delete(task)) return false;
    if (this.countsAgainstLimit(task)) this.underLimit--;
    return true;
  }

  /** Loop tasks begin as soon as they are handed over. */
  withdraw(): boolean {
    return false;
  }

  requestStop(task: Task): void {
    this.running.get(task)?.abort(new Error('task was cancelled'));
  }

  /** An async task cannot be killed; it is aborted and no longer waited for. */
  terminate(task: Task): void {
    const abort = this.running.get(task);
    if (!abort) return;
    abort.abort(new Error('task was terminated'));
    const now = Date.now();
    this.forget(task);
    this.listener.finished(task, { type: 'stopped', startedAt: task.startedAt ?? now, finishedAt: now, worker: LOOP_WORKER });
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const task of [...this.running.keys()]) this.terminate(task);
  }
}
