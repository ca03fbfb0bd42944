import type { Engine } from '../electron/engine/engine.js';
import { benchEngine, spec } from './engine-fixture.js';
import { percentile, type Benchmark } from './harness.js';

/** From the cancel call to the task's terminal state event. */
async function cancelLatency(engine: Engine, task: Record<string, unknown>): Promise<number> {
  const job = await engine.submitJob(spec([{ id: 't', ...task }]), '/');
  const key = `${job.id}:t`;
  await new Promise<void>((resolve) => {
    const onTask = (t: { key: string; state: string }) => {
      if (t.key === key && t.state === 'running') {
        engine.off('task', onTask);
        resolve();
      }
    };
    engine.on('task', onTask);
  });
  // Let the handler get going before it is interrupted.
  await new Promise((resolve) => setTimeout(resolve, 5));
  return new Promise<number>((resolve) => {
    const start = performance.now();
    const onTask = (t: { key: string; state: string }) => {
      if (t.key === key && t.state === 'cancelled') {
        engine.off('task', onTask);
        resolve(performance.now() - start);
      }
    };
    engine.on('task', onTask);
    engine.cancelTask(key);
  });
}

export const cancel: Benchmark = {
  name: 'cancel',
  async run(ctx) {
    const n = ctx.quick ? 5 : 40;
    const soft = benchEngine(ctx, { cancelGraceMs: 60_000 });
    const hard = benchEngine(ctx, { cancelGraceMs: 0 });
    try {
      const softTimes: number[] = [];
      const hardTimes: number[] = [];
      for (let i = 0; i < n; i++) {
        softTimes.push(await cancelLatency(soft, { kind: 'demo.cpu', ms: 60_000, cooperative: true }));
        hardTimes.push(await cancelLatency(hard, { kind: 'demo.cpu', ms: 60_000, cooperative: false }));
      }
      return { 'cancel.soft_p99_ms': percentile(softTimes, 99), 'cancel.hard_p99_ms': percentile(hardTimes, 99) };
    } finally {
      await Promise.all([soft.shutdown(), hard.shutdown()]);
    }
  },
};
