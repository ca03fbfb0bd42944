import type { Executor, ExecutorListener, ReadySource } from '../../electron/engine/executor.js';
import type { Task } from '../../electron/engine/task.js';
import type { Engine, EngineOptions } from '../../electron/engine/engine.js';
import type { OwnedStore } from '../../electron/engine/owned-store.js';
import { makeEngine } from '../support/engine-fixture.js';

/**
 * An executor whose tasks end when the test says so: the scheduler and the life cycle run
 * against it in milliseconds, on no thread.
 */
export class FakeExecutor implements Executor {
  /** Every task handed over, in order, by id. */
  readonly handed: string[] = [];
  /** Ids of the tasks asked to stop. */
  readonly stopsRequested: string[] = [];
  private readonly running = new Map<string, Task>();

  constructor(
    private readonly listener: ExecutorListener,
    private readonly capacity: number,
    readonly worker: string,
    /** Each fill's tasks handed over together, in one beginning, as the loop executor does. */
    private readonly handOverPerFill = false,
  ) {}

  fill(next: ReadySource): void {
    // It asks as the loop executor does: only for a task that fits a limit of its own.
    const taken: Task[] = [];
    const fits = () => this.running.size + taken.length < this.capacity;
    while (fits()) {
      const task = next({ accept: fits });
      if (!task) break;
      if (this.handOverPerFill) taken.push(task);
      else this.begin([task]);
    }
    if (taken.length > 0) this.begin(taken);
  }

  private begin(tasks: Task[]): void {
    this.listener.beginning(tasks);
    for (const task of tasks) {
      this.handed.push(task.id);
      this.running.set(task.id, task);
      this.listener.started(task, this.worker, Date.now());
    }
  }

  /** Ids of the tasks on this executor now, sorted. */
  get runningIds(): string[] {
    return [...this.running.keys()].sort();
  }

  succeed(id: string, result: unknown = null): void {
    const task = this.take(id);
    this.listener.finished(task, { type: 'succeeded', result, startedAt: task.startedAt!, finishedAt: Date.now(), worker: this.worker });
  }

  fail(id: string, code = 'BOOM'): void {
    const task = this.take(id);
    this.listener.finished(task, { type: 'failed', error: { code, message: `${id} failed` }, startedAt: task.startedAt!, finishedAt: Date.now(), worker: this.worker });
  }

  withdraw(): boolean {
    return false;
  }

  requestStop(task: Task): void {
    this.stopsRequested.push(task.id);
  }

  /** Ends a task that was asked to stop, as a handler that saw its flag does. */
  stopped(id: string): void {
    const task = this.take(id);
    this.listener.finished(task, { type: 'stopped', startedAt: task.startedAt!, finishedAt: Date.now(), worker: this.worker });
  }

  terminate(task: Task): void {
    if (this.running.has(task.id)) this.stopped(task.id);
  }

  async close(): Promise<void> {
    for (const task of [...this.running.values()]) this.terminate(task);
  }

  private take(id: string): Task {
    const task = this.running.get(id);
    if (!task) throw new Error(`task ${id} is not running on the ${this.worker} executor (running: ${this.runningIds.join(', ') || 'none'})`);
    this.running.delete(id);
    return task;
  }
}

/** A real engine (real store) whose pool and loop are fake executors: no thread is started. */
export function fakeEngine(options: Partial<EngineOptions> & { poolCapacity?: number; loopCapacity?: number; handOverPerFill?: boolean } = {}) {
  const executors: { pool?: FakeExecutor; loop?: FakeExecutor } = {};
  const { poolCapacity = 2, loopCapacity = 4, handOverPerFill = false, ...rest } = options;
  const engine = makeEngine({
    checkpointFile: null,
    telemetryIntervalMs: 60_000,
    storeFlushMs: 5,
    cancelGraceMs: 0,
    ...rest,
    executors: {
      pool: (listener) => (executors.pool = new FakeExecutor(listener, poolCapacity, 'pool', handOverPerFill)),
      loop: (listener) => (executors.loop = new FakeExecutor(listener, loopCapacity, 'loop', handOverPerFill)),
    },
  });
  return { engine, pool: executors.pool!, loop: executors.loop! };
}

/**
 * What the death of its process does to an engine, done in this process: the operating system
 * lets go of its lock on the data directory and of its store connection, and nothing it still
 * held in memory is written. The next engine then opens the store as the next process would.
 */
export function dies(engine: Engine): void {
  const { owned } = engine as unknown as { owned: OwnedStore };
  owned.store.close();
  owned.lock.release();
}

/** Lets queued microtasks (the scheduler's pump) and short timers run. */
export function settle(ms = 0): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
