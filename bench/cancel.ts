import { readFileSync, readdirSync } from 'node:fs';
import type { Engine } from '../electron/engine/engine.js';
import { SPARE_THREADS } from '../electron/engine/pool-lanes.js';
import type { TaskView } from '../electron/engine/task.js';
import { benchEngine, spec } from './engine-fixture.js';
import { median, percentile, type Benchmark } from './harness.js';

/** The process's threads, by their kernel ids (Linux). */
function threadIds(): Set<string> {
  return new Set(readdirSync('/proc/self/task'));
}

/**
 * What the kernel says of this process's threads in `tids` that still run: name, state (R is
 * on a core or ready for one) and CPU seconds so far, for an error that has to say which thread
 * did not end and whether it still spins.
 */
function threadsNow(tids: Iterable<string>): string {
  const lines: string[] = [];
  for (const tid of tids) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpuSeconds = (Number(fields[11]) + Number(fields[12])) / 100;
      lines.push(`${tid} "${name}" ${fields[0]} ${cpuSeconds.toFixed(1)} s`);
    } catch {
      // Gone meanwhile.
    }
  }
  return lines.join(', ');
}

const WAIT_LIMIT_MS = 60_000;
/** Between two looks at the process's threads while a hard cancel is under way. */
const POLL_MS = 1;
/** Between two looks at the pools while waiting for them to be at rest (outside the clock). */
const REST_POLL_MS = 2;

/** An engine of this benchmark and the threads its pool runs when nothing is under way. */
interface BenchPool {
  name: string;
  engine: Engine;
  /** Its lanes and its spares, every one booted and idle. */
  threads: number;
}

function benchPool(name: string, engine: Engine): BenchPool {
  // The lanes are all started with the pool (piscina's minimum); the spares follow them.
  return { name, engine, threads: engine.poolThreads() + SPARE_THREADS };
}

/**
 * Resolves when every engine of the process is at rest: each pool runs all its threads (no
 * replacement left to start), every one booted and idle, and every state change is in the store.
 * A hard cancel ends a thread and the pool boots another one (25-30 ms of a core) once it has
 * exited; a cancel timed while a boot, of its own engine or of the other, still runs shares the
 * cores with it and times it too. Waited for before every timed cancel, outside the clock, so
 * that each cancel pays for its own work only. Resolves with the wait, in ms; fails, naming the
 * engine and its threads, after a minute.
 */
async function untilAtRest(pools: readonly BenchPool[]): Promise<number> {
  const start = performance.now();
  const restless = () =>
    pools.find(({ engine, threads }) => engine.pool.threadsWithSpare !== threads || engine.pool.idleThreads !== threads);
  for (let pool = restless(); pool; pool = restless()) {
    if (performance.now() - start > WAIT_LIMIT_MS) {
      const { name, engine, threads } = pool;
      throw new Error(`cancel: the ${name} engine's pool was not at rest within ${WAIT_LIMIT_MS / 1000} s: ${engine.pool.threadsWithSpare} threads of ${threads}, ${engine.pool.idleThreads} idle`);
    }
    await new Promise((resolve) => setTimeout(resolve, REST_POLL_MS));
  }
  await Promise.all(pools.map(({ engine }) => engine.whenStored()));
  return performance.now() - start;
}

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
  const ms = performance.now() - start;
  await engine.waitForJob(job.id);
  return ms;
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
      throw new Error(
        `cancel: the stuck thread still runs after ${WAIT_LIMIT_MS / 1000} s (task ${engine.task(key)?.state}, the next ${nextRunning ? 'running' : 'not running'}; ` +
          `threads from before the cancel, as tid "name" state CPU time: ${threadsNow(withIt)})`,
      );
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
    const pools = [benchPool('soft', softEngine), benchPool('hard', hardEngine)];
    try {
      const softTimes: number[] = [];
      const hard: Array<{ ms: number; exitMs: number }> = [];
      /** How long each cancel waited for the engines at rest (the boots and writes it no longer times). */
      const rest = { soft: [] as number[], hard: [] as number[] };
      // Soft and hard in turn, so that the drift of a shared machine hits both alike; each
      // begins with both engines at rest.
      for (let i = 0; i < n; i++) {
        rest.soft.push(await untilAtRest(pools));
        softTimes.push(await softCancel(softEngine));
        rest.hard.push(await untilAtRest(pools));
        hard.push(await hardCancel(hardEngine));
      }
      // Then hard cancels one right after another, none waiting for the pool at rest: each can
      // find the spares still booting after the one before (the case they are for); the figures
      // before round eight were of this kind.
      await untilAtRest(pools);
      const burst: number[] = [];
      for (let i = 0; i < n; i++) burst.push((await hardCancel(hardEngine)).ms);
      const hardMs = hard.map((h) => h.ms);
      const exitMs = hard.map((h) => h.exitMs);
      const slowest = hardMs.indexOf(Math.max(...hardMs));
      const waits = (ms: number[]) => `median ${median(ms).toFixed(1)} ms, max ${Math.max(...ms).toFixed(1)} ms`;
      ctx.log(`waited for the engines at rest: before a soft cancel ${waits(rest.soft)}; before a hard one ${waits(rest.hard)}`);
      const slowestSoft = softTimes.indexOf(Math.max(...softTimes));
      // Say which cancel was the slowest: a pattern (the first, or every few) points at the bench rather than the cancel.
      ctx.log(`soft cancel: p50 ${percentile(softTimes, 50).toFixed(1)} ms, p90 ${percentile(softTimes, 90).toFixed(1)} ms, max ${softTimes[slowestSoft]!.toFixed(1)} ms (cancel ${slowestSoft + 1} of ${n})`);
      ctx.log(`hard cancel to the next task begun: p50 ${percentile(hardMs, 50).toFixed(1)} ms, p90 ${percentile(hardMs, 90).toFixed(1)} ms, max ${hardMs[slowest]!.toFixed(1)} ms (cancel ${slowest + 1} of ${n})`);
      ctx.log(`hard cancel to the stuck thread gone: p50 ${percentile(exitMs, 50).toFixed(1)} ms, p90 ${percentile(exitMs, 90).toFixed(1)} ms, max ${Math.max(...exitMs).toFixed(1)} ms`);
      ctx.log(`hard cancels one after another, to the next task begun: p50 ${percentile(burst, 50).toFixed(1)} ms, p90 ${percentile(burst, 90).toFixed(1)} ms, max ${Math.max(...burst).toFixed(1)} ms`);
      return {
        'cancel.soft_p99_ms': percentile(softTimes, 99),
        'cancel.hard_p99_ms': percentile(hardMs, 99),
        'cancel.hard_exit_p99_ms': percentile(exitMs, 99),
        'cancel.hard_burst_p99_ms': percentile(burst, 99),
      };
    } finally {
      await Promise.all([softEngine.shutdown(), hardEngine.shutdown()]);
    }
  },
};
