/**
 * The key ranges of a split key-ordered export and who reads each, in memory that the task's
 * thread and the range threads share (`key-ordered-export.ts`).
 *
 * The task's thread takes ranges from the front, in key order, and writes them straight to the
 * output; the range threads take them from the back, each into a file of its own, until the two
 * meet. So however late a range thread starts, and however the machine shares its cores out,
 * every thread reads until there is nothing left: the split follows the threads' real speed, not
 * equal shares fixed in advance. A range taken from the back is claimed, then done (its rows and
 * where its bytes lie in its thread's file published with it), or taken back by the task's thread
 * when its thread fails or stalls; the claim, the done and the take-back are compare-and-swaps on
 * the range's state, so exactly one of the range's thread and the task's thread writes it out.
 */

/** A range's state; a claimed one holds CLAIMED + the number of the thread that claimed it. */
const FREE = 0;
const DONE = 1;
const TAKEN_BACK = 2;
const CLAIMED = 3;

/** Counters at the start of the board. */
const TAKEN = 0; // ranges handed out, from either end (may pass the count: a claim too many fails)
const FROM_BACK = 1; // of which from the back
const HELPER_ROWS = 2; // rows the range threads have read so far (progress only)
const COUNTERS = 3;
/** Figures recorded per range. */
const FIGURES = 4;

/** Where the per-range figures start: after the counters and states, at a multiple of 8. */
function figuresOffset(count: number): number {
  return Math.ceil(((COUNTERS + count) * Int32Array.BYTES_PER_ELEMENT) / 8) * 8;
}

export class KeyRangeBoard {
  private readonly counters: Int32Array;
  private readonly states: Int32Array;
  /** Per range: rows, the offset and length of its bytes in its thread's file, and that thread's number. */
  private readonly figures: Float64Array;
  private front = 0;

  /** A new board of `count` ranges, or the view of one shared by another thread. */
  constructor(
    readonly count: number,
    readonly memory = new SharedArrayBuffer(figuresOffset(count) + count * FIGURES * Float64Array.BYTES_PER_ELEMENT),
  ) {
    this.counters = new Int32Array(memory, 0, COUNTERS);
    this.states = new Int32Array(memory, COUNTERS * Int32Array.BYTES_PER_ELEMENT, count);
    this.figures = new Float64Array(memory, figuresOffset(count), count * FIGURES);
  }

  /** The task's thread: the next range from the front, or null when every range is taken. */
  claimFront(): number | null {
    if (Atomics.add(this.counters, TAKEN, 1) >= this.count) return null;
    return this.front++;
  }

  /** Ranges the task's thread took from the front: 0 to this, excluded. */
  get frontCount(): number {
    return this.front;
  }

  /**
   * A range thread: the next range from the back, or null when every range is taken (or the
   * one it was handed has been taken back meanwhile, which happens only once it was given up).
   */
  claimBack(thread: number): number | null {
    if (Atomics.add(this.counters, TAKEN, 1) >= this.count) return null;
    const index = this.count - 1 - Atomics.add(this.counters, FROM_BACK, 1);
    return Atomics.compareExchange(this.states, index, FREE, CLAIMED + thread) === FREE ? index : null;
  }

  /** A range thread: its range is written, `rows` rows in `bytes` bytes from `offset` of its file. False when it was taken back meanwhile. */
  finish(index: number, thread: number, rows: number, offset: number, bytes: number): boolean {
    const at = index * FIGURES;
    this.figures[at] = rows;
    this.figures[at + 1] = offset;
    this.figures[at + 2] = bytes;
    this.figures[at + 3] = thread;
    // The figures above are published by this store's ordering.
    const done = Atomics.compareExchange(this.states, index, CLAIMED + thread, DONE) === CLAIMED + thread;
    Atomics.notify(this.states, index);
    return done;
  }

  addHelperRows(rows: number): void {
    Atomics.add(this.counters, HELPER_ROWS, rows);
  }

  /** Rows the range threads have read so far, for progress (a range taken back may count twice). */
  helperRows(): number {
    return Atomics.load(this.counters, HELPER_ROWS);
  }

  /** Whether a range is done, claimed by a thread (its number), taken back, or still free. */
  state(index: number): { done: true } | { claimedBy: number } | { takenBack: true } | { free: true } {
    const state = Atomics.load(this.states, index);
    if (state === DONE) return { done: true };
    if (state >= CLAIMED) return { claimedBy: state - CLAIMED };
    return state === TAKEN_BACK ? { takenBack: true } : { free: true };
  }

  /** The task's thread: waits up to `ms` for a back range's state to change from what it was. */
  wait(index: number, ms: number): void {
    const state = Atomics.load(this.states, index);
    if (state !== DONE) Atomics.wait(this.states, index, state, ms);
  }

  /** A done range's rows, the place of its bytes in its thread's file, and that thread. */
  figuresOf(index: number): { rows: number; offset: number; bytes: number; thread: number } {
    const at = index * FIGURES;
    return { rows: this.figures[at]!, offset: this.figures[at + 1]!, bytes: this.figures[at + 2]!, thread: this.figures[at + 3]! };
  }

  /** The task's thread: takes a range back to write it itself; false when its thread has just finished it. */
  takeBack(index: number): boolean {
    for (;;) {
      const state = Atomics.load(this.states, index);
      if (state === DONE) return false;
      if (state === TAKEN_BACK) return true;
      if (Atomics.compareExchange(this.states, index, state, TAKEN_BACK) === state) return true;
    }
  }
}
