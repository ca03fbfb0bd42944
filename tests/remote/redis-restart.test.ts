import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../electron/engine/task.js';
import { execFileSync } from 'node:child_process';
import { assertBuilt, expectNoStack, finished, spawnBin } from '../cli/bin.js';
import { tempDir, waitFor } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';
import { begun, markerScript } from './marker-script.js';
import { Recorder, TaskFeed, remoteExecutor, startWorker, workersHeard } from './remote-fixture.js';

beforeAll(assertBuilt);

/**
 * Two workers on a fresh Redis and six tasks fed to an executor: two run, held until `release(1)`,
 * two wait on Redis behind them, two wait in the engine. Resolves once two have started.
 */
async function sixTasksOnTwoWorkers() {
  const redis = await TestRedis.start();
  const root = tempDir();
  const { runs, module, release } = markerScript(root);
  await startWorker(redis.url, 'wa', root);
  await startWorker(redis.url, 'wb', root);
  const recorder = new Recorder();
  const executor = await remoteExecutor(redis.url, recorder);
  await workersHeard(executor, 2);
  const feed = new TaskFeed(root);
  const tasks = Array.from({ length: 6 }, (_, i) => feed.task(`t${i}`, 'script', { module, export: 'default', args: { id: `t${i}`, held: [1] } }));
  executor.fill(feed.next);
  await waitFor(() => recorder.starts.length >= 2, 20_000, 'two tasks to start');
  return { redis, runs, recorder, tasks, release };
}

describe('Redis killed with SIGKILL and started again on the same port while remote tasks run and wait', () => {
  it('without its data: every task ends once; one that was running is queued again, its attempt interrupted and its log saying Redis lost it', async () => {
    const { redis, runs, recorder, tasks, release } = await sixTasksOnTwoWorkers();
    await redis.kill();
    const running = new Set<Task>(recorder.starts.map((s) => s.task).filter((task) => !recorder.outcomes.has(task)));
    for (const file of readdirSync(redis.dir)) rmSync(join(redis.dir, file), { recursive: true, force: true });
    await redis.launch();
    // The first runs end only now, on a Redis that no longer knows their tasks.
    release(1);

    for (const task of tasks) await recorder.ended(task, 60_000);
    for (const task of tasks) expect(recorder.outcomes.get(task), task.id).toEqual([expect.objectContaining({ type: 'succeeded', result: task.id })]);
    expect(running.size).toBeGreaterThan(0);
    // Those cut short ran again (at least once, as promised), and say why; the others ran once and were not interrupted.
    expect(new Set(recorder.interruptions)).toEqual(running);
    for (const task of tasks) {
      const lost = recorder.logs.filter((line) => line.taskKey === task.key && line.message.includes('was lost by Redis'));
      if (running.has(task)) {
        expect(lost, task.id).toEqual([expect.objectContaining({ level: 'warn', message: expect.stringMatching(/^attempt 1 was lost by Redis while it ran on w[ab]\/\d+ \(restarted without its data, or flushed\): the task is queued again$/) })]);
        expect(begun(runs, task.id), task.id).toBe(2);
      } else {
        expect(begun(runs, task.id), task.id).toBe(1);
      }
    }
  });

  it('with its data (append-only file): a running task is not run twice, and every task ends once', async () => {
    const { redis, runs, recorder, tasks, release } = await sixTasksOnTwoWorkers();
    await redis.kill();
    await redis.launch();
    release(1);

    for (const task of tasks) await recorder.ended(task, 60_000);
    for (const task of tasks) {
      expect(recorder.outcomes.get(task), task.id).toEqual([expect.objectContaining({ type: 'succeeded', result: task.id })]);
      expect(begun(runs, task.id), task.id).toBe(1);
    }
    expect(recorder.interruptions).toEqual([]);
  });

  it('threadline run says once that Redis cannot be reached, and once that it can again, then ends with the task ended once', async () => {
    const redis = await TestRedis.start({ password: 'hunter2' });
    const root = tempDir();
    const { runs, module, release } = markerScript(root);
    await startWorker(redis.url, 'build-07', root);
    writeFileSync(join(root, 'job.json'), JSON.stringify({ name: 'away', tasks: [{ id: 'long', kind: 'script', module, args: { id: 'long', held: [1] } }] }));
    const dataDir = tempDir();
    const run = spawnBin(['run', join(root, 'job.json'), '--json', '--workers', '0', '--redis', redis.url, '--data-dir', dataDir]);
    let stderr = '';
    run.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const ended = finished(run);
    await waitFor(() => begun(runs, 'long') === 1, 30_000, 'the task to begin on the worker');
    await redis.kill();
    const shown = `redis://:***@127.0.0.1:${redis.port}`;
    await waitFor(() => stderr.includes('[REDIS_UNREACHABLE]'), 30_000, 'the run to say Redis is away');
    await redis.launch();
    await waitFor(() => stderr.includes('Redis can be reached again [REDIS_UNREACHABLE]'), 30_000, 'the run to say Redis is back');
    release(1);
    const result = await ended;

    expect(result.code, stderr).toBe(0);
    const notices = stderr.split('\n').filter((line) => line.includes('REDIS_UNREACHABLE'));
    expect(notices).toEqual([
      `Redis at ${shown} cannot be reached (connection refused): the tasks on remote workers wait for it, and no other is sent; the connection is tried again every second [REDIS_UNREACHABLE]`,
      'Redis can be reached again [REDIS_UNREACHABLE]',
    ]);
    expect(stderr).not.toContain('hunter2');
    expectNoStack(stderr);
    expect(JSON.parse(result.stdout).tasks[0]).toMatchObject({ id: 'long', state: 'succeeded', worker: expect.stringMatching(/^build-07\/\d+$/) });
    // Away longer than a task's lock (2 s), the task was found stalled and may have run again: at least once, ended once.
    expect(begun(runs, 'long')).toBeGreaterThanOrEqual(1);
    expect(begun(runs, 'long')).toBeLessThanOrEqual(2);
    expect(existsSync(join(dataDir, 'threadline.db'))).toBe(true);
    expect(execFileSync('sqlite3', [join(dataDir, 'threadline.db'), 'SELECT state FROM tasks'], { encoding: 'utf8' }).trim()).toBe('succeeded');
  });

  it('away twice while one task runs, each time longer than its lock: the task is not taken for the cause (no WORKER_CRASHED), it runs again and succeeds', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const { module, release } = markerScript(root);
    await startWorker(redis.url, 'build-07', root);
    // Its first two runs are held: each is surely still running when Redis goes away and comes back.
    writeFileSync(join(root, 'job.json'), JSON.stringify({ name: 'flapping', tasks: [{ id: 'long', kind: 'script', module, args: { id: 'long', held: [1, 2] } }] }));
    const dataDir = tempDir();
    const run = spawnBin(['run', join(root, 'job.json'), '--json', '--workers', '0', '--redis', redis.url, '--data-dir', dataDir]);
    const ended = finished(run);
    const storeSays = (sql: string) => {
      try {
        return execFileSync('sqlite3', [join(dataDir, 'threadline.db'), sql], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
      } catch {
        return ''; // the store is not created yet
      }
    };
    for (const attempt of [1, 2]) {
      await waitFor(() => existsSync(join(dataDir, 'threadline.db')) && storeSays(`SELECT state FROM attempts WHERE attempt = ${attempt}`) === 'running', 30_000, `attempt ${attempt} to run`);
      await redis.kill();
      // Longer than the task's lock (2 s): when Redis is back, the task is found stalled.
      await new Promise((resolve) => setTimeout(resolve, 3500));
      await redis.launch();
      // Once it was found stalled, the held run may end: its end is refused, and the task runs again.
      await waitFor(() => Number(storeSays("SELECT count(*) FROM task_logs WHERE message LIKE 'attempt % was interrupted:%'")) >= attempt, 30_000, `attempt ${attempt} to be found stalled`);
      release(attempt);
    }
    const result = await ended;
    expect(result.code, result.stderr).toBe(0);
    const task = (JSON.parse(result.stdout) as { tasks: Array<{ state: string; attempts: number; logs: Array<{ message: string }> }> }).tasks[0]!;
    expect(task.state).toBe('succeeded');
    expect(task.logs.map((line) => line.message)).toContainEqual('found stalled twice, with Redis out of reach meanwhile: the task is not taken for the cause, and runs again');
    const attempts = execFileSync('sqlite3', [join(dataDir, 'threadline.db'), 'SELECT attempt, state FROM attempts ORDER BY attempt'], { encoding: 'utf8' }).trim().split('\n');
    expect(attempts).toEqual(['1|interrupted', '2|interrupted', '3|succeeded']);
  });

  it('stopped with SIGSTOP (connections open, no answer) while a task runs: the run says so, and once it answers again, the task ends once', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const { module, release } = markerScript(root);
    await startWorker(redis.url, 'build-07', root);
    // Held until Redis answers again: surely still running while it does not.
    writeFileSync(join(root, 'job.json'), JSON.stringify({ name: 'frozen', tasks: [{ id: 'long', kind: 'script', module, args: { id: 'long', held: [1] } }] }));
    const dataDir = tempDir();
    const run = spawnBin(['run', join(root, 'job.json'), '--json', '--workers', '0', '--redis', redis.url, '--data-dir', dataDir]);
    let stderr = '';
    run.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const ended = finished(run);
    await waitFor(() => {
      try {
        return existsSync(join(dataDir, 'threadline.db')) && execFileSync('sqlite3', [join(dataDir, 'threadline.db'), 'SELECT state FROM tasks'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() === 'running';
      } catch {
        return false;
      }
    }, 30_000, 'the task to run');
    redis.signal('SIGSTOP');
    try {
      await waitFor(() => stderr.includes('[REDIS_UNREACHABLE]'), 30_000, 'the run to say Redis does not answer');
    } finally {
      redis.signal('SIGCONT');
    }
    await waitFor(() => stderr.includes('Redis can be reached again [REDIS_UNREACHABLE]'), 30_000, 'the run to say Redis answers again');
    release(1);
    const result = await ended;
    expect(result.code, stderr).toBe(0);
    expect(stderr.split('\n').filter((line) => line.includes('REDIS_UNREACHABLE'))).toEqual([
      `Redis at redis://127.0.0.1:${redis.port} cannot be reached (no answer for 3 s): the tasks on remote workers wait for it, and no other is sent; the connection is tried again every second [REDIS_UNREACHABLE]`,
      'Redis can be reached again [REDIS_UNREACHABLE]',
    ]);
    expect(JSON.parse(result.stdout).tasks[0]).toMatchObject({ id: 'long', state: 'succeeded' });
  });
});
