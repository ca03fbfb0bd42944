import { execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TraceFile } from '../../electron/cli/chrome-trace.js';
import { connectApi, type NodeApiClient } from '../../electron/serve/node-api-client.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { httpRequest } from '../hosts/ws-test-client.js';
import { assertBuilt, expectNoStack, finished, jobFile, runBin, spawnBin, type BinResult } from './bin.js';

beforeAll(assertBuilt);

interface RunningServe {
  child: ChildProcess;
  dataDir: string;
  url: string;
  port: number;
  token: string;
  exited: Promise<BinResult>;
  stdout: () => string;
  stderr: () => string;
}

async function startServe(extra: string[] = [], dataDir = tempDir()): Promise<RunningServe> {
  const child = spawnBin(['serve', '--port', '0', '--workers', '2', '--grace', '300', '--data-dir', dataDir, ...extra]);
  const exited = finished(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  const line = await waitFor(() => stdout.includes('\n') && stdout.split('\n')[0], 30_000, `the serve URL (stderr: ${stderr})`);
  const url = new URL(line);
  return { child, dataDir, url: line, port: Number(url.port), token: url.searchParams.get('token')!, exited, stdout: () => stdout, stderr: () => stderr };
}

async function client(serve: RunningServe): Promise<NodeApiClient> {
  const c = await connectApi({ host: '127.0.0.1', port: serve.port, token: serve.token });
  onCleanup(() => c.close());
  return c;
}

/** Polls an asynchronous condition (the API answers over the socket). */
async function until(check: () => Promise<boolean>, what = 'condition', timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function sql(dataDir: string, query: string): string {
  return execFileSync('sqlite3', ['-readonly', join(dataDir, 'threadline.db'), query], { encoding: 'utf8' }).trim();
}

describe('threadline serve and cancel (the real bin)', () => {
  it('prints one URL line, cancels tasks and jobs from another process, and stops gracefully on SIGTERM', async () => {
    const serve = await startServe(['--web-root', tempDir()]);
    expect(serve.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}$/);

    // serve.json tells other commands where the server is; only its owner can read the token.
    const infoFile = join(serve.dataDir, 'serve.json');
    const info = JSON.parse(readFileSync(infoFile, 'utf8'));
    expect(info).toEqual({ url: serve.url, host: '127.0.0.1', port: serve.port, token: serve.token, pid: serve.child.pid, startedAt: expect.any(Number) });
    expect(statSync(infoFile).mode & 0o777).toBe(0o600);

    // No dashboard in the web root given: the page says how to build it.
    const page = await httpRequest(serve.port, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('npm run build');
    expect(serve.stderr()).toContain('the dashboard is not built');

    const api = (await client(serve)).api;
    const submitted = await api.submitJob({
      fileName: 'cancel-me.yaml',
      text: [
        'name: cancel me',
        'tasks:',
        '  - {id: stuck, kind: demo.block, ms: 60000}',
        '  - {id: after, kind: demo.echo, dependsOn: [stuck]}',
        '  - {id: waiting, kind: demo.sleep, ms: 60000}',
      ].join('\n'),
    });
    if (!submitted.ok) throw new Error(JSON.stringify(submitted.issues));
    const jobId = submitted.job.id;
    const state = async (id: string) => (await api.taskDetail({ key: `${jobId}:${id}` })).task.state;
    const becomes = (id: string, wanted: string) => until(async () => (await state(id)) === wanted, `${id} to become ${wanted}`);
    await becomes('stuck', 'running');

    // The stuck thread ignores the flag; the hard stop after the grace period ends it.
    const task = await runBin(['cancel', `${jobId}:stuck`, '--data-dir', serve.dataDir]);
    expect(task).toMatchObject({ code: 0, stdout: `task ${jobId}:stuck: asked to stop\n`, stderr: '' });
    await becomes('stuck', 'cancelled');
    expect(await state('after')).toBe('skipped');

    const job = await runBin(['cancel', jobId, '--data-dir', serve.dataDir, '--json']);
    expect(job.code).toBe(0);
    expect(JSON.parse(job.stdout)).toEqual({ target: jobId, kind: 'job', cancelled: 1 });
    await becomes('waiting', 'cancelled');

    const again = await runBin(['cancel', jobId, '--data-dir', serve.dataDir]);
    expect(again).toMatchObject({ code: 1, stdout: `job ${jobId} had already ended; nothing to cancel\n` });
    const unknown = await runBin(['cancel', 'j-nope', '--data-dir', serve.dataDir]);
    expect(unknown).toMatchObject({ code: 2, stdout: '', stderr: 'threadline: no job "j-nope" in this engine\n' });
    const blank = await runBin(['cancel', '', '--data-dir', serve.dataDir]);
    expect(blank).toMatchObject({ code: 2, stdout: '', stderr: 'threadline: cancelJob: jobId: Too small: expected string to have >=1 characters\n' });
    const spaced = await runBin(['cancel', 'a b', '--data-dir', serve.dataDir]);
    expect(spaced).toMatchObject({ code: 2, stdout: '', stderr: 'threadline: cancelJob: jobId: expected a job id\n' });
    const unknownTask = await runBin(['cancel', 'j-nope:x', '--data-dir', serve.dataDir]);
    expect(unknownTask).toMatchObject({ code: 2, stdout: '', stderr: 'threadline: no task "j-nope:x" in this engine\n' });
    const malformed = await runBin(['cancel', 'a:b:c', '--data-dir', serve.dataDir]);
    expect(malformed.code).toBe(2);
    expect(malformed.stderr).toBe('threadline: cancelTask: key: expected a task key "<jobId>:<taskId>"\n');

    // The serve owns the data directory: a run there goes to it rather than opening a second engine.
    const run = await runBin(['run', jobFile({ name: 'x', tasks: [{ id: 'a', kind: 'demo.echo' }] }), '--data-dir', serve.dataDir]);
    expect(run.code).toBe(0);
    expect(run.stderr).toMatch(/^running on the "threadline serve" of this data directory as job j-\S+$/m);

    // With a serve running, export-trace adds its telemetry.
    const traced = await runBin(['export-trace', jobId, '-o', '-', '--data-dir', serve.dataDir]);
    expect(traced.code).toBe(0);
    const trace = JSON.parse(traced.stdout) as TraceFile;
    expect(trace.traceEvents.filter((e) => e.ph === 'C' && e.name === 'memory (MB)').length).toBeGreaterThan(0);
    expect(trace.traceEvents.find((e) => e.name === 'loop delay (ms)')!.args).toMatchObject({ p50: expect.any(Number), p99: expect.any(Number) });

    serve.child.kill('SIGTERM');
    const end = await serve.exited;
    expect(end.code).toBe(0);
    expect(end.stdout).toBe(`${serve.url}\n`); // exactly one line
    expect(end.stderr).toContain('SIGTERM: stopping');
    expectNoStack(end.stderr);
    expect(existsSync(infoFile)).toBe(false);
    expect(sql(serve.dataDir, `SELECT state FROM jobs WHERE id = '${jobId}'`)).toBe('cancelled');
    expect(sql(serve.dataDir, `SELECT id || '=' || state FROM tasks WHERE job_id = '${jobId}' ORDER BY id`).split('\n')).toEqual([
      'after=skipped',
      'stuck=cancelled',
      'waiting=cancelled',
    ]);
    expect(sql(serve.dataDir, 'SELECT count(*) FROM owner')).toBe('0');

    const gone = await runBin(['cancel', jobId, '--data-dir', serve.dataDir]);
    expect(gone.code).toBe(2);
    expect(gone.stderr).toBe(`threadline: no "threadline serve" is running on the data directory ${serve.dataDir} (no serve.json); start one with "threadline serve --data-dir ${serve.dataDir}"\n`);
  });

  it('marks what was running as interrupted when stopped by SIGINT, for resume to finish', async () => {
    const serve = await startServe();
    const api = (await client(serve)).api;
    // Long enough that the stop lands while it runs however late a busy machine sees it running
    // (a loop task cannot be held by a gate); the stop ends it at once, only resume waits it out.
    const submitted = await api.submitJob({ fileName: 'long.json', text: JSON.stringify({ name: 'long', tasks: [{ id: 'slow', kind: 'demo.sleep', ms: 6000 }] }) });
    if (!submitted.ok) throw new Error('submit failed');
    await until(async () => (await api.taskDetail({ key: `${submitted.job.id}:slow` })).task.state === 'running');
    serve.child.kill('SIGINT');
    const end = await serve.exited;
    expect(end.code).toBe(0);
    expect(end.stderr).toContain('SIGINT: stopping');
    expect(sql(serve.dataDir, `SELECT state FROM jobs WHERE id = '${submitted.job.id}'`)).toBe('interrupted');
    expect(existsSync(join(serve.dataDir, 'serve.json'))).toBe(false);
    const resumed = await runBin(['resume', '--json', '--data-dir', serve.dataDir]);
    expect(resumed.code).toBe(0);
    expect(JSON.parse(resumed.stdout)).toMatchObject({ job: { id: submitted.job.id, state: 'succeeded' }, tasks: [{ id: 'slow', state: 'succeeded' }] });
  });

  it('refuses a busy port and a stale serve file with one clear line', async () => {
    const serve = await startServe();
    const busy = await runBin(['serve', '--port', String(serve.port), '--data-dir', tempDir()]);
    expect(busy).toMatchObject({ code: 2, stdout: '', stderr: `threadline: cannot listen on 127.0.0.1:${serve.port}: the port is in use\n` });

    const dataDir = tempDir();
    const dead = spawnBin(['--help']);
    await finished(dead);
    writeFileSync(join(dataDir, 'serve.json'), JSON.stringify({ url: 'http://127.0.0.1:1/?token=x', host: '127.0.0.1', port: 1, token: 'x', pid: dead.pid, startedAt: 0 }));
    const stale = await runBin(['cancel', 'j-x', '--data-dir', dataDir]);
    expect(stale.code).toBe(2);
    expect(stale.stderr).toMatch(/^threadline: the "threadline serve" that wrote .*serve\.json \(pid \d+\) is no longer running\n$/);
    writeFileSync(join(dataDir, 'serve.json'), '{"port": "eighty"}');
    const invalid = await runBin(['cancel', 'j-x', '--data-dir', dataDir]);
    expect(invalid.stderr).toMatch(/serve\.json is not a valid serve file; expected \{url, host, port, token, pid, startedAt\}\n$/);
    writeFileSync(join(dataDir, 'serve.json'), '{not json');
    const broken = await runBin(['cancel', 'j-x', '--data-dir', dataDir]);
    expect(broken.code).toBe(2);
    expect(broken.stderr).toMatch(/serve\.json cannot be read: /);
    for (const r of [busy, stale, invalid, broken]) expectNoStack(r.stderr);
  });
});
