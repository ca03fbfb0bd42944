import { benchEngine, echoTasks, jobDocument, timeJob } from './engine-fixture.js';
import type { Benchmark } from './harness.js';

/**
 * One job of 1,000,000 trivial tasks against one of 50,000 (20,000 and 2,000 with --quick), each
 * timed from the document in hand to every task durable in the store: the big job's rate over
 * the small one's (linear: 1.0), and the main process's peak rss growth during the big job per task.
 */
export const scale: Benchmark = {
  name: 'scale',
  async run(ctx) {
    const small = ctx.quick ? 2_000 : 50_000;
    const big = ctx.quick ? 20_000 : 1_000_000;
    const engine = benchEngine(ctx);
    engine.on('task', () => {}); // a subscriber, as every host has
    try {
      await timeJob(engine, jobDocument(echoTasks(500)), { durable: true });
      const smallRate = small / ((await timeJob(engine, jobDocument(echoTasks(small)), { durable: true })) / 1000);
      const document = jobDocument(echoTasks(big));
      (globalThis as { gc?: () => void }).gc?.();
      const rssBefore = process.memoryUsage().rss;
      let rssPeak = rssBefore;
      const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
      let bigMs: number;
      try {
        bigMs = await timeJob(engine, document, { durable: true });
      } finally {
        clearInterval(sampler);
      }
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      const counts = engine.stateCounts();
      if (counts.failed > 0) throw new Error(`scale: ${counts.failed} tasks failed`);
      const bigRate = big / (bigMs / 1000);
      ctx.log(`${small} tasks at ${Math.round(smallRate)}/s, ${big} at ${Math.round(bigRate)}/s; rss ${Math.round(rssBefore / 2 ** 20)} -> ${Math.round(rssPeak / 2 ** 20)} MiB`);
      return { 'scale.small_tasks_per_s': smallRate, 'scale.big_tasks_per_s': bigRate, 'scale.linearity': bigRate / smallRate, 'scale.rss_bytes_per_task': (rssPeak - rssBefore) / big };
    } finally {
      await engine.shutdown();
    }
  },
};
