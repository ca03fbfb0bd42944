import { Piscina } from 'piscina';
import { BASELINE_WORKER, benchEngine, spec, timeJob } from './engine-fixture.js';
import { alternate, type Benchmark } from './harness.js';

/** Trivial tasks through the whole engine (store, events, telemetry on) vs raw piscina run(). */
export const dispatch: Benchmark = {
  name: 'dispatch',
  async run(ctx) {
    const n = ctx.quick ? 2_000 : 50_000;
    const rounds = ctx.quick ? 1 : 5;
    const engine = benchEngine(ctx);
    engine.on('task', () => {}); // a subscriber, as every host has
    const pool = new Piscina({ filename: BASELINE_WORKER, minThreads: engine.pool.size, maxThreads: engine.pool.size, idleTimeout: Number.POSITIVE_INFINITY });
    const tasks = Array.from({ length: n }, (_, i) => ({ id: `t${i}`, kind: 'demo.echo', value: i }));
    const job = spec(tasks);
    try {
      // Warm both up (threads started, kinds timed).
      await Promise.all(Array.from({ length: 200 }, (_, i) => pool.run(i)));
      await timeJob(engine, spec(tasks.slice(0, 500)));
      const { baseline, candidate } = await alternate(
        rounds,
        async () => {
          const start = performance.now();
          await Promise.all(Array.from({ length: n }, (_, i) => pool.run(i)));
          return n / ((performance.now() - start) / 1000);
        },
        async () => n / ((await timeJob(engine, job)) / 1000),
      );
      return { 'dispatch.engine_tasks_per_s': candidate, 'dispatch.piscina_tasks_per_s': baseline, 'dispatch.ratio': candidate / baseline };
    } finally {
      await pool.destroy();
      await engine.shutdown();
    }
  },
};
