/**
 * The pool keeps a spare thread, booted ahead of need: a hard cancel hands the work queued behind
 * the stuck task to it rather than to a thread started after the cancel, and the spare never
 * runs work beside the pool's `poolSize` lanes.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { jobSpec, makeEngine, tempDir, waitFor } from '../support/engine-fixture.js';

/**
 * A script whose result is when its thread was started, wall clock: a thread shares the process's
 * `timeOrigin`, and `nodeTiming.environment` is when its own Node environment was set up.
 */
function bornScript(dir: string): string {
  const file = join(dir, 'born.mjs');
  writeFileSync(file, 'export function run() { return performance.timeOrigin + performance.nodeTiming.environment; }\n');
  return file;
}

describe('the spare thread', () => {
  it('takes the task queued behind a hard-cancelled one: it was started before the cancel, and so is the next spare', async () => {
    const dir = tempDir();
    const born = bornScript(dir);
    const engine = makeEngine({ poolSize: 1, cancelGraceMs: 0 });
    for (let round = 0; round < 2; round++) {
      const job = await engine.submitJob(
        jobSpec([
          { id: 'stuck', kind: 'demo.cpu', ms: 600_000, cooperative: false },
          { id: 'next', kind: 'script', module: born, export: 'run', priority: -1 },
        ]),
        dir,
      );
      await waitFor(() => engine.task(`${job.id}:stuck`)?.state === 'running', 20_000, 'the stuck task to run');
      // Time enough for the spare (or, after the first round, its replacement) to have booted;
      // the check below does not depend on it.
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const cancelledAt = performance.timeOrigin + performance.now();
      engine.cancelTask(`${job.id}:stuck`);
      await engine.waitForJob(job.id);
      expect(engine.task(`${job.id}:stuck`)?.state).toBe('cancelled');
      const next = engine.task(`${job.id}:next`)!;
      expect(next.state).toBe('succeeded');
      expect(next.worker).not.toBe(engine.task(`${job.id}:stuck`)?.worker);
      expect(next.result as number, `round ${round}: the queued task ran on a thread started after the cancel`).toBeLessThan(cancelledAt);
      expect(engine.pool.threadCount).toBe(1);
    }
  });

  it('runs no more tasks at once than the pool has lanes', async () => {
    const engine = makeEngine({ poolSize: 2 });
    const tasks = Array.from({ length: 8 }, (_, i) => ({ id: `b${i}`, kind: 'demo.block', ms: 150 }));
    const job = await engine.submitJob(jobSpec(tasks), '/');
    expect((await engine.waitForJob(job.id)).state).toBe('succeeded');
    // The attempts' times are taken in the threads: count how many ran at each start.
    const spans = tasks.map((t) => engine.task(`${job.id}:${t.id}`)!).map((t) => [t.startedAt!, t.finishedAt!] as const);
    const mostAtOnce = Math.max(...spans.map(([start]) => spans.filter(([s, f]) => s <= start && start < f).length));
    expect(mostAtOnce).toBe(2);
    expect(new Set(tasks.map((t) => engine.task(`${job.id}:${t.id}`)!.worker)).size).toBe(2);
    expect(engine.pool.threadCount).toBe(2);
    expect(engine.pool.workerStats()).toHaveLength(2);
  });
});
