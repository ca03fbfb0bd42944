import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { KindTimings } from '../../electron/engine/kind-timings.js';
import { KEY_PREFIX, TASK_QUEUE, batchResultsKey, remoteJobId } from '../../electron/remote/remote-protocol.js';
import { assertBuilt, expectNoStack, runBin } from '../cli/bin.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';
import { Recorder, TaskFeed, oneWorker, remoteExecutor, startWorker, workersHeard } from './remote-fixture.js';

beforeAll(assertBuilt);

function script(dir: string, name: string, body: string): string {
  const file = join(dir, name);
  writeFileSync(file, body);
  return file;
}

/**
 * An executor that has seen `script` tasks prove tiny (on a first worker, gone by the time this
 * returns), so that the next ones travel in batches. The script notes each run in `runs` and,
 * given `hold`, waits while the file `hold` is there.
 */
async function taughtTiny(redisUrl: string, root: string, runs: string, hold: string) {
  const marker = script(root, 'mark.mjs', `import { appendFileSync, existsSync } from 'node:fs'; export default (args) => { appendFileSync(${JSON.stringify(runs)}, args.id + '\\n'); if (args.hold) while (existsSync(${JSON.stringify(hold)})); return args.id; };`);
  const teacher = await startWorker(redisUrl, 'teacher', root);
  const recorder = new Recorder();
  const executor = await remoteExecutor(redisUrl, recorder);
  await workersHeard(executor, 1);
  const feed = new TaskFeed(root);
  // The executor judges a kind tiny by a running mean of the times its workers report, and a few
  // runs slowed by a busy machine keep that mean up for a while: warm-ups go on until the same
  // judgement, made on the outcomes the executor reported in the order it reported them, says tiny.
  for (let round = 0; !judgedTiny(recorder, 'script'); round++) {
    if (round === 20) throw new Error('the script kind never proved tiny enough to travel in batches');
    const warmups = Array.from({ length: 40 }, (_, i) => feed.task(`warm-${round}-${i}`, 'script', { module: marker, export: 'default', args: { id: `warm-${round}-${i}` } }));
    executor.fill(feed.next);
    for (const task of warmups) expect(await recorder.ended(task)).toMatchObject({ type: 'succeeded' });
  }
  teacher.child.kill('SIGKILL');
  await teacher.exited;
  writeFileSync(hold, '');
  writeFileSync(runs, '');
  return { recorder, executor, feed, marker };
}

/** Whether `kind` has proven tiny by the outcomes `recorder` heard, judged as the remote executor judges them. */
function judgedTiny(recorder: Recorder, kind: string): boolean {
  const timings = new KindTimings();
  // A map keeps the order its keys were first set in: the order in which the tasks ended.
  for (const [task, [outcome]] of recorder.outcomes) {
    if (task.kind === kind && outcome?.type === 'succeeded') timings.record(kind, outcome.finishedAt - outcome.startedAt);
  }
  return timings.isTiny(kind);
}

describe('remote executor with threadline worker processes on a real redis-server', () => {
  it('runs tasks on the workers and brings back results, logs and where they ran', async () => {
    const redis = await TestRedis.start({ password: 'p@ss word' });
    const root = tempDir();
    writeFileSync(join(root, 'data.txt'), 'some bytes to hash\n'.repeat(1000));
    const module = script(root, 'double.mjs', 'export default function (args, ctx) { ctx.log(`doubling ${args.n}`); return { n: args.n * 2 }; }');
    await startWorker(redis.url, 'build-07', root, 2);
    const recorder = new Recorder();
    const executor = await remoteExecutor(redis.url, recorder);
    await workersHeard(executor, 1);
    expect(executor.machines()).toEqual([expect.objectContaining({ name: 'build-07', host: hostname(), threads: 2, state: 'ready', running: 0 })]);

    const feed = new TaskFeed(root);
    const hash = feed.task('hash', 'file.hash', { paths: [join(root, 'data.txt')] });
    const double = feed.task('double', 'script', { module, export: 'default', args: { n: 21 } });
    executor.fill(feed.next);
    const hashed = await recorder.ended(hash);
    const doubled = await recorder.ended(double);

    const expected = execFileSync('sha256sum', [join(root, 'data.txt')], { encoding: 'utf8' }).split(' ')[0];
    expect(hashed).toMatchObject({ type: 'succeeded', worker: expect.stringMatching(/^build-07\/\d+$/), result: { files: [{ digest: expected }] } });
    expect(doubled).toMatchObject({ type: 'succeeded', worker: expect.stringMatching(/^build-07\/\d+$/), result: { n: 42 } });
    expect(recorder.logs).toContainEqual(expect.objectContaining({ taskKey: double.key, level: 'info', message: 'doubling 21' }));
    expect(recorder.starts.map((s) => s.task.id).sort()).toEqual(['double', 'hash']);
  });

  it('refuses on the worker a path outside --root, a kind it does not offer, and a result too big to send back', async () => {
    const { root, recorder, executor } = await oneWorker();
    const elsewhere = tempDir();
    writeFileSync(join(elsewhere, 'secret.txt'), 'not yours');
    const outsideModule = script(elsewhere, 'evil.mjs', 'export default () => 1;');
    const bigModule = script(root, 'big.mjs', 'export default () => "x".repeat(2 * 1024 * 1024);');

    const feed = new TaskFeed(root);
    const outside = feed.task('outside', 'file.hash', { paths: [join(elsewhere, 'secret.txt')] });
    const climbing = feed.task('climbing', 'file.hash', { paths: [`${root}/../${elsewhere.split('/').pop()}/*.txt`] });
    const evil = feed.task('evil', 'script', { module: outsideModule, export: 'default' });
    const loopKind = feed.task('loop-kind', 'demo.sleep', { ms: 1 });
    const big = feed.task('big', 'script', { module: bigModule, export: 'default' });
    executor.fill(feed.next);
    for (const task of [outside, climbing, evil]) {
      const outcome = await recorder.ended(task);
      expect(outcome).toMatchObject({ type: 'failed', error: { code: 'PATH_OUTSIDE_ROOT', message: expect.stringContaining(`outside this worker's root ${root}`) } });
    }
    expect(await recorder.ended(loopKind)).toMatchObject({ type: 'failed', error: { code: 'KIND_NOT_OFFERED', message: expect.stringContaining('"demo.sleep"') } });
    expect(await recorder.ended(big)).toMatchObject({ type: 'failed', error: { code: 'RESULT_TOO_BIG', message: expect.stringMatching(/the result is 2\.0 MB as JSON, over the 1\.0 MB/) } });
  });

  it('never puts more tasks on Redis than two per thread the workers announced (one running, one next)', async () => {
    const { redis, root, recorder, executor } = await oneWorker(2);
    const queue = new Queue(TASK_QUEUE, { connection: { host: '127.0.0.1', port: redis.port }, prefix: KEY_PREFIX });
    onCleanup(() => queue.close());

    const feed = new TaskFeed(root);
    const tasks = Array.from({ length: 8 }, (_, i) => feed.task(`t${i}`, 'demo.block', { ms: 150 }));
    executor.fill(feed.next);
    let most = 0;
    while (tasks.some((task) => !recorder.outcomeOf(task))) {
      const counts = await queue.getJobCounts('waiting', 'active', 'prioritized', 'delayed');
      most = Math.max(most, Object.values(counts).reduce((a, b) => a + b, 0));
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(most).toBeGreaterThan(0);
    expect(most).toBeLessThanOrEqual(4);
    for (const task of tasks) expect(recorder.outcomes.get(task)).toEqual([expect.objectContaining({ type: 'succeeded' })]);
  });

  it('runs the task of a worker killed with SIGKILL on another one, and says that attempt was interrupted', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const workers = [await startWorker(redis.url, 'wa', root), await startWorker(redis.url, 'wb', root)];
    const recorder = new Recorder();
    const executor = await remoteExecutor(redis.url, recorder);
    await workersHeard(executor, 2);

    // The task holds its thread until the release file exists, made once the first worker is
    // dead: it is surely still running there at the kill, however slow the machine.
    const release = join(root, 'release');
    const module = script(root, 'waits.mjs', `import { existsSync } from 'node:fs'; export default () => { const nap = new Int32Array(new SharedArrayBuffer(4)); while (!existsSync(${JSON.stringify(release)})) Atomics.wait(nap, 0, 0, 20); return 'released'; };`);
    const feed = new TaskFeed(root);
    const task = feed.task('long', 'script', { module, export: 'default' });
    executor.fill(feed.next);
    const first = await waitFor(() => recorder.starts[0], 20_000, 'the task to start');
    const victim = workers.find((w) => first.worker.startsWith(`${w.name}/`))!;
    const survivor = workers.find((w) => w !== victim)!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    writeFileSync(release, '');

    const outcome = await recorder.ended(task);
    expect(outcome).toMatchObject({ type: 'succeeded', worker: expect.stringMatching(new RegExp(`^${survivor.name}/\\d+$`)) });
    expect(recorder.outcomes.get(task)).toHaveLength(1);
    expect(recorder.interruptions).toEqual([task]);
    expect(recorder.logs).toContainEqual(expect.objectContaining({ taskKey: task.key, level: 'warn', message: expect.stringContaining(`attempt 1 was interrupted: ${first.worker} stopped answering`) }));
    await waitFor(() => executor.machines().find((m) => m.name === victim.name)?.state === 'lost', 20_000, 'the killed worker to be seen as lost');
  });

  it('carries tasks of a kind proven tiny in one batch; a worker SIGKILLed mid-batch: what it finished is not run again, the rest runs on another worker', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const runs = join(root, 'runs.txt');
    const hold = join(root, 'hold');
    // Notes each run; one task waits while the hold file is there (the worker is killed meanwhile).
    const { recorder, executor, feed, marker } = await taughtTiny(redis.url, root, runs, hold);
    // Fresh workers: their own pools have not seen the kind, so they run and report each task of the batch on its own.
    const workers = [await startWorker(redis.url, 'wa', root), await startWorker(redis.url, 'wb', root)];
    await workersHeard(executor, 2);

    const ids = Array.from({ length: 10 }, (_, i) => `b${i}`);
    const tasks = ids.map((id) => feed.task(id, 'script', { module: marker, export: 'default', args: { id, hold: id === 'b4' } }));
    executor.fill(feed.next);
    await waitFor(() => readFileSync(runs, 'utf8').includes('b4'), 20_000, 'the held task to begin');
    const first = await waitFor(() => recorder.starts.find((s) => s.task === tasks[0]), 20_000, 'the batch to start');
    // What the worker keeps on Redis of the four tasks it finished is what must not run again.
    const redisClient = new Redis(redis.port, '127.0.0.1');
    onCleanup(() => redisClient.disconnect());
    const queue = new Queue(TASK_QUEUE, { connection: { host: '127.0.0.1', port: redis.port }, prefix: KEY_PREFIX });
    onCleanup(() => queue.close());
    const [carrier] = await queue.getJobs(['active']);
    expect(carrier?.name).toBe('batch');
    let kept = 0;
    const keptBy = Date.now() + 20_000;
    while (kept < 4 && Date.now() < keptBy) {
      kept = await redisClient.hlen(batchResultsKey(carrier!.id!));
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    expect(kept).toBe(4);
    const victim = workers.find((w) => first.worker.startsWith(`${w.name}/`))!;
    const survivor = workers.find((w) => w !== victim)!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    rmSync(hold);

    for (const task of tasks) expect(recorder.outcomes.get(task) ?? [await recorder.ended(task, 30_000)]).toHaveLength(1);
    const lines = readFileSync(runs, 'utf8').trim().split('\n');
    // b0..b3 ended before the kill and ran once; b4 ran on both; b5..b9 began only on the survivor.
    expect(lines.sort()).toEqual([...ids, 'b4'].sort());
    for (const [index, task] of tasks.entries()) {
      const outcome = recorder.outcomeOf(task)!;
      const ranOn = index < 4 ? victim : survivor;
      expect(outcome, task.id).toMatchObject({ type: 'succeeded', result: task.id, worker: expect.stringMatching(new RegExp(`^${ranOn.name}/\\d+$`)) });
    }
    // The unfinished ones were interrupted attempts; the finished ones were not.
    expect(new Set(recorder.interruptions)).toEqual(new Set(tasks.slice(4)));
    // One queue job carried the ten tasks; every task of it was started by one message.
    const done = await queue.getJob(carrier!.id!);
    expect(await done!.getState()).toBe('completed');
    expect((done!.data as { tasks: Array<{ taskKey: string }> }).tasks.map((t) => t.taskKey)).toEqual(tasks.map((t) => t.key));
    expect(new Set(recorder.starts.filter((s) => tasks.includes(s.task) && s.worker.startsWith(`${victim.name}/`)).map((s) => s.at)).size).toBe(1);
  });

  it('stops one task of a batch on its own: the others of the batch run once and succeed', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const runs = join(root, 'runs.txt');
    const hold = join(root, 'hold');
    const { recorder, executor, feed, marker } = await taughtTiny(redis.url, root, runs, hold);
    await startWorker(redis.url, 'wa', root);
    await workersHeard(executor, 1);

    const ids = Array.from({ length: 8 }, (_, i) => `b${i}`);
    const tasks = ids.map((id) => feed.task(id, 'script', { module: marker, export: 'default', args: { id, hold: id === 'b3' } }));
    executor.fill(feed.next);
    await waitFor(() => readFileSync(runs, 'utf8').includes('b3'), 20_000, 'the held task to begin');
    // Held in a sync loop: only the end of its thread stops it.
    executor.terminate(tasks[3]!);
    expect(await recorder.ended(tasks[3]!)).toMatchObject({ type: 'stopped' });
    for (const task of tasks.filter((_, i) => i !== 3)) expect(await recorder.ended(task)).toMatchObject({ type: 'succeeded', result: task.id });
    expect(readFileSync(runs, 'utf8').trim().split('\n').sort()).toEqual(ids);
    for (const task of tasks) expect(recorder.outcomes.get(task)).toHaveLength(1);
  });

  it('keeps the results of a batch that succeeded while its orchestrator was away, and does not run its tasks again', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const runs = join(root, 'runs.txt');
    const { recorder, executor, feed, marker } = await taughtTiny(redis.url, root, runs, join(root, 'hold'));
    await startWorker(redis.url, 'wa', root);
    await workersHeard(executor, 1);
    const ids = ['b0', 'b1', 'b2', 'b3'];
    const tasks = ids.map((id) => feed.task(id, 'script', { module: marker, export: 'default', args: { id } }));
    executor.fill(feed.next);
    for (const task of tasks) await recorder.ended(task);
    await executor.close();

    // As after a restart: the same tasks, each first attempt counted as interrupted.
    const second = new Recorder();
    const after = await remoteExecutor(redis.url, second);
    await workersHeard(after, 1);
    const again = new TaskFeed(root, feed.jobId);
    const copies = ids.map((id) => again.task(id, 'script', { module: marker, export: 'default', args: { id } }));
    for (const copy of copies) copy.attempts = 1;
    after.fill(again.next);
    for (const copy of copies) expect(await second.ended(copy)).toMatchObject({ type: 'succeeded', result: copy.id });
    expect(second.logs.filter((line) => line.message.startsWith('attempt 1 had already succeeded'))).toHaveLength(4);
    expect(readFileSync(runs, 'utf8').trim().split('\n').sort()).toEqual(ids);
  });

  it('fails with WORKER_CRASHED a task that kills the workers that run it', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const killer = script(root, 'killer.mjs', 'export default () => { process.kill(process.pid, "SIGKILL"); };');
    for (const name of ['wa', 'wb', 'wc']) await startWorker(redis.url, name, root);
    const recorder = new Recorder();
    const executor = await remoteExecutor(redis.url, recorder);
    await workersHeard(executor, 3);

    const feed = new TaskFeed(root);
    const task = feed.task('poison', 'script', { module: killer, export: 'default' });
    executor.fill(feed.next);
    expect(await recorder.ended(task, 45_000)).toMatchObject({ type: 'failed', error: { code: 'WORKER_CRASHED' } });
    // Each worker it killed interrupted it once; the second time BullMQ gave up on it.
    expect(recorder.logs.filter((line) => line.message.includes('was interrupted')).length).toBeGreaterThanOrEqual(1);
  });

  it('fails with WORKER_CRASHED, and takes off the queue, a task that killed the only worker twice, with no worker left to take it again', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const runs = join(root, 'runs.txt');
    const killer = script(root, 'killer.mjs', `import { appendFileSync } from 'node:fs'; export default () => { appendFileSync(${JSON.stringify(runs)}, 'run\\n'); process.kill(process.pid, 'SIGKILL'); };`);
    // One worker, restarted once under the same name after the task killed it (as a service manager would).
    const first = await startWorker(redis.url, 'build-1', root);
    const recorder = new Recorder();
    const executor = await remoteExecutor(redis.url, recorder);
    await workersHeard(executor, 1);
    const queue = new Queue(TASK_QUEUE, { connection: { host: '127.0.0.1', port: redis.port }, prefix: KEY_PREFIX });
    onCleanup(() => queue.close());

    const feed = new TaskFeed(root);
    const task = feed.task('poison', 'script', { module: killer, export: 'default' });
    executor.fill(feed.next);
    expect((await first.exited).signal).toBe('SIGKILL');
    await waitFor(() => recorder.logs.some((line) => line.message.startsWith('attempt 1 was interrupted')), 20_000, 'the task found stalled once');
    const second = await startWorker(redis.url, 'build-1', root);
    expect((await second.exited).signal).toBe('SIGKILL');
    // No worker is left: the orchestrator, not a worker taking the job again, ends the task.
    expect(await recorder.ended(task, 20_000)).toMatchObject({ type: 'failed', error: { code: 'WORKER_CRASHED' } });
    expect(recorder.outcomes.get(task)).toHaveLength(1);
    expect(readFileSync(runs, 'utf8')).toBe('run\nrun\n');
    // Nothing of it is left on the queue for a worker that comes later (it goes just after the task ends).
    const jobId = remoteJobId(task.key, 1);
    for (let tries = 0; tries < 100 && (await queue.getJobState(jobId)) !== 'unknown'; tries++) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await queue.getJobState(jobId)).toBe('unknown');
    const counts = await queue.getJobCounts('waiting', 'active', 'prioritized', 'delayed', 'failed');
    expect(Object.values(counts).reduce((a, b) => a + b, 0)).toBe(0);
  });

  it('cancels across machines: the soft flag for a task that checks it, the end of its thread for one stuck in a sync loop', async () => {
    const { root, recorder, executor } = await oneWorker(2);

    const feed = new TaskFeed(root);
    const cooperative = feed.task('cooperative', 'demo.cpu', { ms: 60_000, cooperative: true });
    const stuck = feed.task('stuck', 'demo.block', { ms: 60_000 });
    executor.fill(feed.next);
    await waitFor(() => recorder.starts.length === 2, 20_000, 'both tasks to start');
    executor.requestStop(cooperative);
    executor.requestStop(stuck);
    expect(await recorder.ended(cooperative)).toMatchObject({ type: 'stopped', worker: expect.stringMatching(/^build-1\/\d+$/) });
    // The stuck one never looks at its flag: only ending its thread stops it.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(recorder.outcomeOf(stuck)).toBeUndefined();
    executor.terminate(stuck);
    expect(await recorder.ended(stuck)).toMatchObject({ type: 'stopped', worker: expect.stringMatching(/^build-1\/\d+$/) });

    // The worker's pool replaced the thread: it still runs tasks.
    const after = feed.task('after', 'demo.echo', { value: 7 });
    executor.fill(feed.next);
    expect(await recorder.ended(after)).toMatchObject({ type: 'succeeded', result: 7 });
  });

  it('goes on after Redis is killed and restarted mid-run, and loses no task', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    await startWorker(redis.url, 'wa', root);
    await startWorker(redis.url, 'wb', root);
    const recorder = new Recorder();
    const executor = await remoteExecutor(redis.url, recorder);
    await workersHeard(executor, 2);

    const feed = new TaskFeed(root);
    const tasks = Array.from({ length: 12 }, (_, i) => feed.task(`t${i}`, 'demo.block', { ms: 200 }));
    executor.fill(feed.next);
    await waitFor(() => recorder.outcomes.size >= 2, 20_000, 'a first few tasks to end');
    await redis.kill();
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await redis.launch();
    for (const task of tasks) await recorder.ended(task, 45_000);
    for (const task of tasks) expect(recorder.outcomes.get(task)).toEqual([expect.objectContaining({ type: 'succeeded' })]);
  });

  it('keeps the result of a task that succeeded on Redis while its orchestrator was away, and does not run it again', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const marks = join(root, 'marks.txt');
    const marker = script(root, 'mark.mjs', `import { appendFileSync } from 'node:fs'; export default () => { appendFileSync(${JSON.stringify(marks)}, 'ran\\n'); return 'done'; };`);
    await startWorker(redis.url, 'build-1', root);
    const first = new Recorder();
    const before = await remoteExecutor(redis.url, first);
    await workersHeard(before, 1);
    const jobId = 'j-restart-1';
    const feed = new TaskFeed(root, jobId);
    const task = feed.task('mark', 'script', { module: marker, export: 'default' });
    before.fill(feed.next);
    await first.ended(task);
    await before.close();

    // As after a restart: the same task, its first attempt counted as interrupted.
    const second = new Recorder();
    const after = await remoteExecutor(redis.url, second);
    await workersHeard(after, 1);
    const again = new TaskFeed(root, jobId).task('mark', 'script', { module: marker, export: 'default' });
    again.attempts = 1;
    after.fill(() => (second.outcomes.has(again) || again.onExecutor ? null : ((again.onExecutor = true), again)));
    expect(await second.ended(again)).toMatchObject({ type: 'succeeded', result: 'done' });
    expect(readFileSync(marks, 'utf8')).toBe('ran\n');
  });

  it('drains on SIGTERM: its running task ends, then it exits 0', async () => {
    const { root, worker, recorder, executor } = await oneWorker();
    const feed = new TaskFeed(root);
    const task = feed.task('busy', 'demo.block', { ms: 800 });
    executor.fill(feed.next);
    await waitFor(() => recorder.starts.length === 1, 20_000, 'the task to start');
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expect(recorder.outcomeOf(task) ?? (await recorder.ended(task))).toMatchObject({ type: 'succeeded' });
    await waitFor(() => executor.machines().length === 0, 20_000, 'the drained worker to leave the roster');
  });

  it('refuses to start against an unreachable Redis: one line naming the URL without its password, exit 2', async () => {
    const redis = await TestRedis.start();
    const port = redis.port;
    await redis.kill();
    const result = await runBin(['worker', '--redis', `redis://user:hunter2@127.0.0.1:${port}/0`, '--name', 'build-1', '--root', tempDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`threadline: cannot reach Redis at redis://user:***@127.0.0.1:${port}/0: connection refused\n`);
    expect(result.stdout).toBe('');
    expectNoStack(result.stderr);
    expect(result.stderr).not.toContain('hunter2');
  });
});
