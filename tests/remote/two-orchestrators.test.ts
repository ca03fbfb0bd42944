import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { KEY_PREFIX, TASK_QUEUE } from '../../electron/remote/remote-protocol.js';
import { assertBuilt, expectNoStack, finished, runBin, spawnBin, type BinResult } from '../cli/bin.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';
import { Recorder, TaskFeed, remoteExecutor, startWorker, workersHeard } from './remote-fixture.js';

beforeAll(assertBuilt);

interface RunOutput {
  job: { id: string; state: string };
  tasks: Array<{ id: string; state: string; worker: string; result: unknown; error: { code: string; message: string } | null }>;
}

/** A script that appends its id to `marks` once `gate` exists, and returns its id. */
function gatedScript(dir: string, marks: string, gate: string): void {
  writeFileSync(
    join(dir, 'gated.mjs'),
    `import { appendFileSync, existsSync } from 'node:fs';
export default function (args) {
  const nap = new Int32Array(new SharedArrayBuffer(4));
  while (!existsSync(${JSON.stringify(gate)})) Atomics.wait(nap, 0, 0, 50);
  appendFileSync(${JSON.stringify(marks)}, args.id + '\\n');
  return args.who + '-' + args.id;
}`,
  );
}

function storeSays(dataDir: string, sql: string): string {
  try {
    return execFileSync('sqlite3', [join(dataDir, 'threadline.db'), sql], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return ''; // the store is not created yet
  }
}

describe('two orchestrators on one Redis', () => {
  it('each gets its own tasks\' results from the workers they share', async () => {
    const redis = await TestRedis.start();
    const dir = tempDir();
    const marks = join(dir, 'marks.txt');
    gatedScript(dir, marks, join(dir, 'marks.txt.gate'));
    writeFileSync(join(dir, 'marks.txt.gate'), '');
    for (const who of ['a', 'b']) {
      const tasks = [1, 2, 3, 4].map((n) => ({ id: `t${n}`, kind: 'script', module: 'gated.mjs', args: { who, id: `${who}${n}` } }));
      writeFileSync(join(dir, `${who}.json`), JSON.stringify({ name: who, tasks }));
    }
    await startWorker(redis.url, 'shared-1', dir, 2);

    const [a, b] = await Promise.all(['a', 'b'].map((who) => runBin(['run', join(dir, `${who}.json`), '--json', '--workers', '0', '--redis', redis.url, '--data-dir', tempDir()])));
    for (const [who, run] of [['a', a!], ['b', b!]] as const) {
      expect(run.code, run.stderr).toBe(0);
      const output = JSON.parse(run.stdout) as RunOutput;
      expect(output.tasks.map((t) => [t.id, t.state, t.result])).toEqual([1, 2, 3, 4].map((n) => [`t${n}`, 'succeeded', `${who}-${who}${n}`]));
      for (const task of output.tasks) expect(task.worker).toMatch(/^shared-1\/\d+$/);
    }
    expect(readFileSync(marks, 'utf8').trim().split('\n').sort()).toEqual(['a1', 'a2', 'a3', 'a4', 'b1', 'b2', 'b3', 'b4']);
  });

  it('puts at most two jobs per thread on Redis each: one orchestrator\'s backlog does not hold back the other\'s tasks', async () => {
    const redis = await TestRedis.start();
    const dir = tempDir();
    const marks = join(dir, 'marks.txt');
    const gate = join(dir, 'gate');
    gatedScript(dir, marks, gate);
    const backlog = Array.from({ length: 10 }, (_, i) => ({ id: `t${i}`, kind: 'script', module: 'gated.mjs', args: { who: 'a', id: `a${i}` } }));
    writeFileSync(join(dir, 'a.json'), JSON.stringify({ name: 'backlog', tasks: backlog }));
    writeFileSync(join(dir, 'b.json'), JSON.stringify({ name: 'one', tasks: [{ id: 't0', kind: 'script', module: 'gated.mjs', args: { who: 'b', id: 'b0' } }] }));
    await startWorker(redis.url, 'one-thread', dir, 1);
    const probe = new Redis(redis.url);
    onCleanup(() => probe.disconnect());
    const onRedis = async () => (await probe.llen(`${KEY_PREFIX}:${TASK_QUEUE}:wait`)) + (await probe.llen(`${KEY_PREFIX}:${TASK_QUEUE}:active`));
    const until = async (what: string, ok: () => Promise<boolean>) => {
      for (let tries = 0; !(await ok()); tries++) {
        if (tries > 300) throw new Error(`timed out waiting for ${what}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    };

    const a = finished(spawnBin(['run', join(dir, 'a.json'), '--json', '--workers', '0', '--redis', redis.url, '--data-dir', tempDir()]));
    await until('the backlog\'s first two jobs on Redis', async () => (await onRedis()) === 2);
    const b = finished(spawnBin(['run', join(dir, 'b.json'), '--json', '--workers', '0', '--redis', redis.url, '--data-dir', tempDir()]));
    await until('the other orchestrator\'s job on Redis too', async () => (await onRedis()) === 3);
    writeFileSync(gate, '');
    const [doneA, doneB] = await Promise.all([a, b]);
    expect(doneA.code, doneA.stderr).toBe(0);
    expect(doneB.code, doneB.stderr).toBe(0);
    const order = readFileSync(marks, 'utf8').trim().split('\n');
    expect([...order].sort()).toEqual([...backlog.map((t) => t.args.id), 'b0'].sort());
    // On the one thread, in the order the jobs went on the queue: the two of the backlog, then b's.
    expect(order.indexOf('b0')).toBe(2);
  });

  it('a stop request of one orchestrator stops its own task only, not the other\'s running beside it on the same worker', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    await startWorker(redis.url, 'shared-2', root, 2);
    const [recorderA, recorderB] = [new Recorder(), new Recorder()];
    const [a, b] = [await remoteExecutor(redis.url, recorderA), await remoteExecutor(redis.url, recorderB)];
    await workersHeard(a, 1);
    await workersHeard(b, 1);
    const ownA = new TaskFeed(root).task('long', 'demo.cpu', { ms: 60_000, cooperative: true });
    const feedB = new TaskFeed(root);
    const ownB = feedB.task('long', 'demo.cpu', { ms: 60_000, cooperative: true });
    a.fill(() => (ownA.onExecutor ? null : ((ownA.onExecutor = true), ownA)));
    b.fill(feedB.next);
    await waitFor(() => recorderA.starts.length === 1 && recorderB.starts.length === 1, 20_000, 'both tasks to start');
    a.requestStop(ownA);
    a.terminate(ownA);
    expect(await recorderA.ended(ownA)).toMatchObject({ type: 'stopped', worker: expect.stringMatching(/^shared-2\/\d+$/) });
    // B's task goes on: a task after it on the same worker ends first, and B hears nothing of A's.
    const after = feedB.task('after', 'demo.echo', { value: 1 });
    b.fill(feedB.next);
    expect(await recorderB.ended(after)).toMatchObject({ type: 'succeeded', result: 1 });
    expect(recorderB.outcomeOf(ownB)).toBeUndefined();
    expect(recorderA.outcomes.size).toBe(1);
    b.requestStop(ownB);
    expect(await recorderB.ended(ownB)).toMatchObject({ type: 'stopped' });
  });

  it('a task that killed the only worker twice fails in its own orchestrator only; the other\'s stall check neither fails nor removes it', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const runs = join(root, 'runs.txt');
    writeFileSync(join(root, 'killer.mjs'), `import { appendFileSync } from 'node:fs'; export default () => { appendFileSync(${JSON.stringify(runs)}, 'run\\n'); process.kill(process.pid, 'SIGKILL'); };`);
    const first = await startWorker(redis.url, 'build-1', root);
    const [recorderA, recorderB] = [new Recorder(), new Recorder()];
    const [a, b] = [await remoteExecutor(redis.url, recorderA), await remoteExecutor(redis.url, recorderB)];
    await workersHeard(a, 1);
    await workersHeard(b, 1);

    const feedB = new TaskFeed(root);
    const poison = feedB.task('poison', 'script', { module: join(root, 'killer.mjs'), export: 'default' });
    b.fill(feedB.next);
    expect((await first.exited).signal).toBe('SIGKILL');
    await waitFor(() => recorderB.logs.some((line) => line.message.startsWith('attempt 1 was interrupted')), 20_000, 'the task found stalled once');
    const second = await startWorker(redis.url, 'build-1', root);
    expect((await second.exited).signal).toBe('SIGKILL');
    expect(await recorderB.ended(poison, 20_000)).toMatchObject({ type: 'failed', error: { code: 'WORKER_CRASHED' } });
    expect(recorderB.outcomes.get(poison)).toHaveLength(1);
    expect(readFileSync(runs, 'utf8')).toBe('run\nrun\n');
    expect(recorderA.logs).toEqual([]);
    // Taken off the queue by A, it would have been queued again by B as lost by Redis.
    expect(recorderB.logs.filter((line) => line.message.includes('lost by Redis'))).toEqual([]);

    // A's own tasks run as before on a worker that comes later, and nothing of B's runs again.
    await startWorker(redis.url, 'build-2', root);
    await workersHeard(a, 1);
    const feedA = new TaskFeed(root);
    const echo = feedA.task('echo', 'demo.echo', { value: 'a' });
    a.fill(feedA.next);
    expect(await recorderA.ended(echo)).toMatchObject({ type: 'succeeded', result: 'a' });
    expect(recorderA.outcomes.size).toBe(1);
    expect(readFileSync(runs, 'utf8')).toBe('run\nrun\n');
  });

  it('refuses to resume a copy of a data directory whose job another orchestrator runs on the same Redis, naming it; each task runs once', async () => {
    const redis = await TestRedis.start();
    const dir = tempDir();
    const marks = join(dir, 'marks.txt');
    const gate = join(dir, 'gate');
    gatedScript(dir, marks, gate);
    const ids = ['a', 'b', 'c', 'd'];
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ name: 'copied', tasks: ids.map((id) => ({ id, kind: 'script', module: 'gated.mjs', args: { who: 'x', id } })) }));
    await startWorker(redis.url, 'wa', dir, 2);

    // A run killed with two tasks out on the worker; its data directory copied as it was.
    const dataDir = tempDir();
    const run = spawnBin(['run', join(dir, 'job.json'), '--workers', '0', '--redis', redis.url, '--data-dir', dataDir]);
    const killed = finished(run);
    await waitFor(() => existsSync(join(dataDir, 'threadline.db')) && storeSays(dataDir, "SELECT count(*) FROM tasks WHERE state = 'running'") === '2', 30_000, 'two tasks running');
    run.kill('SIGKILL');
    await killed;
    const copy = tempDir();
    cpSync(dataDir, copy, { recursive: true });

    // The first resume holds the job on Redis (after the killed run's hold lapsed).
    const first = spawnBin(['resume', '--json', '--workers', '0', '--redis', redis.url, '--data-dir', dataDir]);
    const firstDone = finished(first);
    const probe = new Redis(redis.url);
    onCleanup(() => probe.disconnect());
    const holder = async () => {
      const keys = await probe.keys('threadline:job:*');
      return keys.length === 1 ? await probe.get(keys[0]!) : null;
    };
    // However long it takes to start: the second resume must come after the first holds the job.
    await expect.poll(holder, { timeout: 60_000, interval: 100 }).toContain(`"pid":${first.pid}`);

    // The second, on the copy, is refused rather than following the same tasks.
    let second: BinResult | undefined;
    void runBin(['resume', '--json', '--workers', '0', '--redis', redis.url, '--data-dir', copy]).then((result) => (second = result));
    await waitFor(() => second, 30_000, 'the resume of the copy to end (it would wait on the gate if it followed the first one\'s tasks)');
    expect(second!.code, second!.stderr).toBe(1);
    expectNoStack(second!.stderr);
    const refused = JSON.parse(second!.stdout) as RunOutput;
    const jobId = refused.job.id;
    const said = `job ${jobId} is already run by another orchestrator (on host ${JSON.stringify(hostname())}, pid ${first.pid}) on this Redis`;
    expect(refused.tasks.map((t) => [t.id, t.state, t.error?.code])).toEqual(ids.map((id) => [id, 'failed', 'REMOTE_QUEUE_ERROR']));
    for (const task of refused.tasks) expect(task.error!.message).toContain(said);
    expect(await holder()).toContain(`"pid":${first.pid}`);

    writeFileSync(gate, '');
    const resumed = await firstDone;
    expect(resumed.code, resumed.stderr).toBe(0);
    const output = JSON.parse(resumed.stdout) as RunOutput;
    expect(output.tasks.map((t) => [t.id, t.state, t.result])).toEqual(ids.map((id) => [id, 'succeeded', `x-${id}`]));
    expect(readFileSync(marks, 'utf8').trim().split('\n').sort()).toEqual(ids);
  });
});
