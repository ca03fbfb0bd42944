import { Piscina } from 'piscina';
import { BASELINE_WORKER, benchEngine, echoTasks, jobDocument, timeJob } from './engine-fixture.js';
import { alternate, type Benchmark } from './harness.js';

/** The engine's batch size for tiny kinds (electron/engine/pool-executor.ts). */
const BATCH = 64;

/**
 * Trivial tasks through the whole engine (job validated, store, events and telemetry on), timed
 * to every task's final state in the store, against two piscina baselines on a pool with the
 * same options: one `run()` per task (what a user writes) and `run()` per 64-task batch (what
 * the engine does underneath: the limit of its overhead).
 */
export const dispatch: Benchmark = {
  name: 'dispatch',
  async run(ctx) {
    const n = ctx.quick ? 2_000 : 50_000;
    const rounds = ctx.quick ? 1 : 5;
    const engine = benchEngine(ctx);
    engine.on('task', () => {}); // a subscriber, as every host has
    const options = { minThreads: engine.pool.size, maxThreads: engine.pool.size, idleTimeout: Number.POSITIVE_INFINITY, concurrentTasksPerWorker: 1, recordTiming: false };
    const perTask = new Piscina({ filename: BASELINE_WORKER, ...options });
    const batched = new Piscina({ filename: BASELINE_WORKER, name: 'echoBatch', ...options });
    const tasks = echoTasks(n);
    const batches = Array.from({ length: Math.ceil(n / BATCH) }, (_, b) => Array.from({ length: Math.min(BATCH, n - b * BATCH) }, (_, i) => b * BATCH + i));
    const storedSucceeded = engine.store.db.prepare("SELECT count(*) AS n FROM tasks WHERE state = 'succeeded'").pluck();
    const engineRound = async () => {
      const before = storedSucceeded.get() as number;
      const ms = await timeJob(engine, jobDocument(tasks), { durable: true });
      // Read after the clock stopped: the store must already hold every task's end.
      const stored = (storedSucceeded.get() as number) - before;
      if (stored !== n) throw new Error(`dispatch: the engine said done with ${stored} of ${n} tasks stored as succeeded`);
      return n / (ms / 1000);
    };
    try {
      // Warm all up (threads started, kinds timed).
      await Promise.all(Array.from({ length: 200 }, (_, i) => perTask.run(i)));
      await Promise.all(batches.slice(0, 20).map((batch) => batched.run(batch)));
      await timeJob(engine, jobDocument(tasks.slice(0, 500)), { durable: true });
      const user = await alternate(
        rounds,
        async () => {
          const start = performance.now();
          await Promise.all(Array.from({ length: n }, (_, i) => perTask.run(i)));
          return n / ((performance.now() - start) / 1000);
        },
        engineRound,
      );
      const limit = await alternate(
        rounds,
        async () => {
          const start = performance.now();
          await Promise.all(batches.map((batch) => batched.run(batch)));
          return n / ((performance.now() - start) / 1000);
        },
        engineRound,
      );
      return {
        'dispatch.engine_tasks_per_s': (user.candidate + limit.candidate) / 2,
        'dispatch.piscina_tasks_per_s': user.baseline,
        'dispatch.piscina_batched_tasks_per_s': limit.baseline,
        'dispatch.ratio': user.candidate / user.baseline,
        'dispatch.limit_ratio': limit.candidate / limit.baseline,
      };
    } finally {
      await Promise.all([perTask.destroy(), batched.destroy()]);
      await engine.shutdown();
    }
  },
};
