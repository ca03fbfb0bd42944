/**
 * `threadline run` and `resume` against the `threadline serve` that owns the data directory:
 * real processes on both sides, the store checked with the sqlite3 CLI.
 */
import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectApi, type NodeApiClient } from '../../electron/serve/node-api-client.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { assertBuilt, expectNoStack, finished, jobFile, runBin, spawnBin, type BinResult } from './bin.js';

beforeAll(assertBuilt);

interface Serve {
  child: ChildProcess;
  dataDir: string;
  port: number;
  token: string;
  exited: Promise<BinResult>;
}

async function startServe(dataDir = tempDir()): Promise<Serve> {
  const child = spawnBin(['serve', '--port', '0', '--workers', '2', '--grace', '300', '--data-dir', dataDir, '--web-root', tempDir()]);
  let stdout = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  const exited = finished(child);
  const line = await waitFor(() => stdout.includes('\n') && stdout.split('\n')[0], 30_000, 'the serve URL');
  const url = new URL(line);
  return { child, dataDir, port: Number(url.port), token: url.searchParams.get('token')!, exited };
}

async function apiOf(serve: Serve): Promise<NodeApiClient['api']> {
  const client = await connectApi({ host: '127.0.0.1', port: serve.port, token: serve.token });
  onCleanup(() => client.close());
  return client.api;
}

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function sql(dataDir: string, query: string): string {
  return execFileSync('sqlite3', ['-readonly', '-cmd', '.timeout 5000', join(dataDir, 'threadline.db'), query], { encoding: 'utf8' }).trim();
}

/** A script module that logs `n` lines (a warning every 100th) and returns how many. */
function loggerModule(dir: string): void {
  writeFileSync(
    join(dir, 'logger.mjs'),
    "export function run(args, ctx) { for (let i = 0; i < args.n; i++) ctx.log(`line ${i}`, i % 100 === 0 ? 'warn' : 'info'); return { wrote: args.n }; }\n",
  );
}

const HOST_LINE = /^running on the "threadline serve" of this data directory as job (j-\S+)$/m;

describe('threadline run with a serve on the data directory', () => {
  it('submits the job to the serve, follows it, and ends with the same output and exit codes as a local run', async () => {
    const serve = await startServe();
    const api = await apiOf(serve);
    const file = jobFile(
      {
        name: 'on the host',
        tasks: [
          { id: 'chatty', kind: 'script', module: 'logger.mjs', export: 'run', args: { n: 250 } },
          { id: 'echo', kind: 'demo.echo', value: { n: 1 } },
          { id: 'boom', kind: 'demo.fail', message: 'on purpose' },
        ],
      },
      'host-job.json',
    );
    loggerModule(join(file, '..'));

    const json = await runBin(['run', file, '--json', '--data-dir', serve.dataDir]);
    expect(json.code).toBe(1);
    expectNoStack(json.stderr);
    const jobId = HOST_LINE.exec(json.stderr)![1]!;
    const output = JSON.parse(json.stdout) as { job: { id: string; state: string }; tasks: Array<Record<string, unknown>> };
    expect(output.job).toMatchObject({ id: jobId, state: 'failed', name: 'on the host' });
    expect(output.tasks.map((t) => [t.id, t.state, t.summary])).toEqual([
      ['chatty', 'succeeded', '{"wrote":250}'],
      ['echo', 'succeeded', '{"n":1}'],
      ['boom', 'failed', null],
    ]);
    // Its relative module path was resolved against the job file's folder, not the serve's.
    const logs = output.tasks[0]!.logs as Array<{ level: string; message: string }>;
    expect(logs).toHaveLength(201);
    expect(logs[0]).toMatchObject({ level: 'warn', message: '50 earlier log lines dropped; the newest 200 are kept' });
    expect(logs[1]!.message).toBe('line 50');
    expect(logs.at(-1)!.message).toBe('line 249');
    expect(output.tasks[2]!.error).toMatchObject({ code: 'DEMO_FAILURE', message: 'on purpose' });

    // The job ran in the serve's engine: its dashboard lists it, and its store holds it.
    const { jobs } = await api.listJobs({ history: false });
    expect(jobs.find((job) => job.id === jobId)).toMatchObject({ state: 'failed', counts: { succeeded: 2, failed: 1 } });
    await until(async () => sql(serve.dataDir, `SELECT state FROM jobs WHERE id = '${jobId}'`) === 'failed', 'the job in the store');
    expect(sql(serve.dataDir, 'SELECT count(*) FROM owner')).toBe('1');

    // Text mode: warnings as they came, the table, and each task's result in a line.
    const ok = jobFile({ name: 'fine', tasks: [{ id: 'chatty', kind: 'script', module: 'logger.mjs', export: 'run', args: { n: 101 } }, { id: 'nap', kind: 'demo.sleep', ms: 50 }] });
    loggerModule(join(ok, '..'));
    const plain = await runBin(['run', ok, '--data-dir', serve.dataDir]);
    expect(plain.code).toBe(0);
    expect(plain.stderr).toMatch(HOST_LINE);
    expect(plain.stderr).toMatch(/^chatty warning: line 0$/m);
    expect(plain.stderr).toMatch(/^chatty warning: line 100$/m);
    expect(plain.stdout).toMatch(/^job j-\S+ \(fine\): succeeded$/m);
    expect(plain.stdout).toMatch(/^results:\n {2}chatty\s+\{"wrote":101\}\n {2}nap\s+\{"sleptMs":\d+\}$/m);

    // A refused file is refused here, before the host sees it, with the same line and exit 2.
    const bad = await runBin(['run', jobFile({ name: 'x', tasks: [{ id: 'a', kind: 'demo.nope' }] }), '--data-dir', serve.dataDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^threadline: \S+job\.json: tasks\[0\]\.kind: unknown kind "demo\.nope"/);

    // Another data directory runs an engine of its own.
    const elsewhere = tempDir();
    const own = await runBin(['run', jobFile({ name: 'own', tasks: [{ id: 'a', kind: 'demo.echo' }] }), '--json', '--data-dir', elsewhere]);
    expect(own.code).toBe(0);
    expect(own.stderr).not.toMatch(HOST_LINE);
    const ownId = (JSON.parse(own.stdout) as { job: { id: string } }).job.id;
    expect(sql(elsewhere, `SELECT name FROM jobs WHERE id = '${ownId}'`)).toBe('own');
    expect(sql(serve.dataDir, `SELECT count(*) FROM jobs WHERE id = '${ownId}'`)).toBe('0');
  });

  it('Ctrl-C cancels the job it submitted on the serve, which keeps running; exit 130', async () => {
    const serve = await startServe();
    const api = await apiOf(serve);
    const file = jobFile({ name: 'stop me', tasks: [{ id: 'long', kind: 'demo.sleep', ms: 60_000 }, { id: 'stuck', kind: 'demo.block', ms: 60_000 }, { id: 'later', kind: 'demo.echo', dependsOn: ['long'] }] });
    const run = spawnBin(['run', file, '--data-dir', serve.dataDir]);
    const result = finished(run);
    let jobId = '';
    await until(async () => {
      const { jobs } = await api.listJobs({ history: false });
      const job = jobs.find((j) => j.name === 'stop me');
      jobId = job?.id ?? '';
      return (job?.counts.running ?? 0) === 2;
    }, 'both tasks running on the serve');
    run.kill('SIGINT');
    const end = await result;
    expect(end.code).toBe(130);
    expect(end.stderr).toContain('SIGINT: cancelling the job on the host');
    expectNoStack(end.stderr);
    expect(end.stdout).toMatch(new RegExp(`^job ${jobId} \\(stop me\\): cancelled$`, 'm'));
    const { jobs } = await api.listJobs({ history: false });
    expect(jobs.find((j) => j.id === jobId)).toMatchObject({ state: 'cancelled', counts: { cancelled: 3 } });
    expect(serve.child.exitCode).toBeNull(); // the serve goes on
  });

  it('resume runs the interrupted jobs on the serve; a serve that died is not mistaken for a running one', async () => {
    const dataDir = tempDir();
    // A local run killed mid-job leaves it running in the store; the serve's engine marks it interrupted.
    const run = spawnBin(['run', jobFile({ name: 'killed', tasks: [{ id: 'nap', kind: 'demo.sleep', ms: 60_000 }, { id: 'quick', kind: 'demo.echo' }] }), '--data-dir', dataDir]);
    const killed = finished(run);
    const napRunning = () => {
      try {
        return sql(dataDir, "SELECT count(*) FROM tasks WHERE state = 'running'") === '1';
      } catch {
        return false; // the store is not created yet
      }
    };
    await waitFor(() => existsSync(join(dataDir, 'threadline.db')) && napRunning(), 30_000, 'the task running');
    run.kill('SIGKILL');
    await killed;

    const serve = await startServe(dataDir);
    expect(sql(dataDir, "SELECT state FROM jobs WHERE name = 'killed'")).toBe('interrupted');
    const api = await apiOf(serve);
    const resumed = spawnBin(['resume', '--json', '--data-dir', dataDir]);
    const resumedEnd = finished(resumed);
    await until(async () => (await api.listJobs({ history: false })).jobs.some((j) => j.name === 'killed'), 'the job resumed on the serve');
    const jobId = (await api.listJobs({ history: false })).jobs.find((j) => j.name === 'killed')!.id;
    await api.cancelTask({ key: `${jobId}:nap` });
    const end = await resumedEnd;
    expect(end.code).toBe(1);
    const output = JSON.parse(end.stdout) as { job: { id: string; state: string }; tasks: Array<{ id: string; state: string }> };
    expect(output.job).toMatchObject({ id: jobId, state: 'cancelled' });
    expect(output.tasks.map((t) => [t.id, t.state])).toEqual([['nap', 'cancelled'], ['quick', 'succeeded']]);

    // The serve dies without removing its serve file: the next run runs here, in an engine of its own.
    serve.child.kill('SIGKILL');
    await serve.exited;
    expect(existsSync(join(dataDir, 'serve.json'))).toBe(true);
    const local = await runBin(['run', jobFile({ name: 'after', tasks: [{ id: 'a', kind: 'demo.echo' }] }), '--data-dir', dataDir]);
    expect(local.code).toBe(0);
    expect(local.stderr).not.toMatch(HOST_LINE);
  });

  it('a serve that stops while the CLI follows a job ends the CLI with exit 1 and one line', async () => {
    const serve = await startServe();
    const api = await apiOf(serve);
    const run = spawnBin(['run', jobFile({ name: 'orphan', tasks: [{ id: 'long', kind: 'demo.sleep', ms: 60_000 }] }), '--data-dir', serve.dataDir]);
    const result = finished(run);
    await until(async () => (await api.listJobs({ history: false })).jobs.some((j) => j.name === 'orphan' && j.counts.running === 1), 'the task running');
    serve.child.kill('SIGTERM');
    const end = await result;
    expect(end.code).toBe(1);
    expectNoStack(end.stderr);
    // Either the job's end (interrupted by the shutdown) arrived, or the connection closed first.
    expect(end.stdout + end.stderr).toMatch(/\(orphan\): interrupted|lost the connection to "threadline serve"/);
  });
});
