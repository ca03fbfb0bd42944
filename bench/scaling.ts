import { cpus } from 'node:os';
import { crunch } from './baseline-worker.js';
import { benchEngine, jobDocument, timeJob } from './engine-fixture.js';
import { alternate, type Benchmark } from './harness.js';

/** Rounds of `crunch` that take about `ms` on the main thread now. */
function roundsFor(ms: number): number {
  crunch(50); // compiled before it is timed
  const start = performance.now();
  const probe = 200;
  crunch(probe);
  return Math.max(1, Math.round((probe * ms) / (performance.now() - start)));
}

/**
 * The same fixed CPU work (a number of rounds, not a time) on the pool vs sequentially on the
 * main thread: threads that share a core take longer, so the speedup cannot exceed the cores.
 */
export const scaling: Benchmark = {
  name: 'scaling',
  async run(ctx) {
    const cores = cpus().length;
    const n = cores * (ctx.quick ? 2 : 8);
    const rounds = roundsFor(ctx.quick ? 10 : 100);
    const engine = benchEngine(ctx, { poolSize: cores });
    const job = jobDocument(Array.from({ length: n }, (_, i) => ({ id: `c${i}`, kind: 'demo.cpu', ms: 0, rounds })));
    try {
      await timeJob(engine, jobDocument([{ id: 'warm', kind: 'demo.cpu', ms: 0, rounds }]));
      const { baseline, candidate } = await alternate(
        ctx.quick ? 1 : 3,
        async () => {
          const start = performance.now();
          for (let i = 0; i < n; i++) crunch(rounds);
          return performance.now() - start;
        },
        () => timeJob(engine, job),
      );
      ctx.log(`${n} tasks of ${rounds} rounds: ${Math.round(baseline)} ms in sequence, ${Math.round(candidate)} ms on ${cores} threads`);
      return { 'scaling.speedup': baseline / candidate, 'scaling.goal': 0.9 * cores };
    } finally {
      await engine.shutdown();
    }
  },
};
