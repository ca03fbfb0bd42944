/**
 * Memory the V8 heap limit does not count (Buffers, typed arrays, external strings) is held to a
 * ceiling per task and for the process, watched from the main thread: the task that goes over
 * ends with WORKER_OUT_OF_MEMORY, the others run on, and the process gives the memory back.
 * The ceilings are set small here, so that a broken watch cannot take much of the machine: each
 * script stops taking at 640 MiB, holds it for 30 s and then succeeds, which fails the test.
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Engine } from '../../electron/engine/engine.js';
import { assertBuilt } from '../cli/bin.js';
import { jobSpec, makeEngine, waitFor } from '../support/engine-fixture.js';

beforeAll(assertBuilt);

const FIXTURE = fileURLToPath(new URL('./fixtures/holds-memory.mjs', import.meta.url));
const MB = 1024 * 1024;
const HEAP_MB = 48;
const EXTERNAL_MB = 96;
/** What a script takes at most, then holds for long enough that even a starved main thread sees it. */
const SAFETY_MB = 640;
const HOLD_MS = 30_000;

function holder(id: string, args: Record<string, unknown>): Record<string, unknown> {
  return { id, kind: 'script', module: FIXTURE, args };
}

/** Others that run beside the one that goes over, and must all succeed. */
const BYSTANDERS = [
  ...Array.from({ length: 6 }, (_, i) => ({ id: `cpu${i}`, kind: 'demo.cpu', ms: 150 })),
  ...Array.from({ length: 20 }, (_, i) => ({ id: `echo${i}`, kind: 'demo.echo', value: i })),
  { id: 'alloc', kind: 'demo.alloc', mb: 8, holdMs: 100 },
];

function watchedEngine(processMb: number, poolSize = 2): Engine {
  return makeEngine({
    poolSize,
    cancelGraceMs: 0,
    resourceLimits: { maxOldGenerationSizeMb: HEAP_MB },
    memoryLimits: { taskExternalMb: EXTERNAL_MB, processMb, sampleMs: 50 },
  });
}

/**
 * The process's rss once the pool has `size` threads again and the memory of the thread it ended
 * has had up to 10 s to come back under `under`: a thread ended for its memory gives it back as
 * it exits, which under load can end well after piscina has counted its replacement.
 */
async function rssSettled(engine: Engine, size: number, under: number): Promise<number> {
  await waitFor(() => engine.pool.threadCount === size, 20_000, `the pool to have ${size} threads again`);
  const deadline = performance.now() + 10_000;
  let rss = process.memoryUsage.rss();
  while (rss >= under && performance.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    rss = process.memoryUsage.rss();
  }
  return rss;
}

describe('memory outside the heap has a ceiling per task', () => {
  const WAYS = [
    { how: 'buffers', what: 'Buffers, written' },
    { how: 'typed-arrays', what: 'Float64Arrays, filled' },
    { how: 'external-string', what: 'big latin1 strings (external, outside the heap)' },
  ];
  for (const { how, what } of WAYS) {
    it(`a script that holds ${what} ends WORKER_OUT_OF_MEMORY; the other tasks succeed; the memory comes back`, async () => {
      const before = process.memoryUsage.rss();
      const processMb = Math.round(before / MB) + 1536;
      const engine = watchedEngine(processMb);
      const job = await engine.submitJob(jobSpec([holder('hog', { how, chunkMb: 16, totalMb: SAFETY_MB, holdMs: HOLD_MS }), ...BYSTANDERS]), '/');
      await engine.waitForJob(job.id);
      const hog = engine.task(`${job.id}:hog`)!;
      expect({ state: hog.state, code: hog.error?.code }).toEqual({ state: 'failed', code: 'WORKER_OUT_OF_MEMORY' });
      expect(hog.error!.message).toMatch(/^the worker thread ran out of memory: the task held about \d+ MiB, over its ceiling of \d+ MiB \(its heap limit and 96 MiB outside the heap\)$/);
      for (const other of engine.tasksOfJob(job.id).filter((t) => t.id !== 'hog')) expect([other.id, other.state]).toEqual([other.id, 'succeeded']);
      // The thread went with its memory, and piscina filled the pool again.
      const after = await rssSettled(engine, 2, before + 256 * MB);
      expect((after - before) / MB).toBeLessThan(256);
      expect(after).toBeLessThan(engine.pool.memory.processLimit - 1024 * MB);
      const next = await engine.submitJob(jobSpec([{ id: 'a', kind: 'demo.echo', value: 'still works' }]), '/');
      expect((await engine.waitForJob(next.id)).state).toBe('succeeded');
    }, 60_000);
  }

  it('a script that builds big strings in the heap is stopped by the heap limit, WORKER_OUT_OF_MEMORY', async () => {
    const before = process.memoryUsage.rss();
    const engine = watchedEngine(Math.round(before / MB) + 1536);
    const job = await engine.submitJob(jobSpec([holder('hog', { how: 'heap-string', chunkMb: 4, totalMb: SAFETY_MB }), ...BYSTANDERS]), '/');
    await engine.waitForJob(job.id);
    const hog = engine.task(`${job.id}:hog`)!;
    expect({ state: hog.state, code: hog.error?.code }).toEqual({ state: 'failed', code: 'WORKER_OUT_OF_MEMORY' });
    expect(hog.error!.message).toMatch(/^the worker thread ran out of memory/);
    for (const other of engine.tasksOfJob(job.id).filter((t) => t.id !== 'hog')) expect([other.id, other.state]).toEqual([other.id, 'succeeded']);
    expect((await rssSettled(engine, 2, before + 256 * MB)) - before).toBeLessThan(256 * MB);
  }, 60_000);

  it('a task that takes memory and gives it back, again and again, is not charged for it', async () => {
    const engine = watchedEngine(Math.round(process.memoryUsage.rss() / MB) + 1536, 1);
    // 48 rounds of 32 MiB, 1.5 GiB touched in all. The collector lets about four rounds pile up
    // before it frees them (about 128 MiB held at the peak, with 64 MiB rounds three: 192 MiB), so
    // the peak stays well under the ceiling of 208 MiB whatever else the process takes meanwhile.
    const job = await engine.submitJob(jobSpec([{ id: 'churn', kind: 'script', module: join(FIXTURE, '..', 'churns-memory.mjs'), args: { rounds: 48, mb: 32 } }]), '/');
    await engine.waitForJob(job.id);
    expect(engine.task(`${job.id}:churn`)).toMatchObject({ state: 'succeeded', result: { rounds: 48 } });
  }, 60_000);
});

describe('without per-thread counters (as on systems other than Linux)', () => {
  it("a task's share is the process's growth since it began: the script holding Buffers still ends WORKER_OUT_OF_MEMORY", async () => {
    const before = process.memoryUsage.rss();
    const engine = makeEngine({
      poolSize: 2,
      cancelGraceMs: 0,
      resourceLimits: { maxOldGenerationSizeMb: HEAP_MB },
      memoryLimits: { taskExternalMb: EXTERNAL_MB, processMb: Math.round(before / MB) + 1536, sampleMs: 50, perThreadCounters: false },
    });
    const job = await engine.submitJob(jobSpec([holder('hog', { how: 'buffers', chunkMb: 16, totalMb: SAFETY_MB, holdMs: HOLD_MS }), ...BYSTANDERS]), '/');
    await engine.waitForJob(job.id);
    const hog = engine.task(`${job.id}:hog`)!;
    expect({ state: hog.state, code: hog.error?.code }).toEqual({ state: 'failed', code: 'WORKER_OUT_OF_MEMORY' });
    for (const other of engine.tasksOfJob(job.id).filter((t) => t.id !== 'hog')) expect([other.id, other.state]).toEqual([other.id, 'succeeded']);
    expect((await rssSettled(engine, 2, before + 256 * MB)) - before).toBeLessThan(256 * MB);
  }, 60_000);
});

describe('the process has a ceiling', () => {
  it('over it, the task that holds the most ends WORKER_OUT_OF_MEMORY and the one that holds less finishes', async () => {
    const before = process.memoryUsage.rss();
    // Each task is under its own ceiling (48 + 64 + 500 MiB); together they pass the process's,
    // whatever the three threads themselves take (less than 300 MiB), and the small one alone does not.
    const engine = makeEngine({
      poolSize: 3,
      cancelGraceMs: 0,
      resourceLimits: { maxOldGenerationSizeMb: HEAP_MB },
      memoryLimits: { taskExternalMb: 500, processMb: Math.round(before / MB) + 380, sampleMs: 50 },
    });
    const job = await engine.submitJob(
      jobSpec([
        holder('small', { how: 'buffers', chunkMb: 16, totalMb: 64, holdMs: 4000 }),
        holder('big', { how: 'buffers', chunkMb: 16, totalMb: 480, holdMs: 4000 }),
        ...BYSTANDERS.slice(0, 10),
      ]),
      '/',
    );
    await engine.waitForJob(job.id);
    const big = engine.task(`${job.id}:big`)!;
    expect({ state: big.state, code: big.error?.code }).toEqual({ state: 'failed', code: 'WORKER_OUT_OF_MEMORY' });
    expect(big.error!.message).toMatch(/^the worker thread ran out of memory: the process reached \d+ MiB, over its ceiling of \d+ MiB, and this task held the most \(about \d+ MiB\)$/);
    const small = engine.task(`${job.id}:small`)!;
    expect({ state: small.state, result: small.result, error: small.error?.message }).toEqual({ state: 'succeeded', result: { heldMb: 64 }, error: undefined });
    for (const other of engine.tasksOfJob(job.id).filter((t) => t.kind !== 'script')) expect([other.id, other.state]).toEqual([other.id, 'succeeded']);
    const after = await rssSettled(engine, 3, engine.pool.memory.processLimit - 64 * MB);
    process.stdout.write(`process ceiling: ${Math.round(before / MB)} MiB before, ${Math.round(after / MB)} MiB after, ceiling ${Math.round(engine.pool.memory.processLimit / MB)} MiB\n`);
    expect(after).toBeLessThan(engine.pool.memory.processLimit - 64 * MB);
  }, 60_000);
});
