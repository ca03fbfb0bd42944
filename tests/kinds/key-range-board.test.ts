import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { KeyRangeBoard } from '../../workers/handlers/key-range-board.js';

/** The board as the built range threads load it (`npx tsc -b tsconfig.node.json` builds dist/). */
const BUILT_BOARD = pathToFileURL(join(process.cwd(), 'dist/workers/handlers/key-range-board.js')).href;

/** A gate in shared memory: the range a thread holds (plus one, 0 before), and whether it may go on. */
const HELD = 0;
const RELEASED = 1;

/**
 * Where a range thread stops: at its `claim`th range, once its rows are read and just before it
 * marks the range done, until the task's thread lets it go; so the task's thread knows which
 * range is being written when it takes ranges back, whatever the threads' speeds. The thread
 * spins on the gate rather than sleeping, so that once let go it races the take-back at once.
 */
interface Hold {
  claim: number;
  gate: Int32Array;
}

/**
 * Threads that claim ranges from the back of a shared board until none is left, each range
 * "written" by spinning a few microseconds, and post the indexes they finished and those whose
 * finish the board refused (taken back meanwhile).
 */
function backThreads(board: KeyRangeBoard, threads: number, hold?: Hold): Array<Promise<{ finished: number[]; refused: number[] }>> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.url).then(({ KeyRangeBoard }) => {
      const board = new KeyRangeBoard(workerData.count, workerData.memory);
      const gate = workerData.gate ? new Int32Array(workerData.gate) : null;
      const finished = [];
      const refused = [];
      let claims = 0;
      for (let index = board.claimBack(workerData.thread); index !== null; index = board.claimBack(workerData.thread)) {
        const until = performance.now() + (index % 7) * 0.01;
        while (performance.now() < until);
        board.addHelperRows(1);
        if (gate && ++claims === workerData.holdAt) {
          Atomics.store(gate, ${HELD}, index + 1);
          const giveUpAt = performance.now() + 20000;
          while (Atomics.load(gate, ${RELEASED}) === 0 && performance.now() < giveUpAt);
        }
        if (board.finish(index, workerData.thread, index * 10, index * 100, 100)) finished.push(index);
        else refused.push(index);
      }
      parentPort.postMessage({ finished, refused });
    });`;
  return Array.from({ length: threads }, (_, i) => {
    const workerData = { url: BUILT_BOARD, count: board.count, memory: board.memory, thread: i + 2, gate: hold?.gate.buffer, holdAt: hold?.claim };
    const worker = new Worker(source, { eval: true, workerData });
    return new Promise<{ finished: number[]; refused: number[] }>((resolve, reject) => {
      worker.once('message', (report: { finished: number[]; refused: number[] }) => {
        void worker.terminate();
        resolve(report);
      });
      worker.once('error', reject);
    });
  });
}

/** Waits (without blocking the event loop) until a held thread says which range it holds; null if none within 20 s. */
async function heldRange(gate: Int32Array): Promise<number | null> {
  const giveUpAt = performance.now() + 20_000;
  while (Atomics.load(gate, HELD) === 0 && performance.now() < giveUpAt) await new Promise((resolve) => setImmediate(resolve));
  const held = Atomics.load(gate, HELD);
  return held === 0 ? null : held - 1;
}

function release(gate: Int32Array): void {
  Atomics.store(gate, RELEASED, 1);
}

describe('key-range board: ranges claimed from both ends by several threads', () => {
  it('hands out every range exactly once, the front from 0 up and the back from the end down, whatever the threads\' speeds', async () => {
    for (const [count, threads] of [
      [1, 1],
      [2, 1],
      [61, 1],
      [500, 3],
    ] as const) {
      const board = new KeyRangeBoard(count);
      const back = backThreads(board, threads);
      // The front starts once a back thread has claimed its first range, so that both ends take some.
      const giveUpAt = performance.now() + 20_000;
      while ('free' in board.state(count - 1) && performance.now() < giveUpAt) await new Promise((resolve) => setImmediate(resolve));
      const front: number[] = [];
      for (let index = board.claimFront(); index !== null; index = board.claimFront()) {
        front.push(index);
        const until = performance.now() + 0.02;
        while (performance.now() < until);
      }
      const reports = await Promise.all(back);
      const finished = reports.flatMap((report) => report.finished);
      // Nothing was taken back: every range a thread claimed is its to finish.
      expect(reports.flatMap((report) => report.refused)).toEqual([]);
      expect(finished).toContain(count - 1);
      expect(front).toEqual(Array.from({ length: front.length }, (_, i) => i));
      expect(board.frontCount).toBe(front.length);
      const all = [...front, ...finished].sort((a, b) => a - b);
      expect(all, `${count} ranges, ${threads} threads`).toEqual(Array.from({ length: count }, (_, i) => i));
      // Each back range is done, with the figures its thread recorded.
      for (const index of finished) {
        expect(board.state(index)).toEqual({ done: true });
        expect(board.figuresOf(index)).toEqual({ rows: index * 10, offset: index * 100, bytes: 100, thread: expect.any(Number) as number });
      }
      expect(board.helperRows()).toBe(finished.length);
    }
  });

  it('lets exactly one of a range\'s thread and the task\'s thread write a range taken back while it is being written', async () => {
    const count = 200;
    for (let round = 0; round < 12; round++) {
      const board = new KeyRangeBoard(count);
      // The thread stops in its `claim`th range (a different one in each round), rows read, not
      // yet done; the ranges before it are done, the ones after it still free.
      const claim = 1 + ((round * 17) % 150);
      const gate = new Int32Array(new SharedArrayBuffer(2 * Int32Array.BYTES_PER_ELEMENT));
      const back = backThreads(board, 1, { claim, gate });
      const held = count - claim;
      // It is writing that range now, the take-back not yet begun.
      expect(await heldRange(gate), `round ${round}`).toBe(held);
      expect(board.state(held)).toEqual({ claimedBy: 2 });
      expect(board.helperRows()).toBe(claim);
      // In even rounds every range is taken back while the thread is held in its range; in odd
      // rounds the thread is let go as the take-back starts, its finish racing the take-back:
      // either may win (the take-back, mostly), and the checks below hold for both.
      const racing = round % 2 === 1;
      if (racing) release(gate);
      const takenBack: number[] = [];
      for (let index = count - 1; index >= 0; index--) if (board.takeBack(index)) takenBack.push(index);
      if (!racing) release(gate);
      const { finished, refused } = await back[0]!;
      const doneBefore = Array.from({ length: claim - 1 }, (_, i) => count - 1 - i);
      if (!racing) {
        // Held through the take-back: its range, and every one after it, is the task's thread's.
        expect(finished, `round ${round}`).toEqual(doneBefore);
        expect(refused, `round ${round}`).toEqual([held]);
      } else {
        // Let go as the take-back starts: the held range, and any the thread claims after it, is
        // each the side's that gets there first; those done before the hold stay the thread's.
        expect(finished.slice(0, claim - 1), `round ${round}`).toEqual(doneBefore);
        expect(finished.includes(held), `round ${round}`).toBe(!refused.includes(held));
      }
      // A range refused to its thread is one taken back; none it finished was.
      expect(refused.filter((index) => !takenBack.includes(index)), `round ${round}`).toEqual([]);
      expect(finished.filter((index) => takenBack.includes(index)), `round ${round}`).toEqual([]);
      for (const index of finished) expect(board.state(index)).toEqual({ done: true });
      for (const index of takenBack) expect(board.state(index)).toEqual({ takenBack: true });
      expect([...finished, ...takenBack].sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
    }
  });
});
