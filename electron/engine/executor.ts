import type { HostNotice } from '../../contract/api.js';
import type { TaskError, TaskLogLine } from '../../contract/records.js';
import type { RemoteMachine, WorkerSample } from '../../contract/telemetry.js';
import type { Task } from './task.js';

/** How a task left an executor. */
export type ExecutorOutcome =
  | { type: 'succeeded'; result: unknown; startedAt: number; finishedAt: number; worker: string }
  | { type: 'failed'; error: TaskError; startedAt: number; finishedAt: number; worker: string }
  /** Stopped on request: the handler saw its cancel flag, or its thread was terminated. */
  | { type: 'stopped'; startedAt: number; finishedAt: number; worker: string }
  /** Never ran (its batch was torn down for another task): queue it again, no attempt spent. */
  | { type: 'returned' };

/** What an executor tells the engine. */
export interface ExecutorListener {
  /**
   * Just before `tasks` are handed to where they run (a thread, the loop, another machine):
   * once it returns, the engine has recorded durably that they may be running, so a crash of the
   * process can be blamed on them.
   */
  beginning(tasks: readonly Task[]): void;
  started(task: Task, worker: string, at: number): void;
  /**
   * The attempt running `task` was cut short where it ran (a remote worker was lost) and the
   * executor runs the task again by itself: the attempt ends `interrupted`, and the next
   * `started` (or the outcome) opens another.
   */
  interrupted(task: Task, at: number): void;
  progress(task: Task, progress: number | null, message: string | null): void;
  log(line: TaskLogLine): void;
  finished(task: Task, outcome: ExecutorOutcome): void;
  /** The executor's `notices()` changed (given by the engine; absent where nothing shows them). */
  noticesChanged?(): void;
}

/** What an executor asks of the ready tasks when it has room for one more. */
export interface ReadyRequest {
  /**
   * Takes only a task this accepts (one that fits a limit of the executor's own, or a kind it
   * can batch); a task it refuses stays first in line, and the source answers null.
   */
  accept?: (task: Task) => boolean;
  /**
   * The task would join others handed over together (a batch), rather than start on its own.
   * A crash suspect, which must run alone, is never handed over this way.
   */
  joining?: boolean;
}

/**
 * Hands the executor the next ready task it may take, or null. A task handed over is the
 * executor's: it calls `ExecutorListener.beginning` before the task can begin, and reports
 * every task's end through `finished` (`returned` when it never began).
 */
export type ReadySource = (request?: ReadyRequest) => Task | null;

export interface Executor {
  /** Takes as many ready tasks as it has room for. */
  fill(next: ReadySource): void;
  /**
   * For a task handed over but not yet begun: makes sure it never begins, gives it back and
   * returns true. No event of that hand-over follows (no start, no outcome): the task may be
   * handed over again at once, and only that hand-over speaks for it.
   */
  withdraw(task: Task): boolean;
  /** Asks a running task to stop at its next check. */
  requestStop(task: Task): void;
  /** Stops a running task now, whatever it is doing. */
  terminate(task: Task): void;
  close(): Promise<void>;
  /** Per-thread heap and utilization, for an executor that has threads of its own. */
  workerStats?(): WorkerSample[];
  /** The machines it runs tasks on, for an executor that runs them on other machines. */
  machines?(): RemoteMachine[];
  /** Conditions of where it runs tasks that people should see until they clear (remote workers it refuses). */
  notices?(): HostNotice[];
}
