import type { Piscina } from 'piscina';

type LoadBalancer = NonNullable<NonNullable<ConstructorParameters<typeof Piscina>[0]>['loadBalancer']>;
type PoolThread = Parameters<LoadBalancer>[1][number];

/**
 * A pool runs `SPARE_THREADS` threads more than it has lanes: spares, booted and with their entry
 * loaded ahead of need. When a thread is ended (a hard cancel, a timeout, a fault), the work
 * queued behind it goes to a spare at once instead of waiting for a new thread to boot and load
 * (tens of milliseconds of a core), and a new spare is started. Two spares, so that a second
 * thread ended before the first one's replacement is ready (two stuck tasks of a cancelled job,
 * or cancels in quick succession on busy cores) finds one too.
 *
 * piscina keeps `lanes` threads and starts one more (up to its maximum, `lanes + SPARE_THREADS`)
 * when a run finds no thread to take it: the pool starts the spares that way (`startThread`), with
 * the pool or, for a short run, when work first waits behind busy lanes. This balancer is what
 * keeps the spares out of the work: it never lets more than `lanes` threads be busy, and gives
 * work to the oldest idle thread that is ready, so the youngest threads are the spares.
 *
 * Ready, not merely idle: piscina offers its queue to every thread it has, booting ones too, when
 * one becomes ready. A run given to a thread still booting waits for that thread's boot, and
 * after hard cancels in quick succession (no spare ready, several booting side by side) the
 * oldest is not always the first to be ready: the work queued behind the cancel went to it and
 * waited tens of milliseconds longer than it had to, while a younger one stood ready.
 */
export class PoolLanes {
  /** Every thread piscina has offered, by id: a thread handed a task while it boots still counts as busy. */
  private readonly known = new Map<number, PoolThread>();
  /**
   * Threads piscina has said are ready (its `workerCreate` event, told by `ready`): booted, their
   * entry loaded. piscina takes the threads it starts with its pool as ready from the start.
   */
  private readonly readyThreads = new Set<number>();
  /** Set during a run made only to have piscina start a thread: no thread is given it. */
  private refusing = false;
  /** Set when this balancer gives a run a thread; read by `placing`. */
  private placed = false;
  /** A lane lent while a thread's task is told to stop (see `lend`): 0 or 1. */
  private lent = 0;

  constructor(readonly lanes: number) {}

  /** piscina's `loadBalancer`: the thread to run the next task, or null to keep it queued. */
  readonly balance: LoadBalancer = (_task, offered) => {
    if (this.refusing) return null;
    let idle: PoolThread | null = null;
    let idleReady: PoolThread | null = null;
    for (const thread of offered) {
      this.known.set(thread.id, thread);
      if (thread.currentUsage !== 0 || thread.terminating || thread.destroyed) continue;
      if (idle === null || thread.id < idle.id) idle = thread;
      if (this.readyThreads.has(thread.id) && (idleReady === null || thread.id < idleReady.id)) idleReady = thread;
    }
    // A booting thread only when none is ready (it runs the work once booted, as piscina would).
    idle = idleReady ?? idle;
    if (idle === null) return null;
    let busy = 0;
    for (const [id, thread] of this.known) {
      if (thread.terminating || thread.destroyed) {
        this.known.delete(id);
        this.readyThreads.delete(id);
      } else if (thread.currentUsage > 0) busy++;
    }
    if (busy >= this.lanes + this.lent) return null;
    this.placed = true;
    return idle;
  };

  /**
   * While a running task is told to stop and its grace period runs, its thread keeps working
   * (a stuck call to the end of the grace, then the thread is ended): with a lane lent, work
   * queued behind it runs on a spare meanwhile instead of waiting out the grace. One at most,
   * whatever the number of tasks stopping: the pool never runs more than one thread beyond its
   * lanes, and never starts one for it (a spare takes the work).
   */
  lend(lent: boolean): void {
    this.lent = lent ? 1 : 0;
  }

  /** Threads that may run work at once: the lanes, and one more while a lane is lent. */
  get working(): number {
    return this.lanes + this.lent;
  }

  /** The thread of this id is ready for work (piscina's `workerCreate`). */
  ready(threadId: number): void {
    this.readyThreads.add(threadId);
  }

  /** The thread of this id has ended (piscina's `workerDestroy`). */
  ended(threadId: number): void {
    this.readyThreads.delete(threadId);
    this.known.delete(threadId);
  }

  /**
   * Whether the run `run` submits went to a thread at once (piscina offers a new run to the
   * threads within the call, when its queue is empty), or waits in piscina's queue.
   */
  placing(run: () => void): boolean {
    this.placed = false;
    run();
    return this.placed;
  }

  /**
   * Makes piscina start a thread (if it has fewer than its maximum): `run` submits a run with the
   * signal given, the run finds no thread to take it, and it is withdrawn at once.
   */
  startThread(run: (signal: AbortSignal) => void): void {
    const withdrawn = new AbortController();
    this.refusing = true;
    try {
      run(withdrawn.signal);
    } finally {
      this.refusing = false;
      withdrawn.abort();
    }
  }

  /** The threads that are lanes, in the order work goes to them (ready ones first, oldest first): all but the spares. */
  lanesOf<T extends { threadId: number }>(threads: readonly T[]): T[] {
    const order = (thread: T) => (this.readyThreads.has(thread.threadId) ? 0 : 1);
    return [...threads].sort((a, b) => order(a) - order(b) || a.threadId - b.threadId).slice(0, this.lanes);
  }
}

/** Threads a pool runs besides its lanes (about 9 MB of memory each, idle). */
export const SPARE_THREADS = 2;
