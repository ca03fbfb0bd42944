import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt } from '../cli/bin.js';
import { tempDir, waitFor } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';
import { Recorder, TaskFeed, remoteExecutor, startWorker, workersHeard, type StartedWorker } from './remote-fixture.js';

beforeAll(assertBuilt);

/**
 * A script that notes `begin <pid>` and `end <pid>` in `runs`, holding its thread in between until
 * `release()`: a run is surely still under way when its worker is stopped, however slow the machine.
 */
function marker(root: string): { runs: string; module: string; release: () => void } {
  const runs = join(root, 'runs.txt');
  writeFileSync(runs, '');
  const gate = join(root, 'release');
  const module = join(root, 'mark.mjs');
  writeFileSync(module, `import { appendFileSync, existsSync } from 'node:fs'; export default () => { appendFileSync(${JSON.stringify(runs)}, 'begin ' + process.pid + '\\n'); const nap = new Int32Array(new SharedArrayBuffer(4)); while (!existsSync(${JSON.stringify(gate)})) Atomics.wait(nap, 0, 0, 20); appendFileSync(${JSON.stringify(runs)}, 'end ' + process.pid + '\\n'); return process.pid; };`);
  return { runs, module, release: () => writeFileSync(gate, '') };
}

const lines = (runs: string) => readFileSync(runs, 'utf8').trim().split('\n');

/**
 * A laptop that sleeps: its worker is stopped with SIGSTOP for longer than a task's lock (2 s)
 * and the stall check (1 s), then goes on with SIGCONT; its task's run is released then, and
 * finishes late.
 */
async function pauseWhileRunning(workers: StartedWorker[], recorder: Recorder, runs: string, paused: () => Promise<unknown>) {
  const first = await waitFor(() => recorder.starts[0], 20_000, 'the task to start');
  const victim = workers.find((w) => first.worker.startsWith(`${w.name}/`))!;
  await waitFor(() => lines(runs).includes(`begin ${victim.child.pid}`), 20_000, 'the script to begin');
  victim.child.kill('SIGSTOP');
  try {
    await paused();
  } finally {
    victim.child.kill('SIGCONT');
  }
  return victim;
}

describe('a worker stopped with SIGSTOP mid-task for longer than its lock, then resumed', () => {
  it('another worker takes the task over; the resumed worker\'s late result neither ends it again nor replaces the newer one', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const { runs, module, release } = marker(root);
    const workers = [await startWorker(redis.url, 'wa', root), await startWorker(redis.url, 'wb', root)];
    const recorder = new Recorder();
    const executor = await remoteExecutor(redis.url, recorder);
    await workersHeard(executor, 2);

    const feed = new TaskFeed(root);
    const task = feed.task('long', 'script', { module, export: 'default', args: {} });
    executor.fill(feed.next);
    const victim = await pauseWhileRunning(workers, recorder, runs, () => waitFor(() => recorder.interruptions.length > 0, 30_000, 'the task to be found stalled'));
    release();
    const survivor = workers.find((w) => w !== victim)!;

    const outcome = await recorder.ended(task, 40_000);
    expect(outcome).toMatchObject({ type: 'succeeded', result: survivor.child.pid, worker: expect.stringMatching(new RegExp(`^${survivor.name}/\\d+$`)) });
    // The paused run finishes late; BullMQ refuses its result (its lock went to the other worker).
    await waitFor(() => lines(runs).includes(`end ${victim.child.pid}`), 30_000, 'the paused run to finish');
    await new Promise((resolve) => setTimeout(resolve, 3000)); // a few reconciling rounds, for a late second end to show
    expect(recorder.outcomes.get(task)).toHaveLength(1);
    expect(recorder.interruptions).toEqual([task]);
    expect(lines(runs).filter((line) => line.startsWith('begin')).sort()).toEqual([`begin ${victim.child.pid}`, `begin ${survivor.child.pid}`].sort());
    // The resumed worker is a worker again: it is ready and takes tasks.
    await waitFor(() => executor.machines().find((m) => m.name === victim.name)?.state === 'ready', 20_000, 'the resumed worker to be ready');
  });

  it('alone on the queue: the resumed worker runs its task again, and the task ends once', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const { runs, module, release } = marker(root);
    const workers = [await startWorker(redis.url, 'wa', root)];
    const recorder = new Recorder();
    const executor = await remoteExecutor(redis.url, recorder);
    await workersHeard(executor, 1);

    const feed = new TaskFeed(root);
    const task = feed.task('long', 'script', { module, export: 'default', args: {} });
    const after = feed.task('after', 'demo.echo', { value: 7 });
    executor.fill(feed.next);
    // No other worker to find it stalled meanwhile: asleep well past its lock, it finds that itself when it wakes.
    await pauseWhileRunning(workers, recorder, runs, () => new Promise((resolve) => setTimeout(resolve, 5000)));
    release();
    expect(await recorder.ended(task, 40_000)).toMatchObject({ type: 'succeeded', worker: expect.stringMatching(/^wa\/\d+$/) });
    expect(await recorder.ended(after, 40_000)).toMatchObject({ type: 'succeeded', result: 7 });
    await new Promise((resolve) => setTimeout(resolve, 3000)); // a few reconciling rounds, for a late second end to show
    expect(recorder.outcomes.get(task)).toHaveLength(1);
    expect(recorder.interruptions).toEqual([task]);
    expect(lines(runs).filter((line) => line.startsWith('begin')).length).toBeLessThanOrEqual(2);
  });
});
