import { cpus } from 'node:os';
import { spin } from './baseline-worker.js';
import { benchEngine, spec, timeJob } from './engine-fixture.js';
import { alternate, type Benchmark } from './harness.js';

/** Wall time of a CPU-bound batch on the pool vs the same work sequentially on the main thread. */
export const scaling: Benchmark = {
  name: 'scaling',
  async run(ctx) {
    const cores = cpus().length;
    const taskMs = ctx.quick ? 10 : 100;
    const n = cores * (ctx.quick ? 2 : 8);
    const engine = benchEngine(ctx, { poolSize: cores });
    const job = spec(Array.from({ length: n }, (_, i) => ({ id: `c${i}`, kind: 'demo.cpu', ms: taskMs })));
    try {
      await timeJob(engine, spec([{ id: 'warm', kind: 'demo.cpu', ms: 5 }]));
      const { baseline, candidate } = await alternate(
        ctx.quick ? 1 : 3,
        async () => {
          const start = performance.now();
          for (let i = 0; i < n; i++) spin(taskMs);
          return performance.now() - start;
        },
        () => timeJob(engine, job),
      );
      return { 'scaling.speedup': baseline / candidate, 'scaling.goal': 0.9 * cores };
    } finally {
      await engine.shutdown();
    }
  },
};
