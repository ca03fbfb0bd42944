import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { KeyRangeBoard } from '../../workers/handlers/key-range-board.js';

/** The board as the built range threads load it (`npx tsc -b tsconfig.node.json` builds dist/). */
const BUILT_BOARD = pathToFileURL(join(process.cwd(), 'dist/workers/handlers/key-range-board.js')).href;

/**
 * Threads that claim ranges from the back of a shared board until none is left, each range
 * "written" by spinning a few microseconds, and post the indexes they finished.
 */
function backThreads(board: KeyRangeBoard, threads: number): Array<Promise<number[]>> {
  const source = `
    const { parentPort, workerData } = require('node:worker_threads');
    import(workerData.url).then(({ KeyRangeBoard }) => {
      const board = new KeyRangeBoard(workerData.count, workerData.memory);
      const finished = [];
      for (let index = board.claimBack(workerData.thread); index !== null; index = board.claimBack(workerData.thread)) {
        const until = performance.now() + (index % 7) * 0.01;
        while (performance.now() < until);
        board.addHelperRows(1);
        if (board.finish(index, workerData.thread, index * 10, index * 100, 100)) finished.push(index);
      }
      parentPort.postMessage(finished);
    });`;
  return Array.from({ length: threads }, (_, i) => {
    const worker = new Worker(source, { eval: true, workerData: { url: BUILT_BOARD, count: board.count, memory: board.memory, thread: i + 2 } });
    return new Promise<number[]>((resolve, reject) => {
      worker.once('message', (finished: number[]) => {
        void worker.terminate();
        resolve(finished);
      });
      worker.once('error', reject);
    });
  });
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
      const finished = (await Promise.all(back)).flat();
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
      const back = backThreads(board, 1);
      // Once the thread is under way (a different number of ranges in each round), take back
      // every range, the one it is writing included.
      const after = 1 + ((round * 17) % 150);
      const giveUpAt = performance.now() + 20_000;
      while (board.helperRows() < after && performance.now() < giveUpAt) await new Promise((resolve) => setImmediate(resolve));
      const takenBack: number[] = [];
      for (let index = count - 1; index >= 0; index--) if (board.takeBack(index)) takenBack.push(index);
      const finished = await back[0]!;
      expect(finished.length, `round ${round}`).toBeGreaterThanOrEqual(after);
      expect(finished.filter((index) => takenBack.includes(index))).toEqual([]);
      for (const index of finished) expect(board.state(index)).toEqual({ done: true });
      for (const index of takenBack) expect(board.state(index)).toEqual({ takenBack: true });
      expect([...finished, ...takenBack].sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
    }
  });
});
