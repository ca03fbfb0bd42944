import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TaskState } from '../../contract/task-states.js';
import { STORE_FILE } from '../../electron/engine/job-store.js';
import { jobSpec, makeEngine, tempDir, waitFor } from '../support/engine-fixture.js';
import { heldTask } from '../support/held-task.js';

/**
 * The states the engine's task of id `taskId` goes through, heard from before its job is submitted:
 * by the time `submitJob` resolves, the task may already have started.
 */
function statesSeen(engine: ReturnType<typeof makeEngine>, taskId: string): TaskState[] {
  const seen: TaskState[] = [];
  engine.on('task', (task) => {
    if (task.id === taskId && seen.at(-1) !== task.state) seen.push(task.state);
  });
  return seen;
}

describe('task life cycle', () => {
  it('runs a task queued -> running -> succeeded on a pool thread and records its attempt', async () => {
    const engine = makeEngine();
    const seen = statesSeen(engine, 'a');
    const job = await engine.submitJob(jobSpec([{ id: 'a', kind: 'demo.cpu', ms: 30 }]), '/');
    const done = await engine.waitForJob(job.id);
    expect(done.state).toBe('succeeded');
    expect(seen).toEqual(['queued', 'running', 'succeeded']);
    const task = engine.task(`${job.id}:a`)!;
    expect(task.attempts).toBe(1);
    expect(task.worker).toMatch(/^w\d+$/);
    expect(task.startedAt).toBeGreaterThanOrEqual(task.queuedAt - 1);
    expect(task.finishedAt).toBeGreaterThanOrEqual(task.startedAt!);
    expect(task.result).toMatchObject({ iterations: expect.any(Number) });
    expect(engine.attemptsOf(task.key)).toEqual([
      expect.objectContaining({ attempt: 1, worker: task.worker, state: 'succeeded' }),
    ]);
  });

  it('runs async kinds on the event loop', async () => {
    const engine = makeEngine();
    const job = await engine.submitJob(jobSpec([{ id: 's', kind: 'demo.sleep', ms: 20 }]), '/');
    await engine.waitForJob(job.id);
    expect(engine.task(`${job.id}:s`)).toMatchObject({ state: 'succeeded', worker: 'loop', result: { sleptMs: expect.any(Number) } });
  });

  it('fails a task that throws, with the message, code and stack', async () => {
    const engine = makeEngine();
    const job = await engine.submitJob(jobSpec([{ id: 'f', kind: 'demo.fail', message: 'disk on fire' }]), '/');
    expect((await engine.waitForJob(job.id)).state).toBe('failed');
    const task = engine.task(`${job.id}:f`)!;
    expect(task.state).toBe('failed');
    expect(task.error).toMatchObject({ message: 'disk on fire', code: 'DEMO_FAILURE', stack: expect.stringContaining('disk on fire') });
  });

  it('ends an infinite sync loop timed_out, and the pool still runs the next task', async () => {
    const engine = makeEngine({ poolSize: 1, cancelGraceMs: 50 });
    const seen = statesSeen(engine, 'stuck');
    const job = await engine.submitJob(
      jobSpec([
        { id: 'stuck', kind: 'demo.cpu', ms: 86_400_000, cooperative: false, timeoutMs: 200 },
        { id: 'next', kind: 'demo.cpu', ms: 10, dependsOn: [] },
      ]),
      '/',
    );
    await engine.waitForJob(job.id);
    expect(engine.task(`${job.id}:stuck`)).toMatchObject({ state: 'timed_out', error: { code: 'TIMED_OUT' } });
    expect(seen).toEqual(['queued', 'running', 'cancelling', 'timed_out']);
    expect(engine.task(`${job.id}:next`)?.state).toBe('succeeded');
    expect(engine.pool.threadCount).toBe(1);
  });

  it('a task whose timeout runs out in a batch that began, before its own turn came, goes back to the queue and runs whole', async () => {
    // A kind that has shown itself tiny travels in batches, and a slow task of it holds its
    // batch: `demo.block` of 0 ms returns at once (microseconds, whatever the load), of 2,000 ms
    // holds its thread. A try where the two tasks still did not share a batch (the kind's mean
    // pushed over the limit by a stalled thread) shows nothing, and is made again.
    for (let attempt = 1; ; attempt++) {
      const engine = makeEngine({ poolSize: 1 });
      const warm = await engine.submitJob(jobSpec(Array.from({ length: 40 }, (_, i) => ({ id: `w${i}`, kind: 'demo.block', ms: 0 }))), '/');
      await engine.waitForJob(warm.id);
      const seen = statesSeen(engine, 'behind');
      const job = await engine.submitJob(
        jobSpec([
          // Long beside the timeout: the batch's start is heard and the timeout runs out while
          // `slow` still holds the thread, however busy the machine.
          { id: 'slow', kind: 'demo.block', ms: 2000 },
          { id: 'behind', kind: 'demo.block', ms: 0, timeoutMs: 100 },
        ]),
        '/',
      );
      const key = `${job.id}:behind`;
      expect((await engine.waitForJob(job.id)).state).toBe('succeeded');
      expect(engine.task(key)).toMatchObject({ state: 'succeeded', attempts: 1, error: null });
      expect(engine.attemptsOf(key)).toEqual([expect.objectContaining({ attempt: 1, state: 'succeeded' })]);
      // Run in a batch of its own after `slow`: nothing was withdrawn.
      if (seen.length === 3 && seen[1] === 'running' && seen[2] === 'succeeded') {
        expect(attempt, 'demo.block never went in a batch with the slow task').toBeLessThan(5);
        continue;
      }
      expect(seen).toEqual(['queued', 'running', 'queued', 'running', 'succeeded']);
      return;
    }
  }, 60_000);

  it('cancels a queued task at once, without running it', async () => {
    const engine = makeEngine({ poolSize: 1 });
    const first = heldTask('first');
    const job = await engine.submitJob(jobSpec([first.task, { id: 'waiting', kind: 'demo.cpu', ms: 10 }]), '/');
    await waitFor(() => engine.task(`${job.id}:first`)?.state === 'running');
    expect(engine.cancelTask(`${job.id}:waiting`)).toBe(true);
    expect(engine.task(`${job.id}:waiting`)).toMatchObject({ state: 'cancelled', attempts: 0 });
    first.release();
    await engine.waitForJob(job.id);
    expect(engine.task(`${job.id}:waiting`)).toMatchObject({ state: 'cancelled', attempts: 0, startedAt: null });
    expect(engine.task(`${job.id}:first`)?.state).toBe('succeeded');
  });

  /** A job of one pool thread whose second task is handed to the pool behind a running one, and withdrawn from it by a cancel. */
  async function withdrawnBehindARunningTask(engine: ReturnType<typeof makeEngine>): Promise<{ jobId: string; key: string; releaseFirst: () => void }> {
    const first = heldTask('first');
    const job = await engine.submitJob(jobSpec([first.task, { id: 'waiting', kind: 'demo.echo', value: 'again' }]), '/');
    const key = `${job.id}:waiting`;
    await waitFor(() => engine.task(`${job.id}:first`)?.state === 'running');
    // The pool keeps two batches per thread: `waiting` is on its way to the thread, not begun.
    expect(engine.cancelTask(key)).toBe(true);
    expect(engine.task(key)).toMatchObject({ state: 'cancelled', attempts: 0 });
    return { jobId: job.id, key, releaseFirst: first.release };
  }

  async function expectRunOnceMore(engine: ReturnType<typeof makeEngine>, jobId: string, key: string): Promise<void> {
    expect((await engine.waitForJob(jobId)).state).toBe('succeeded');
    expect(engine.task(key)).toMatchObject({ state: 'succeeded', attempts: 1, result: 'again' });
    expect(engine.attemptsOf(key)).toEqual([expect.objectContaining({ attempt: 1, state: 'succeeded' })]);
  }

  it('a task cancelled before it began and retried at once runs, though the batch it was withdrawn from has not yet reached its thread', async () => {
    const engine = makeEngine({ poolSize: 1 });
    const { jobId, key, releaseFirst } = await withdrawnBehindARunningTask(engine);
    expect(engine.retryTask(key)).toBe(true);
    expect(engine.task(key)?.state).toBe('queued');
    releaseFirst();
    await expectRunOnceMore(engine, jobId, key);
  });

  it('a task cancelled before it began and retried once that batch ran is run again, once', async () => {
    const engine = makeEngine({ poolSize: 1 });
    const { jobId, key, releaseFirst } = await withdrawnBehindARunningTask(engine);
    releaseFirst();
    // The thread still gets the batch, skips the task, and says the batch began. A job after it
    // on the one thread ends once that batch has ended.
    const marker = await engine.submitJob(jobSpec([{ id: 'marker', kind: 'demo.echo', value: 1 }]), '/');
    await engine.waitForJob(marker.id);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(engine.task(key)).toMatchObject({ state: 'cancelled', attempts: 0 });
    expect(engine.retryTask(key)).toBe(true);
    await expectRunOnceMore(engine, jobId, key);
  });

  it('soft-cancels a cooperative task: it sees the flag, stops, and its thread lives on', async () => {
    const engine = makeEngine({ poolSize: 1, cancelGraceMs: 10_000 });
    const seen = statesSeen(engine, 'long');
    const job = await engine.submitJob(jobSpec([{ id: 'long', kind: 'demo.cpu', ms: 60_000 }]), '/');
    const key = `${job.id}:long`;
    await waitFor(() => engine.task(key)?.state === 'running');
    const worker = engine.task(key)!.worker;
    engine.cancelTask(key);
    expect(engine.task(key)?.state).toBe('cancelling');
    await waitFor(() => engine.task(key)?.state === 'cancelled', 30_000, 'the soft cancel');
    expect(seen).toEqual(['queued', 'running', 'cancelling', 'cancelled']);
    await engine.waitForJob(job.id);
    // The same thread runs the next task: it was not terminated. (Work goes to the oldest idle
    // thread, and it is the oldest; work queued during the stop would have gone to a spare.)
    const next = await engine.submitJob(jobSpec([{ id: 'after', kind: 'demo.cpu', ms: 5 }]), '/');
    await engine.waitForJob(next.id);
    expect(engine.task(`${next.id}:after`)).toMatchObject({ state: 'succeeded', worker });
  });

  it('whenStored() resolves once every task’s end is in the store, as another reader sees it', async () => {
    const dataDir = tempDir();
    // A long flush interval: without the wait, the ends would still be in memory.
    const engine = makeEngine({ dataDir, storeFlushMs: 2000 });
    const job = await engine.submitJob(jobSpec(Array.from({ length: 300 }, (_, i) => ({ id: `e${i}`, kind: 'demo.echo', value: i }))), '/');
    await engine.waitForJob(job.id);
    await engine.whenStored();
    const count = (sql: string) => execFileSync('sqlite3', [join(dataDir, STORE_FILE), sql], { encoding: 'utf8' }).trim();
    expect(count(`SELECT count(*) FROM tasks WHERE job_id = '${job.id}' AND state = 'succeeded'`)).toBe('300');
    expect(count(`SELECT state FROM jobs WHERE id = '${job.id}'`)).toBe('succeeded');
  });

  it('runs demo.cpu with rounds as exactly that much work, whatever the time', async () => {
    const engine = makeEngine();
    const job = await engine.submitJob(jobSpec([{ id: 'r', kind: 'demo.cpu', ms: 0, rounds: 37 }]), '/');
    await engine.waitForJob(job.id);
    expect(engine.task(`${job.id}:r`)).toMatchObject({ state: 'succeeded', result: { iterations: 37 } });
  });

  it('hard-cancels a thread stuck in sync code after the grace period; the pool refills', async () => {
    const graceMs = 300;
    const engine = makeEngine({ poolSize: 1, cancelGraceMs: graceMs });
    const job = await engine.submitJob(jobSpec([{ id: 'blocked', kind: 'demo.block', ms: 86_400_000 }, { id: 'after', kind: 'demo.cpu', ms: 5 }]), '/');
    const key = `${job.id}:blocked`;
    // Inside its sync block, not merely handed to its thread: a cancel before the block begins
    // would be seen at once, with no grace period to check.
    await waitFor(() => engine.task(key)?.progressMessage === 'blocking');
    const worker = engine.task(key)!.worker;
    let cancelledAfterMs = -1;
    const cancelAt = performance.now();
    engine.on('task', (task) => {
      if (task.key === key && task.state === 'cancelled') cancelledAfterMs = performance.now() - cancelAt;
    });
    engine.cancelTask(key);
    expect(engine.task(key)?.state).toBe('cancelling');
    await waitFor(() => engine.task(key)?.state === 'cancelled', 30_000, 'the hard cancel');
    // The thread was given its whole grace period before it was ended (a timer never fires early
    // by more than its millisecond rounding).
    expect(cancelledAfterMs).toBeGreaterThanOrEqual(graceMs - 1);
    await engine.waitForJob(job.id);
    const after = engine.task(`${job.id}:after`)!;
    expect(after.state).toBe('succeeded');
    expect(after.worker).not.toBe(worker);
    expect(engine.pool.threadCount).toBe(1);
  });

  it('cancels a whole job, and everything', async () => {
    const engine = makeEngine({ poolSize: 2, cancelGraceMs: 0 });
    const a = await engine.submitJob(jobSpec([{ id: 'x', kind: 'demo.block', ms: 60_000 }, { id: 'y', kind: 'demo.cpu', ms: 60_000 }, { id: 'z', kind: 'demo.sleep', ms: 60_000 }]), '/');
    const b = await engine.submitJob(jobSpec([{ id: 'x', kind: 'demo.cpu', ms: 60_000 }, { id: 'y', kind: 'demo.sleep', ms: 60_000 }]), '/');
    await waitFor(() => engine.stateCounts().running >= 2);
    expect(engine.cancelJob(a.id)).toBe(3);
    expect((await engine.waitForJob(a.id)).state).toBe('cancelled');
    expect(engine.cancelAll()).toBe(2);
    expect((await engine.waitForJob(b.id)).state).toBe('cancelled');
    for (const t of [...engine.tasksOfJob(a.id), ...engine.tasksOfJob(b.id)]) expect(t.state).toBe('cancelled');
  });

  it('fails only its own task when a worker goes over its memory limit', async () => {
    const engine = makeEngine({ poolSize: 1, resourceLimits: { maxOldGenerationSizeMb: 48 } });
    const job = await engine.submitJob(jobSpec([{ id: 'hog', kind: 'demo.alloc', mb: 400 }, { id: 'after', kind: 'demo.cpu', ms: 5 }]), '/');
    await engine.waitForJob(job.id);
    expect(engine.task(`${job.id}:hog`)).toMatchObject({ state: 'failed', error: { code: 'WORKER_OUT_OF_MEMORY' } });
    expect(engine.task(`${job.id}:after`)?.state).toBe('succeeded');
    expect(engine.pool.threadCount).toBe(1);
  });
});
