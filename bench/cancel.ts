import { readdirSync } from 'node:fs';
import type { Engine } from '../electron/engine/engine.js';
import type { TaskView } from '../electron/engine/task.js';
import { benchEngine, spec } from './engine-fixture.js';
import { percentile, type Benchmark } from './harness.js';

/** The process's threads, by their kernel ids (Linux). */
function threadIds(): Set<string> {
  return new Set(readdirSync('/proc/self/task'));
}

const WAIT_LIMIT_MS = 60_000;
/** Between two looks at the process's threads while a hard cancel is under way. */
const POLL_MS = 1;

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
 * kernel no longer lists it) and another thread has begun the task queued behind it, which is
 * when the pool can take work again. `exitMs` is the first half alone.
 */
async function hardCancel(engine: Engine): Promise<{ ms: number; exitMs: number }> {
  const running = untilTask(engine, 't', 'running');
  let nextRunning = false;
  /** Ends the wait between two looks at the thread list early, when the next task starts. */
  let wake = (): void => {};
  const nextStarted = untilTask(engine, 'next', 'running').then(() => {
    nextRunning = true;
    wake();
  });
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
  const withIt = threadIds();
  if (nextRunning) throw new Error('cancel: the task queued behind the stuck one ran before it was cancelled');
  let exitMs = -1;
  const start = performance.now();
  engine.cancelTask(key);
  // Polled every millisecond, as a thread's exit sends no event; the next task's start ends the
  // wait at once. Not on every turn of the loop: that kept this thread busy on one of the two
  // cores for the whole interval, beside the exit and the spare's boot it times (an exit is now
  // seen up to a tick late, which counts against the pool). The stuck thread is gone
  // when a thread the process had before the cancel is no longer listed (no other thread of this
  // process ends meanwhile: pool threads, the store's checkpoint thread and Node's own live on;
  // two gone at once fail the run). A count of threads would not do: a pool that starts the
  // stuck thread's replacement when it hears of the exit does both in one turn of its loop, and
  // the count never drops.
  for (;;) {
    if (exitMs < 0) {
      const now = threadIds();
      const gone = [...withIt].filter((tid) => !now.has(tid));
      if (gone.length > 1) throw new Error(`cancel: ${gone.length} threads ended during the hard cancel, not the stuck one alone`);
      if (gone.length === 1) exitMs = performance.now() - start;
    }
    if (exitMs >= 0 && nextRunning) break;
    if (performance.now() - start > WAIT_LIMIT_MS) {
      await nextStarted; // fails first if the next task never started
      throw new Error(`cancel: the stuck thread still runs after ${WAIT_LIMIT_MS / 1000} s`);
    }
    await new Promise<void>((resolve) => {
      wake = resolve;
      setTimeout(resolve, POLL_MS);
    });
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
      const exitMs = hard.map((h) => h.exitMs);
      const slowest = hardMs.indexOf(Math.max(...hardMs));
      // The first cancel is the one whose pool had the least time to get ready: say when it is the slowest.
      ctx.log(`hard cancel to the next task begun: p50 ${percentile(hardMs, 50).toFixed(1)} ms, p90 ${percentile(hardMs, 90).toFixed(1)} ms, max ${hardMs[slowest]!.toFixed(1)} ms (cancel ${slowest + 1} of ${n})`);
      ctx.log(`hard cancel to the stuck thread gone: p50 ${percentile(exitMs, 50).toFixed(1)} ms, p90 ${percentile(exitMs, 90).toFixed(1)} ms, max ${Math.max(...exitMs).toFixed(1)} ms`);
      return {
        'cancel.soft_p99_ms': percentile(softTimes, 99),
        'cancel.hard_p99_ms': percentile(hardMs, 99),
        'cancel.hard_exit_p99_ms': percentile(exitMs, 99),
      };
    } finally {
      await Promise.all([softEngine.shutdown(), hardEngine.shutdown()]);
    }
  },
};
