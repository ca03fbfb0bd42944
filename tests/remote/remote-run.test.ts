import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TaskAttempt } from '../../contract/records.js';
import { TimelineIndex } from '../../renderer/src/timeline/timeline-index.js';
import { assertBuilt, expectNoStack, finished, ROOT, runBin, spawnBin } from '../cli/bin.js';
import { tempDir, waitFor } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';
import { startWorker } from './remote-fixture.js';

beforeAll(assertBuilt);

interface RunOutput {
  job: { id: string; state: string };
  tasks: Array<{ id: string; state: string; attempts: number; worker: string; result: unknown; error: unknown; logs: Array<{ message: string }> }>;
}

/** A result without what differs from run to run (how long it took). */
function comparable(result: unknown): unknown {
  return JSON.parse(JSON.stringify(result, (key, value: unknown) => (key === 'durationMs' ? undefined : value)));
}

/** SQL on a copy of Chinook, file hashing and scripts: the same job, run here and on remote workers. */
function mixedJob(dir: string): string {
  copyFileSync(join(ROOT, '../shared/datasets/chinook.sqlite'), join(dir, 'chinook.sqlite'));
  mkdirSync(join(dir, 'data'));
  for (let i = 0; i < 6; i++) writeFileSync(join(dir, 'data', `part-${i}.txt`), `line ${i}\n`.repeat(5000 * (i + 1)));
  writeFileSync(join(dir, 'square.mjs'), 'export default function (args, ctx) { const until = Date.now() + 150; while (Date.now() < until); ctx.log(`squaring ${args.n}`); return args.n * args.n; }');
  const tasks: Array<Record<string, unknown>> = [
    { id: 'artists', kind: 'sql.query', db: 'chinook.sqlite', sql: 'SELECT ArtistId, Name FROM Artist ORDER BY ArtistId LIMIT 5' },
    { id: 'tracks-csv', kind: 'sql.query', db: 'chinook.sqlite', sql: 'SELECT TrackId, Name, Milliseconds FROM Track ORDER BY TrackId', output: { path: 'out/tracks.csv' } },
    { id: 'by-genre', kind: 'sql.query', db: 'chinook.sqlite', sql: 'SELECT g.Name, COUNT(*) FROM Track t JOIN Genre g USING (GenreId) GROUP BY g.Name ORDER BY 2 DESC, 1', dependsOn: ['artists'] },
    { id: 'hash', kind: 'file.hash', paths: ['data/*.txt'] },
  ];
  for (let n = 1; n <= 6; n++) tasks.push({ id: `square-${n}`, kind: 'script', module: 'square.mjs', args: { n } });
  const file = join(dir, 'mixed.json');
  writeFileSync(file, JSON.stringify({ name: 'mixed', tasks }));
  return file;
}

describe('threadline run --redis with two threadline worker processes', () => {
  it('gives the results of a local run, each task naming the worker thread it ran on, in --json and in the store', async () => {
    const redis = await TestRedis.start();
    const dir = tempDir();
    const file = mixedJob(dir);

    const local = await runBin(['run', file, '--json', '--workers', '2', '--data-dir', tempDir()]);
    expect(local.code, local.stderr).toBe(0);
    const localCsv = readFileSync(join(dir, 'out/tracks.csv'), 'utf8');

    await startWorker(redis.url, 'build-07', dir);
    await startWorker(redis.url, 'build-08', dir);
    const dataDir = tempDir();
    const remote = await runBin(['run', file, '--json', '--workers', '0', '--redis', redis.url, '--data-dir', dataDir]);
    expect(remote.code, remote.stderr).toBe(0);

    const here = JSON.parse(local.stdout) as RunOutput;
    const there = JSON.parse(remote.stdout) as RunOutput;
    expect(there.job.state).toBe('succeeded');
    expect(there.tasks.map((t) => [t.id, t.state, comparable(t.result)])).toEqual(here.tasks.map((t) => [t.id, t.state, comparable(t.result)]));
    expect(readFileSync(join(dir, 'out/tracks.csv'), 'utf8')).toBe(localCsv);
    for (const task of there.tasks) expect(task.worker).toMatch(/^build-0[78]\/\d+$/);
    expect(new Set(there.tasks.map((t) => t.worker.split('/')[0]))).toEqual(new Set(['build-07', 'build-08']));
    expect(there.tasks.find((t) => t.id === 'square-3')!.logs.map((l) => l.message)).toContain('squaring 3');

    const shown = await runBin(['show', there.job.id, '--json', '--data-dir', dataDir]);
    const stored = JSON.parse(shown.stdout) as { tasks: Array<{ id: string; worker: string }> };
    expect(stored.tasks.map((t) => [t.id, t.worker])).toEqual(there.tasks.map((t) => [t.id, t.worker]));
  });

  it('resume --redis finishes a job whose orchestrator was killed, without running again what ran on the workers meanwhile', async () => {
    const redis = await TestRedis.start();
    const dir = tempDir();
    const marks = join(dir, 'marks.txt');
    // Each task holds its thread until the release file exists, made once the orchestrator is
    // dead: all four are surely running together at the kill, and end while it is away.
    const release = join(dir, 'release');
    writeFileSync(
      join(dir, 'mark.mjs'),
      `import { appendFileSync, existsSync } from 'node:fs'; export default function (args) { const nap = new Int32Array(new SharedArrayBuffer(4)); while (!existsSync(${JSON.stringify(release)})) Atomics.wait(nap, 0, 0, 20); appendFileSync(${JSON.stringify(marks)}, args.id + '\\n'); return args.id; }`,
    );
    const ids = ['a', 'b', 'c', 'd'];
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ name: 'killed', tasks: [...ids.map((id) => ({ id, kind: 'script', module: 'mark.mjs', args: { id } })), { id: 'after', kind: 'demo.echo', value: 'last', dependsOn: ids }] }));
    await startWorker(redis.url, 'wa', dir, 2);
    await startWorker(redis.url, 'wb', dir, 2);
    const dataDir = tempDir();
    const run = spawnBin(['run', join(dir, 'job.json'), '--workers', '0', '--redis', redis.url, '--data-dir', dataDir]);
    const killed = finished(run);
    const running = () => {
      try {
        return execFileSync('sqlite3', [join(dataDir, 'threadline.db'), "SELECT count(*) FROM tasks WHERE state = 'running'"], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() === '4';
      } catch {
        return false; // the store is not created yet
      }
    };
    await waitFor(() => existsSync(join(dataDir, 'threadline.db')) && running(), 30_000, 'the four tasks running');
    run.kill('SIGKILL');
    await killed;
    writeFileSync(release, '');

    const resumed = await runBin(['resume', '--json', '--workers', '0', '--redis', redis.url, '--data-dir', dataDir]);
    expect(resumed.code, resumed.stderr).toBe(0);
    const output = JSON.parse(resumed.stdout) as RunOutput;
    expect(output.tasks.map((t) => [t.id, t.state, t.result])).toEqual([...ids.map((id) => [id, 'succeeded', id]), ['after', 'succeeded', 'last']]);
    expect(readFileSync(marks, 'utf8').trim().split('\n').sort()).toEqual(ids);
  });

  it('records the attempt of a worker SIGKILLed mid-task as interrupted on that worker, and the next one on the other', async () => {
    const redis = await TestRedis.start();
    const dir = tempDir();
    const workers = [await startWorker(redis.url, 'build-07', dir, 1), await startWorker(redis.url, 'build-08', dir, 1)];
    // The task holds its thread until the release file exists, made once the first worker is
    // dead: it is surely still running there at the kill, however slow the machine.
    const release = join(dir, 'release');
    writeFileSync(join(dir, 'waits.mjs'), `import { existsSync } from 'node:fs'; export default function () { const nap = new Int32Array(new SharedArrayBuffer(4)); while (!existsSync(${JSON.stringify(release)})) Atomics.wait(nap, 0, 0, 20); return 'released'; }`);
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ name: 'failover', tasks: [{ id: 'long', kind: 'script', module: 'waits.mjs' }] }));
    const dataDir = tempDir();
    const run = spawnBin(['run', join(dir, 'job.json'), '--json', '--workers', '0', '--redis', redis.url, '--data-dir', dataDir]);
    const ended = finished(run);
    const runningOn = () => {
      try {
        return /^build-0[78]\/\d+$/.exec(execFileSync('sqlite3', [join(dataDir, 'threadline.db'), 'SELECT worker FROM tasks'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim())?.[0];
      } catch {
        return undefined;
      }
    };
    const first = await waitFor(() => existsSync(join(dataDir, 'threadline.db')) && runningOn(), 30_000, 'the task running on a worker');
    const victim = workers.find((w) => first.startsWith(`${w.name}/`))!;
    const survivor = workers.find((w) => w !== victim)!;
    victim.child.kill('SIGKILL');
    await victim.exited;
    writeFileSync(release, '');
    const result = await ended;
    expect(result.code, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout) as RunOutput & { job: { id: string } };
    expect(output.tasks[0]).toMatchObject({ state: 'succeeded', attempts: 2, worker: expect.stringMatching(new RegExp(`^${survivor.name}/\\d+$`)) });
    expect(output.tasks[0]!.logs.map((l) => l.message)).toContainEqual(expect.stringContaining(`attempt 1 was interrupted: ${first} stopped answering`));

    const shown = JSON.parse((await runBin(['show', output.job.id, '--json', '--data-dir', dataDir])).stdout) as { tasks: Array<{ history: Array<{ attempt: number; state: string; worker: string }> }> };
    expect(shown.tasks[0]!.history.map((a) => [a.attempt, a.state, a.worker])).toEqual([
      [1, 'interrupted', first],
      [2, 'succeeded', expect.stringMatching(new RegExp(`^${survivor.name}/\\d+$`))],
    ]);
  });

  it('fails the attempt of a task whose only worker was killed twice under it, though no worker is left, then retries it as its retries say', async () => {
    const redis = await TestRedis.start();
    const dir = tempDir();
    const runs = join(dir, 'runs.txt');
    const hold = join(dir, 'hold');
    writeFileSync(hold, '');
    // Notes each run, and runs while the hold file is there (its workers are killed meanwhile).
    writeFileSync(join(dir, 'held.mjs'), `import { appendFileSync, existsSync } from 'node:fs'; export default () => { appendFileSync(${JSON.stringify(runs)}, 'run\\n'); while (existsSync(${JSON.stringify(hold)})); return 'done'; };`);
    // The engine counts the interrupted attempt as one of its tries, as for any task whose remote
    // worker was lost: two retries leave one after the failure. No backoff: the retry goes on the
    // queue while the failed attempt's job may still be there, marked to fail, and must not follow it.
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ name: 'held', tasks: [{ id: 'held', kind: 'script', module: 'held.mjs', retries: 2, retryBackoffMs: 0 }] }));
    const dataDir = tempDir();
    const attempts = () => {
      try {
        return execFileSync('sqlite3', [join(dataDir, 'threadline.db'), 'SELECT attempt, state FROM attempts ORDER BY attempt'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n');
      } catch {
        return []; // not created yet, or the run's writer holds it a moment
      }
    };
    const run = spawnBin(['run', join(dir, 'job.json'), '--json', '--workers', '0', '--redis', redis.url, '--data-dir', dataDir]);
    const ended = finished(run);
    // The only worker, killed under the task twice, started again under its name each time (as a service manager would).
    const runsSoFar = () => (existsSync(runs) ? readFileSync(runs, 'utf8').split('\n').length - 1 : 0);
    for (const attempt of [1, 2]) {
      const worker = await startWorker(redis.url, 'build-07', dir, 1);
      // Its start is told as a thread takes it, before the script is loaded there: the kill waits for the script's own mark.
      await waitFor(() => attempts().includes(`${attempt}|running`) && runsSoFar() === attempt, 30_000, `attempt ${attempt} running`);
      worker.child.kill('SIGKILL');
      await worker.exited;
    }
    // With no worker left, the orchestrator fails that attempt itself; the retry waits for a worker.
    await waitFor(() => attempts().includes('2|failed'), 30_000, 'the second attempt to fail');
    expect(readFileSync(runs, 'utf8')).toBe('run\nrun\n');
    rmSync(hold);
    await startWorker(redis.url, 'build-07', dir, 1);
    const result = await ended;
    expect(result.code, result.stderr).toBe(0);
    const output = JSON.parse(result.stdout) as RunOutput & { job: { id: string } };
    expect(output.tasks[0]).toMatchObject({ state: 'succeeded', result: 'done', attempts: 3, worker: expect.stringMatching(/^build-07\/\d+$/) });
    expect(output.tasks[0]!.logs.map((l) => l.message)).toContainEqual(expect.stringContaining('attempt 1 was interrupted: build-07/'));
    expect(readFileSync(runs, 'utf8')).toBe('run\nrun\nrun\n');
    const shown = JSON.parse((await runBin(['show', output.job.id, '--json', '--data-dir', dataDir])).stdout) as { tasks: Array<{ history: Array<{ attempt: number; state: string }> }> };
    expect(shown.tasks[0]!.history.map((a) => [a.attempt, a.state])).toEqual([
      [1, 'interrupted'],
      [2, 'failed'],
      [3, 'succeeded'],
    ]);
  });

  it('fails a task that killed the only worker twice with WORKER_CRASHED, with no worker left, and says so: exit 1', async () => {
    const redis = await TestRedis.start();
    const dir = tempDir();
    writeFileSync(join(dir, 'poison.mjs'), 'export default () => { process.kill(process.pid, "SIGKILL"); };');
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ name: 'poison', tasks: [{ id: 'poison', kind: 'script', module: 'poison.mjs' }] }));
    const first = await startWorker(redis.url, 'build-07', dir, 1);
    const run = spawnBin(['run', join(dir, 'job.json'), '--workers', '0', '--redis', redis.url, '--data-dir', tempDir()]);
    const ended = finished(run);
    expect((await first.exited).signal).toBe('SIGKILL');
    const second = await startWorker(redis.url, 'build-07', dir, 1);
    expect((await second.exited).signal).toBe('SIGKILL');
    const result = await ended;
    expect(result.code).toBe(1);
    expectNoStack(result.stdout + result.stderr);
    expect(result.stdout + result.stderr).toContain('WORKER_CRASHED');
  });

  it('keeps a task with runOn: local on the orchestrator\'s pool, and fails it clearly when there is none', async () => {
    const redis = await TestRedis.start();
    const shared = tempDir();
    const own = tempDir(); // only the orchestrator has it: outside the worker's root
    writeFileSync(join(own, 'private.txt'), 'only here\n');
    writeFileSync(join(shared, 'shared.txt'), 'everywhere\n');
    const file = join(shared, 'job.json');
    writeFileSync(file, JSON.stringify({ name: 'pinned', tasks: [
      { id: 'private', kind: 'file.hash', paths: [join(own, 'private.txt')], runOn: 'local' },
      ...[1, 2, 3].map((n) => ({ id: `shared-${n}`, kind: 'file.hash', paths: ['shared.txt'] })),
    ] }));
    await startWorker(redis.url, 'build-07', shared, 2);

    const dataDir = tempDir();
    const mixed = await runBin(['run', file, '--json', '--workers', '1', '--redis', redis.url, '--data-dir', dataDir]);
    expect(mixed.code, mixed.stderr).toBe(0);
    const { job, tasks } = JSON.parse(mixed.stdout) as RunOutput;
    // Stored with the task, so that a resume or a rerun keeps it where it was pinned.
    const stored = execFileSync('sqlite3', [join(dataDir, 'threadline.db'), `SELECT id, run_on FROM tasks WHERE job_id = '${job.id}' ORDER BY seq`], { encoding: 'utf8' });
    expect(stored).toBe('private|local\nshared-1|\nshared-2|\nshared-3|\n');
    expect(tasks.find((t) => t.id === 'private')).toMatchObject({ state: 'succeeded', worker: expect.stringMatching(/^w\d+$/) });
    for (const task of tasks) expect(task.state).toBe('succeeded');

    const alone = await runBin(['run', file, '--json', '--workers', '0', '--redis', redis.url, '--data-dir', tempDir()]);
    expect(alone.code).toBe(1);
    const refused = (JSON.parse(alone.stdout) as RunOutput).tasks;
    expect(refused.find((t) => t.id === 'private')).toMatchObject({ state: 'failed', error: { code: 'NO_LOCAL_POOL' } });
    for (const task of refused.filter((t) => t.id !== 'private')) expect(task).toMatchObject({ state: 'succeeded', worker: expect.stringMatching(/^build-07\/\d+$/) });
  });

  it('serve --redis --workers 0 runs the jobs given to it on the remote workers', async () => {
    const redis = await TestRedis.start();
    const dir = tempDir();
    await startWorker(redis.url, 'build-07', dir, 2);
    const dataDir = tempDir();
    const serve = spawnBin(['serve', '--port', '0', '--workers', '0', '--redis', redis.url, '--data-dir', dataDir, '--web-root', tempDir()]);
    let stdout = '';
    serve.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    await waitFor(() => stdout.includes('\n'), 30_000, 'the serve URL');
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ name: 'on-serve', tasks: [1, 2, 3].map((n) => ({ id: `e${n}`, kind: 'demo.echo', value: n })) }));
    // The serve owns the data directory: the job runs there, followed from here.
    const run = await runBin(['run', join(dir, 'job.json'), '--json', '--data-dir', dataDir]);
    expect(run.code, run.stderr).toBe(0);
    const output = JSON.parse(run.stdout) as RunOutput;
    expect(output.tasks.map((t) => [t.id, t.state, t.result])).toEqual([['e1', 'succeeded', 1], ['e2', 'succeeded', 2], ['e3', 'succeeded', 3]]);
    for (const task of output.tasks) expect(task.worker).toMatch(/^build-07\/\d+$/);
    serve.kill('SIGTERM');
  });

  it('times out a remote task stuck in a sync loop: its thread on the worker is ended after the grace period', async () => {
    const redis = await TestRedis.start();
    const dir = tempDir();
    await startWorker(redis.url, 'build-07', dir, 1);
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ name: 'stuck', tasks: [{ id: 'stuck', kind: 'demo.block', ms: 60_000, timeoutMs: 300 }, { id: 'next', kind: 'demo.echo', value: 'ran' }] }));
    const run = await runBin(['run', join(dir, 'job.json'), '--json', '--workers', '0', '--grace', '200', '--redis', redis.url, '--data-dir', tempDir()]);
    expect(run.code).toBe(1);
    const output = JSON.parse(run.stdout) as RunOutput;
    expect(output.tasks.map((t) => [t.id, t.state])).toEqual([['stuck', 'timed_out'], ['next', 'succeeded']]);
    expect(output.tasks[0]).toMatchObject({ worker: expect.stringMatching(/^build-07\/\d+$/), error: { code: 'TIMED_OUT' } });
  });

  it('stops on Ctrl-C after Redis went away for good, the running task interrupted; a worker drains and exits then too', async () => {
    const redis = await TestRedis.start();
    const dir = tempDir();
    const worker = await startWorker(redis.url, 'build-07', dir, 1);
    // The task holds its thread until the release file exists, made once the run has stopped: it
    // is surely still running when Redis goes and the run is told to stop, however slow the machine.
    const release = join(dir, 'release');
    writeFileSync(join(dir, 'waits.mjs'), `import { existsSync } from 'node:fs'; export default function () { const nap = new Int32Array(new SharedArrayBuffer(4)); while (!existsSync(${JSON.stringify(release)})) Atomics.wait(nap, 0, 0, 20); return 'released'; }`);
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ name: 'cut-off', tasks: [{ id: 'long', kind: 'script', module: 'waits.mjs' }] }));
    const dataDir = tempDir();
    const run = spawnBin(['run', join(dir, 'job.json'), '--json', '--workers', '0', '--grace', '200', '--redis', redis.url, '--data-dir', dataDir]);
    const ended = finished(run);
    const running = () => {
      try {
        return execFileSync('sqlite3', [join(dataDir, 'threadline.db'), "SELECT state FROM tasks"], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() === 'running';
      } catch {
        return false;
      }
    };
    await waitFor(() => existsSync(join(dataDir, 'threadline.db')) && running(), 30_000, 'the task running');
    await redis.kill();
    run.kill('SIGINT');
    const result = await ended;
    expect(result.code).toBe(130);
    expect(JSON.parse(result.stdout).tasks[0]).toMatchObject({ id: 'long', state: 'interrupted' });

    // Its task (which it was never told to stop) ends, and it lets go of a Redis that is not there.
    writeFileSync(release, '');
    worker.child.kill('SIGTERM');
    expect((await worker.exited).code).toBe(0);
  });

  it('refuses an unreachable Redis at start: one line naming the URL without its password, exit 2', async () => {
    const redis = await TestRedis.start();
    await redis.kill();
    const dir = tempDir();
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ name: 'x', tasks: [{ id: 'a', kind: 'demo.echo' }] }));
    const result = await runBin(['run', join(dir, 'job.json'), '--redis', `redis://:s3cret@127.0.0.1:${redis.port}`, '--data-dir', tempDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`threadline: cannot reach Redis at redis://:***@127.0.0.1:${redis.port}: connection refused\n`);
    expectNoStack(result.stderr);
  });

  it('names the machine alone for a task it refused before any thread took it, and the timeline gives that attempt no lane', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const elsewhere = tempDir();
    writeFileSync(join(root, 'data.txt'), 'inside\n');
    writeFileSync(join(elsewhere, 'secret.txt'), 'outside\n');
    const file = join(root, 'job.json');
    writeFileSync(file, JSON.stringify({ name: 'refusals', tasks: [{ id: 'inside', kind: 'file.hash', paths: ['data.txt'] }, { id: 'outside', kind: 'file.hash', paths: [join(elsewhere, 'secret.txt')] }] }));
    await startWorker(redis.url, 'build-07', root);
    const dataDir = tempDir();
    const run = await runBin(['run', file, '--json', '--workers', '0', '--redis', redis.url, '--data-dir', dataDir]);
    expect(run.code, run.stderr).toBe(1);
    const jobId = (JSON.parse(run.stdout) as RunOutput).job.id;

    const shown = JSON.parse((await runBin(['show', jobId, '--json', '--data-dir', dataDir])).stdout) as {
      tasks: Array<{ id: string; state: 'succeeded' | 'failed'; startedAt: number; worker: string; error: { code: string } | null; history: TaskAttempt[] }>;
    };
    const inside = shown.tasks.find((t) => t.id === 'inside')!;
    const outside = shown.tasks.find((t) => t.id === 'outside')!;
    expect(inside).toMatchObject({ state: 'succeeded', worker: expect.stringMatching(/^build-07\/\d+$/) });
    // It was judged on build-07, by no thread of it.
    expect(outside).toMatchObject({ state: 'failed', worker: 'build-07', error: { code: 'PATH_OUTSIDE_ROOT' } });
    expect(outside.history).toEqual([expect.objectContaining({ attempt: 1, worker: 'build-07', state: 'failed' })]);
    const stored = execFileSync('sqlite3', [join(dataDir, 'threadline.db'), "SELECT task_id, worker FROM attempts ORDER BY task_id"], { encoding: 'utf8' }).trim().split('\n');
    expect(stored).toEqual([`inside|${inside.worker}`, 'outside|build-07']);

    // The dashboard's timeline: a lane for the thread that ran a task, none named after the machine alone.
    const timeline = new TimelineIndex();
    for (const task of shown.tasks) timeline.setAttempts(`${jobId}:${task.id}`, task.history, { state: task.state, queuedAt: task.startedAt });
    expect(timeline.lanes.map((lane) => lane.id)).toEqual(['loop', inside.worker]);
    expect(timeline.lane(inside.worker)).toMatchObject({ kind: 'remote', remote: { machine: 'build-07' } });
    expect(timeline.size).toBe(1);
  });

  it('refuses --workers 0 without --redis', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ name: 'x', tasks: [{ id: 'a', kind: 'demo.echo' }] }));
    const result = await runBin(['run', join(dir, 'job.json'), '--workers', '0', '--data-dir', tempDir()]);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe('threadline: --workers 0 needs --redis: with no local pool, sync tasks run only on remote workers\n');
  });
});
