import type { KindExecutor } from '../../contract/task-states.js';
import type { Executor, ReadyRequest, ReadySource } from './executor.js';
import { ReadyQueue } from './ready-queue.js';
import type { Task } from './task.js';

/** The executors an engine runs tasks on, one per place a kind can run. */
export type Executors = Readonly<Record<KindExecutor, Executor>>;

/**
 * Which ready task runs next, and where: one ready queue per executor (higher priority first,
 * then first admitted), per-job concurrency caps, and crash suspects run one at a time with
 * nothing beside them, so that a crash during one of them can only be its doing.
 */
export class Scheduler {
  private readonly ready: Record<KindExecutor, ReadyQueue> = { pool: new ReadyQueue(), loop: new ReadyQueue() };
  /** Ready suspects of an earlier crash, oldest first; while any waits, nothing else is handed over. */
  private readonly isolated: Task[] = [];
  /** The suspect on an executor now: nothing runs beside it. */
  private solo: Task | null = null;
  private executors: Executors | null = null;
  /** What each executor pulls from: made once, as the scheduler pumps at every task's end. */
  private readonly sources: Record<KindExecutor, ReadySource> = { pool: this.readySource('pool'), loop: this.readySource('loop') };
  private onExecutors = 0;
  private pumpScheduled = false;
  private stopped = false;
  /** Set while the store cannot be written: nothing starts until what runs can be recorded. */
  private held = false;

  /** `beforeSolo` runs before a suspect is handed over alone (the engine makes every earlier end durable). */
  constructor(private readonly beforeSolo: () => void = () => {}) {}

  /** The executors are built after the scheduler, as they report to the life cycle. */
  attach(executors: Executors): void {
    this.executors = executors;
  }

  executorOf(task: Task): Executor {
    return this.executors![task.executor];
  }

  /** Tasks handed to an executor and not yet back. */
  get inFlight(): number {
    return this.onExecutors;
  }

  /** A task ready to run (its dependencies succeeded). */
  enqueue(task: Task): void {
    if (task.isolated) this.isolated.push(task);
    else this.ready[task.executor].push(task);
    this.schedulePump();
  }

  /** No task is handed over any more (shutdown). */
  stop(): void {
    this.stopped = true;
  }

  /** Holds every ready task back (true) or lets them go again (false). */
  hold(held: boolean): void {
    this.held = held;
    if (!held) this.schedulePump();
  }

  schedulePump(): void {
    if (this.pumpScheduled || this.stopped || this.held) return;
    this.pumpScheduled = true;
    queueMicrotask(this.pump);
  }

  /** Lets every executor take what it has room for (one function for every pump). */
  private readonly pump = (): void => {
    this.pumpScheduled = false;
    if (this.stopped || this.held || !this.executors) return;
    for (const kind of EXECUTOR_KINDS) this.executors[kind].fill(this.sources[kind]);
  };

  /** `task` came back from its executor; `ran` is false when it never began there. */
  left(task: Task, ran: boolean): void {
    task.onExecutor = false;
    if (this.solo === task) this.solo = null;
    if (ran) task.isolated = false;
    task.job.active--;
    this.onExecutors--;
    const job = task.job;
    while (job.held.length > 0 && !job.atCap) {
      const held = job.held.shift()!;
      if (held.state === 'queued') this.ready[held.executor].push(held);
    }
    this.schedulePump();
  }

  private readySource(kind: KindExecutor): ReadySource {
    const queue = this.ready[kind];
    return (request = ANY_TASK) => {
      const { accept } = request;
      if (this.solo) return null;
      while (this.isolated.length > 0 && !waiting(this.isolated[0]!)) this.isolated.shift();
      if (this.isolated.length > 0) return this.nextIsolated(kind, request);
      for (;;) {
        const task = queue.peek();
        if (!task) return null;
        if (!waiting(task)) {
          queue.pop(); // cancelled or skipped while it waited
          continue;
        }
        if (task.job.atCap) {
          queue.pop();
          task.job.held.push(task);
          continue;
        }
        if (accept && !accept(task)) return null;
        queue.pop();
        return this.handOver(task);
      }
    };
  }

  /** A suspect goes only to an idle engine, and alone: not as part of a batch. */
  private nextIsolated(kind: KindExecutor, { accept, joining }: ReadyRequest): Task | null {
    const task = this.isolated[0]!;
    if (this.onExecutors > 0 || task.executor !== kind || joining || (accept && !accept(task))) return null;
    this.isolated.shift();
    this.beforeSolo();
    this.solo = task;
    return this.handOver(task);
  }

  private handOver(task: Task): Task {
    task.onExecutor = true;
    task.job.active++;
    this.onExecutors++;
    return task;
  }
}

const EXECUTOR_KINDS = ['pool', 'loop'] as const;

/** A request with no conditions (one object for every call that gives none). */
const ANY_TASK: ReadyRequest = Object.freeze({});

function waiting(task: Task): boolean {
  return task.state === 'queued' && !task.onExecutor;
}
