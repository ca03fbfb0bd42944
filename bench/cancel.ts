import { readdirSync } from 'node:fs';
import type { Engine } from '../electron/engine/engine.js';
import type { TaskView } from '../electron/engine/task.js';
import { benchEngine, spec } from './engine-fixture.js';
import { percentile, type Benchmark } from './harness.js';

/** The process's threads, as the kernel counts them (Linux). */
function threadCount(): number {
  return readdirSync('/proc/self/task').length;
}

const WAIT_LIMIT_MS = 60_000;

/**
 * Resolves when the task of this id (in the engine's one job) reaches `state`; fails, naming
 * what it waited for, after a minute. Listen before submitting: a busy machine can start a
 * task before `submitJob` resolves.
 */
function untilTask(engine: Engine, id: string, state: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      engine.off('task', onTask);
      reject(new Error(`cancel: task ${id} did not reach ${state} within ${WAIT_LIMIT_MS / 1000} s`));
    }, WAIT_LIMIT_MS);
    const onTask = (t: TaskView) => {
      if (t.id === id && t.state === state) {
        clearTimeout(timer);
        engine.off('task', onTask);
        resolve();
      }
    };
    engine.on('task', onTask);
  });
}

/** Soft: from the cancel call to the task's `cancelled` event (the handler saw its flag; the thread lives on). */
async function softCancel(engine: Engine): Promise<number> {
  const running = untilTask(engine, 't', 'running');
  const job = await engine.submitJob(spec([{ id: 't', kind: 'demo.cpu', ms: 60_000, cooperative: true }]), '/');
  const key = `${job.id}:t`;
  await running;
  // Let the handler get going before it is interrupted.
  await new Promise((resolve) => setTimeout(resolve, 5));
  const start = performance.now();
  const cancelled = untilTask(engine, 't', 'cancelled');
  engine.cancelTask(key);
  await cancelled;
  return performance.now() - start;
}

/**
 * Hard, on a pool of one thread: from the cancel call until the stuck thread has exited (the
 * kernel no longer lists it) and a fresh thread has begun the task queued behind it, which is
 * when the pool can take work again. `exitMs` is the first half alone.
 */
async function hardCancel(engine: Engine): Promise<{ ms: number; exitMs: number }> {
  const running = untilTask(engine, 't', 'running');
  let nextRunning = false;
  const nextStarted = untilTask(engine, 'next', 'running').then(() => (nextRunning = true));
  const job = await engine.submitJob(
    spec([
      { id: 't', kind: 'demo.cpu', ms: 60_000, cooperative: false },
      { id: 'next', kind: 'demo.echo', priority: -1 },
    ]),
    '/',
  );
  const key = `${job.id}:t`;
  await running;
  await new Promise((resolve) => setTimeout(resolve, 5));
  const withIt = threadCount();
  if (nextRunning) throw new Error('cancel: the task queued behind the stuck one ran before it was cancelled');
  let replacementSeen = false;
  let exitMs = -1;
  const start = performance.now();
  engine.cancelTask(key);
  // Polled on every turn of the loop: a thread's exit sends no event. The stuck thread is gone
  // when the count drops below what it was, or back to it once its replacement exists.
  for (;;) {
    const threads = threadCount();
    replacementSeen ||= threads > withIt || nextRunning;
    if (exitMs < 0 && (threads < withIt || (replacementSeen && threads <= withIt))) exitMs = performance.now() - start;
    if (exitMs >= 0 && nextRunning) break;
    if (performance.now() - start > WAIT_LIMIT_MS) {
      await nextStarted; // fails first if the next task never started
      throw new Error(`cancel: the stuck thread still counts after ${WAIT_LIMIT_MS / 1000} s (${threads} threads, ${withIt} with it)`);
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
  const ms = performance.now() - start;
  await engine.waitForJob(job.id);
  if (engine.task(key)?.state !== 'cancelled') throw new Error(`cancel: the stuck task ended ${engine.task(key)?.state}, not cancelled`);
  return { ms, exitMs };
}

export const cancel: Benchmark = {
  name: 'cancel',
  async run(ctx) {
    const n = ctx.quick ? 5 : 40;
    const softEngine = benchEngine(ctx, { cancelGraceMs: 60_000 });
    const hardEngine = benchEngine(ctx, { cancelGraceMs: 0, poolSize: 1 });
    try {
      const softTimes: number[] = [];
      const hard: Array<{ ms: number; exitMs: number }> = [];
      for (let i = 0; i < n; i++) {
        softTimes.push(await softCancel(softEngine));
        hard.push(await hardCancel(hardEngine));
      }
      const hardMs = hard.map((h) => h.ms);
      ctx.log(`hard cancel to the next task begun: p50 ${percentile(hardMs, 50).toFixed(1)} ms, p90 ${percentile(hardMs, 90).toFixed(1)} ms, max ${Math.max(...hardMs).toFixed(1)} ms`);
      return {
        'cancel.soft_p99_ms': percentile(softTimes, 99),
        'cancel.hard_p99_ms': percentile(hardMs, 99),
        'cancel.hard_exit_p99_ms': percentile(hard.map((h) => h.exitMs), 99),
      };
    } finally {
      await Promise.all([softEngine.shutdown(), hardEngine.shutdown()]);
    }
  },
};
