import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loopDelayMs } from '../electron/engine/telemetry.js';
import { benchEngine, spec } from './engine-fixture.js';
import type { Benchmark } from './harness.js';

function settledHeap(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run the benchmarks with node --expose-gc (npm run bench does)');
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}

/** 100,000 tasks queued at once: admission time, the loop's longest wait meanwhile, and main-process heap per queued task. */
export const queue: Benchmark = {
  name: 'queue',
  async run(ctx) {
    const n = ctx.quick ? 5_000 : 100_000;
    const engine = benchEngine(ctx, { poolSize: 1 });
    try {
      const before = settledHeap();
      // Every task waits on a gate that never opens, so all of them stay queued.
      let job = spec([
        { id: 'gate', kind: 'demo.block', ms: 86_400_000 },
        ...Array.from({ length: n }, (_, i) => ({ id: `q${i}`, kind: 'demo.echo', value: i, dependsOn: ['gate'] })),
      ]);
      // Admission is sliced: its wall time, and the longest the loop was held meanwhile.
      const loop = monitorEventLoopDelay({ resolution: 1 });
      loop.enable();
      const start = performance.now();
      const record = await engine.submitJob(job, '/');
      const admitMs = performance.now() - start;
      loop.disable();
      job = spec([{ id: 'x', kind: 'demo.echo' }]); // drop the parsed file: the engine holds what it needs
      const after = settledHeap();
      const queued = engine.stateCounts().queued;
      if (queued < n) throw new Error(`expected ${n} queued tasks, found ${queued}`);
      engine.cancelJob(record.id);
      return { 'queue.admit_ms': admitMs, 'queue.admit_loop_max_ms': loopDelayMs(loop.max, 1), 'queue.bytes_per_task': (after - before) / n };
    } finally {
      await engine.shutdown({ deadlineMs: 100 });
    }
  },
};
