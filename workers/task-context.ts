import type { TaskLogLine } from '../contract/records.js';
import { callBridge } from './call-bridge.js';
import { ProgressThrottle } from '../shared/progress-throttle.js';
import { TaskCancelledError } from '../shared/task-errors.js';
import { preciseNow, type WorkerEvent } from '../shared/pool-protocol.js';

/** What a handler gets besides its input. */
export interface TaskContext {
  readonly key: string;
  readonly attempt: number;
  /** True once the engine asked this task to stop (cancel or timeout). Cheap: one atomic load. */
  readonly cancelled: boolean;
  /** Throws when cancelled; call it between rows, chunks or batches. */
  throwIfCancelled(): void;
  /** Reports progress (0..1, or null when unknown). Throttled: call it as often as you like. */
  progress(fraction: number | null, message?: string): void;
  log(message: string, level?: TaskLogLine['level']): void;
  /**
   * Calls an async service registered on the main thread (for example `fetch` or `sleep`) and
   * returns its result synchronously, blocking this worker thread only. A service's error is
   * thrown here with the service's message; a cancel while waiting throws the cancel error.
   * Present on the worker pool; absent where a handler runs inline on the main thread.
   */
  call?(name: string, ...args: unknown[]): unknown;
}

export interface TaskContextDeps {
  cancelFlags: Int32Array;
  taskStages: Int32Array;
  /** Per slot: log lines posted, read by the engine before it ends the task. */
  logCounts: Int32Array;
  post(event: WorkerEvent): void;
}

export class WorkerTaskContext implements TaskContext {
  private readonly progressThrottle = new ProgressThrottle();
  private logsPosted = 0;

  constructor(
    private readonly deps: TaskContextDeps,
    readonly key: string,
    readonly attempt: number,
    readonly slot: number,
  ) {}

  get cancelled(): boolean {
    return Atomics.load(this.deps.cancelFlags, this.slot) !== 0;
  }

  throwIfCancelled(): void {
    if (this.cancelled) throw new TaskCancelledError();
  }

  progress(fraction: number | null, message?: string): void {
    const report = this.progressThrottle.take(fraction);
    if (report) this.deps.post({ type: 'progress', key: this.key, progress: report.progress, message: message ?? null });
  }

  log(message: string, level: TaskLogLine['level'] = 'info'): void {
    // The clock of the attempt's start and end (`preciseNow`): a whole millisecond from `Date.now()`
    // could put a line written in the attempt's first millisecond before the attempt began.
    this.deps.post({ type: 'log', key: this.key, level, message: String(message), at: preciseNow() });
    // Counted once posted (a level that cannot be sent throws above and posts nothing).
    Atomics.store(this.deps.logCounts, this.slot, ++this.logsPosted);
  }

  call(name: string, ...args: unknown[]): unknown {
    return callBridge().call({ key: this.key, slot: this.slot, isCancelled: () => this.cancelled }, name, args);
  }
}
