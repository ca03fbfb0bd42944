/**
 * A pool task's log lines travel on the engine's BroadcastChannel, its outcome on piscina's own
 * port, and nothing orders two ports: the outcome can come first, and a task recorded as ended
 * before its lines arrive shows a reader none of them (and its lines, arriving for a task the
 * pool no longer holds, are lost). So the worker counts the lines each task posted in shared
 * memory (one Int32 per task slot), the engine counts those that arrived, and a task's end waits
 * here until the two agree.
 *
 * Lines posted from a thread arrive in order and are never dropped while both ends are open, so
 * the wait is a few turns of the event loop at most. It is bounded all the same, so that a line
 * lost some other way cannot hold a task forever: after `waitMs` the end goes ahead and is told
 * how many lines of each task are missing.
 */
export class LogArrivals {
  /** Shared with the pool's threads: lines posted by the task in each slot (the worker writes). */
  readonly postedBuffer: SharedArrayBuffer;
  private readonly posted: Int32Array;
  private readonly arrived: Uint32Array;
  /** Ends waiting for lines, by the slots they wait on. */
  private readonly waitingBySlot = new Map<number, WaitingEnd>();
  private closed = false;

  constructor(
    slots: number,
    private readonly waitMs: number,
  ) {
    this.postedBuffer = new SharedArrayBuffer(slots * 4);
    this.posted = new Int32Array(this.postedBuffer);
    this.arrived = new Uint32Array(slots);
  }

  /** A slot goes to a new task: nothing posted, nothing arrived. */
  reset(slot: number): void {
    Atomics.store(this.posted, slot, 0);
    this.arrived[slot] = 0;
  }

  /** A line of the task in `slot` arrived. */
  arrivedOne(slot: number): void {
    const count = ++this.arrived[slot]!;
    const waiting = this.waitingBySlot.get(slot);
    // Beyond what the task posted is someone else's forgery: it settles nothing.
    if (waiting && count <= Atomics.load(this.posted, slot) && --waiting.missing === 0) this.settle(waiting, false);
  }

  /**
   * Runs `end` once every line the tasks in `slots` posted has arrived: at once when they have
   * (the usual case), else when the last one comes or `waitMs` has passed. `missing` is empty
   * unless the wait ran out (or the channel closed); then it holds how many lines of each short
   * slot never came.
   * The tasks in `slots` have ended, so what they posted no longer grows.
   */
  whenArrived(slots: readonly number[], end: (missing: ReadonlyMap<number, number>) => void): void {
    let missing = 0;
    for (const slot of slots) missing += this.missingOf(slot);
    if (missing === 0) {
      end(NONE_MISSING);
      return;
    }
    if (this.closed) {
      end(this.shortSlots(slots));
      return;
    }
    const waiting: WaitingEnd = { slots, missing, end, timer: setTimeout(() => this.settle(waiting, true), this.waitMs) };
    for (const slot of slots) this.waitingBySlot.set(slot, waiting);
  }

  /** The channel is closing: every wait ends now with what arrived, and later ones do not wait. */
  close(): void {
    this.closed = true;
    for (const waiting of new Set(this.waitingBySlot.values())) this.settle(waiting, true);
  }

  private missingOf(slot: number): number {
    return Math.max(0, Atomics.load(this.posted, slot) - this.arrived[slot]!);
  }

  private settle(waiting: WaitingEnd, timedOut: boolean): void {
    clearTimeout(waiting.timer);
    for (const slot of waiting.slots) this.waitingBySlot.delete(slot);
    waiting.end(timedOut ? this.shortSlots(waiting.slots) : NONE_MISSING);
  }

  private shortSlots(slots: readonly number[]): Map<number, number> {
    const missing = new Map<number, number>();
    for (const slot of slots) {
      const short = this.missingOf(slot);
      if (short > 0) missing.set(slot, short);
    }
    return missing;
  }
}

/** What every end that waited for nothing is told (read only; one object, not one per batch). */
const NONE_MISSING: ReadonlyMap<number, number> = new Map();

interface WaitingEnd {
  readonly slots: readonly number[];
  missing: number;
  readonly end: (missing: ReadonlyMap<number, number>) => void;
  readonly timer: ReturnType<typeof setTimeout>;
}
