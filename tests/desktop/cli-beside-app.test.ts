/**
 * The CLI beside a running desktop app: the real app code (with the electron stand-in, in this
 * process) serves the API on loopback and names it in serve.json; the real `threadline` CLI, in
 * processes of its own, submits to it and follows its jobs. The store is checked with the
 * sqlite3 CLI.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, request as httpRequest } from 'node:http';
import { connect, type AddressInfo } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { connectApi } from '../../electron/serve/node-api-client.js';
import { SERVE_INFO_FILE } from '../../electron/serve/serve-info.js';
import { assertBuilt, expectNoStack, finished, jobFile, runBin, spawnBin } from '../cli/bin.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { HOST_LINE, serveFileOf, sql, type ServeFile } from './host-data-dir.js';
import { startTestApp, type TestApp } from './desktop-fixture.js';
import { resetElectron } from './electron-stand-in.js';

vi.mock('electron', () => import('./electron-stand-in.js'));

beforeAll(assertBuilt);
beforeEach(() => resetElectron());

const IN_USE = /^threadline: the data directory .* is in use by another Threadline \(pid \d+( on [^)]+)?\); stop it or pass another --data-dir\n$/;

/** A plain HTTP request to the app's API port, with the Host header given. */
function get(port: number, path: string, host = `127.0.0.1:${port}`): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const sent = httpRequest({ host: '127.0.0.1', port, path, headers: { host } }, (response) => {
      let body = '';
      response.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
    });
    sent.on('error', reject);
    sent.end();
  });
}

/** Whether a TCP connection to this address is accepted, else the error code. */
function tcpAnswer(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** A port this test holds, with a plain HTTP server that is not Threadline's. */
async function foreignServer(): Promise<number> {
  const server = createServer((_request, response) => {
    response.writeHead(404, { 'Content-Type': 'text/plain' });
    response.end('not here\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

function jobIdOf(stderr: string): string {
  const match = HOST_LINE.exec(stderr);
  if (!match) throw new Error(`no "running on the Threadline desktop app" line in:\n${stderr}`);
  return match[1]!;
}

async function appWithDataDir(): Promise<{ desktop: TestApp; dataDir: string }> {
  const desktop = await startTestApp();
  return { desktop, dataDir: desktop.running.dataDir };
}

describe('threadline commands beside the desktop app', () => {
  it('writes serve.json for its loopback API (owner-only) and takes it away at quit', async () => {
    const { desktop, dataDir } = await appWithDataDir();
    const file = join(dataDir, SERVE_INFO_FILE);
    const info = serveFileOf(dataDir);
    expect(info).toMatchObject({ app: 'desktop', host: '127.0.0.1', port: desktop.running.loopbackApi.port, pid: process.pid, url: `ws://127.0.0.1:${info.port}/api` });
    expect(info.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);

    // Only the API, only on loopback: no pages, no unknown Host, no wrong token.
    expect(await get(info.port, '/')).toMatchObject({ status: 404 });
    expect(await get(info.port, '/index.html')).toMatchObject({ status: 404 });
    expect(await get(info.port, '/api')).toMatchObject({ status: 401 });
    expect(await get(info.port, `/api?token=${info.token}`)).toMatchObject({ status: 426 });
    expect(await get(info.port, `/api?token=${info.token}`, 'evil.example:80')).toMatchObject({ status: 403 });
    await expect(connectApi({ host: '127.0.0.1', port: info.port, token: `${info.token}x` })).rejects.toThrow(/HTTP 401/);
    await expect(connectApi({ host: '127.0.0.1', port: info.port, token: info.token, origin: 'http://evil.example' })).rejects.toThrow(/HTTP 403/);
    const outside = Object.values(networkInterfaces())
      .flat()
      .find((address) => address && address.family === 'IPv4' && !address.internal);
    if (outside) expect(await tcpAnswer(outside.address, info.port)).toBe('ECONNREFUSED');
    const client = await connectApi({ host: '127.0.0.1', port: info.port, token: info.token });
    expect((await client.api.hostInfo()).defaultBaseDir).toBeTruthy();
    await client.close();

    expect(await desktop.quit()).toBe(0);
    expect(existsSync(file)).toBe(false);
    expect(await tcpAnswer('127.0.0.1', info.port)).toBe('ECONNREFUSED');
    // The app is gone and so is its lock: the CLI runs on an engine of its own.
    const local = await runBin(['run', jobFile({ name: 'after', tasks: [{ id: 'a', kind: 'demo.echo' }] }), '--data-dir', dataDir]);
    expect(local.code).toBe(0);
    expect(local.stderr).not.toMatch(HOST_LINE);
  });

  it('run (text and --json) submits to the app and follows the job to its end: exit 0, and 1 for a failing job', async () => {
    const { desktop, dataDir } = await appWithDataDir();
    const engine = desktop.running.engine;

    const ok = await runBin(['run', jobFile({ name: 'fine', tasks: [{ id: 'echo', kind: 'demo.echo', value: { n: 1 } }, { id: 'nap', kind: 'demo.sleep', ms: 50, dependsOn: ['echo'] }] }), '--data-dir', dataDir]);
    expectNoStack(ok.stderr);
    expect(ok.code).toBe(0);
    const okId = jobIdOf(ok.stderr);
    expect(ok.stdout).toMatch(new RegExp(`^job ${okId} \\(fine\\): succeeded$`, 'm'));
    expect(ok.stdout).toMatch(/^results:\n {2}echo\s+\{"n":1\}\n {2}nap\s+\{"sleptMs":\d+\}$/m);
    // It ran in the app's engine, which the window shows.
    expect(engine.job(okId)).toMatchObject({ name: 'fine', state: 'succeeded' });
    expect(engine.tasksOfJob(okId).map((t) => [t.id, t.state])).toEqual([
      ['echo', 'succeeded'],
      ['nap', 'succeeded'],
    ]);

    const failing = await runBin(['run', jobFile({ name: 'broken', tasks: [{ id: 'echo', kind: 'demo.echo', value: 'x' }, { id: 'boom', kind: 'demo.fail', message: 'on purpose' }] }), '--json', '--data-dir', dataDir]);
    expectNoStack(failing.stderr);
    expect(failing.code).toBe(1);
    const failId = jobIdOf(failing.stderr);
    const output = JSON.parse(failing.stdout) as { job: { id: string; state: string }; tasks: Array<{ id: string; state: string; error: unknown }> };
    expect(output.job).toMatchObject({ id: failId, state: 'failed' });
    expect(output.tasks.map((t) => [t.id, t.state])).toEqual([
      ['echo', 'succeeded'],
      ['boom', 'failed'],
    ]);
    expect(output.tasks[1]!.error).toMatchObject({ code: 'DEMO_FAILURE', message: 'on purpose' });
    expect(engine.job(failId)).toMatchObject({ state: 'failed' });
    await waitFor(() => sql(dataDir, `SELECT state FROM jobs WHERE id = '${failId}'`) === 'failed', 20_000, 'the job in the store');

    // show reads the store beside the app; rerun --failed runs on the app.
    const shown = await runBin(['show', failId, '--json', '--data-dir', dataDir]);
    expect(shown.code).toBe(0);
    expect((JSON.parse(shown.stdout) as { job: { state: string } }).job.state).toBe('failed');
    const rerun = await runBin(['rerun', failId, '--failed', '--data-dir', dataDir]);
    expectNoStack(rerun.stderr);
    expect(rerun.code).toBe(0);
    const rerunId = /^job (j-\S+) \(broken\): the tasks that did not succeed of \S+ again, 1 task on the Threadline desktop app: follow it in its window$/m.exec(rerun.stdout)?.[1];
    expect(rerunId).toBeTruthy();
    expect((await engine.waitForJob(rerunId!)).state).toBe('failed');

    // The file is checked here first: a bad one never reaches the app, with the same line and exit 2.
    const bad = await runBin(['run', jobFile({ name: 'x', tasks: [{ id: 'a', kind: 'demo.nope' }] }), '--data-dir', dataDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^threadline: \S+job\.json: tasks\[0\]\.kind: unknown kind "demo\.nope"/);
  });

  it('cancel stops a job the CLI follows on the app; Ctrl-C cancels the job it submitted (exit 130); the app runs on', async () => {
    const { desktop, dataDir } = await appWithDataDir();
    const engine = desktop.running.engine;
    const long = (name: string) => jobFile({ name, tasks: [{ id: 'long', kind: 'demo.sleep', ms: 60_000 }, { id: 'stuck', kind: 'demo.block', ms: 60_000 }] });

    const followed = spawnBin(['run', long('cancel me'), '--json', '--data-dir', dataDir]);
    const followedEnd = finished(followed);
    const first = await waitFor(() => engine.jobs().find((j) => j.name === 'cancel me' && engine.tasksOfJob(j.id).every((t) => t.state === 'running')), 30_000, 'both tasks running');
    const cancel = await runBin(['cancel', first.id, '--data-dir', dataDir]);
    expect(cancel.code).toBe(0);
    expect(cancel.stdout.trim()).toBe(`job ${first.id}: 2 tasks asked to stop`);
    const end = await followedEnd;
    expect(end.code).toBe(1);
    expect(JSON.parse(end.stdout)).toMatchObject({ job: { id: first.id, state: 'cancelled' } });
    expect(engine.job(first.id)?.state).toBe('cancelled');

    const interrupted = spawnBin(['run', long('stop me'), '--data-dir', dataDir]);
    const interruptedEnd = finished(interrupted);
    const second = await waitFor(() => engine.jobs().find((j) => j.name === 'stop me' && engine.tasksOfJob(j.id).every((t) => t.state === 'running')), 30_000, 'both tasks running');
    interrupted.kill('SIGINT');
    const stopped = await interruptedEnd;
    expect(stopped.code).toBe(130);
    expect(stopped.stderr).toContain('SIGINT: cancelling the job on the host');
    expectNoStack(stopped.stderr);
    expect(stopped.stdout).toMatch(new RegExp(`^job ${second.id} \\(stop me\\): cancelled$`, 'm'));
    expect((await engine.waitForJob(second.id)).state).toBe('cancelled');
    expect(engine.isClosing).toBe(false);
    expect(existsSync(join(dataDir, SERVE_INFO_FILE))).toBe(true);
  });

  it('a wrong token in serve.json is refused: run is refused the data directory, cancel says it cannot reach the app', async () => {
    const { dataDir } = await appWithDataDir();
    const info = serveFileOf(dataDir);
    writeFileSync(join(dataDir, SERVE_INFO_FILE), JSON.stringify({ ...info, token: 'not-the-token-of-this-app' }), { mode: 0o600 });
    const run = await runBin(['run', jobFile({ name: 'x', tasks: [{ id: 'a', kind: 'demo.echo' }] }), '--data-dir', dataDir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(IN_USE);
    const cancel = await runBin(['cancel', 'j-nothing', '--data-dir', dataDir]);
    expect(cancel.code).toBe(2);
    expect(cancel.stderr).toBe(`threadline: cannot reach the Threadline desktop app at 127.0.0.1:${info.port}: the server refused the API connection: HTTP 401 Unauthorized\n`);
  });
});

describe('bad paths', () => {
  it('the app keeps running when its port is taken; commands are then refused its data directory, and no stale serve.json is left', async () => {
    const taken = await foreignServer();
    const configHome = tempDir('threadline-desktop-config-');
    const dataDir = join(configHome, 'Threadline', 'data');
    const warnings: string[] = [];
    const warn = vi.spyOn(console, 'warn').mockImplementation((line: string) => void warnings.push(line));
    onCleanup(() => warn.mockRestore());
    const first = await startTestApp({ configHome });
    expect(first.running.dataDir).toBe(dataDir);
    const crashedFile = readFileSync(join(dataDir, SERVE_INFO_FILE), 'utf8');
    expect(await first.quit()).toBe(0);
    // As a crashed app would leave it: its serve file still there.
    writeFileSync(join(dataDir, SERVE_INFO_FILE), crashedFile, { mode: 0o600 });

    resetElectron();
    const desktop = await startTestApp({ configHome, apiPort: taken });
    expect(desktop.running.loopbackApi.port).toBeNull();
    expect(warnings).toContain(`Threadline: the API for threadline commands cannot listen on 127.0.0.1:${taken}: the port is in use; commands beside the app are refused its data directory`);
    expect(existsSync(join(dataDir, SERVE_INFO_FILE))).toBe(false);
    // The window's engine works all the same.
    expect(desktop.running.engine.isClosing).toBe(false);
    const run = await runBin(['run', jobFile({ name: 'x', tasks: [{ id: 'a', kind: 'demo.echo' }] }), '--data-dir', dataDir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(IN_USE);
  });

  it('the app keeps running when it cannot write serve.json, and says why', async () => {
    const configHome = tempDir('threadline-desktop-config-');
    const dataDir = join(configHome, 'Threadline', 'data');
    // Where the app writes the file before renaming it into place: a folder, so the write fails.
    mkdirSync(join(dataDir, `${SERVE_INFO_FILE}.${process.pid}.tmp`), { recursive: true });
    const warnings: string[] = [];
    const warn = vi.spyOn(console, 'warn').mockImplementation((line: string) => void warnings.push(line));
    onCleanup(() => warn.mockRestore());
    const desktop = await startTestApp({ configHome });
    expect(desktop.running.loopbackApi.port).toBeNull();
    expect(warnings).toEqual(
      expect.arrayContaining([expect.stringMatching(new RegExp(`^Threadline: cannot write the serve file into ${dataDir} \\(EISDIR[^\n]*\\); commands beside the app are refused its data directory$`))]),
    );
    expect(existsSync(join(dataDir, SERVE_INFO_FILE))).toBe(false);
    const run = await runBin(['run', jobFile({ name: 'x', tasks: [{ id: 'a', kind: 'demo.echo' }] }), '--data-dir', dataDir]);
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(IN_USE);
    expect(await desktop.quit()).toBe(0);
  });

  it('serve.json left by a crashed app does not mislead: a dead pid, a live pid with nothing there, a port now held by another program', async () => {
    const configHome = tempDir('threadline-desktop-config-');
    const first = await startTestApp({ configHome });
    const dataDir = first.running.dataDir;
    const left = serveFileOf(dataDir);
    expect(await first.quit()).toBe(0);
    const leave = (changes: Partial<ServeFile>) => writeFileSync(join(dataDir, SERVE_INFO_FILE), JSON.stringify({ ...left, ...changes }), { mode: 0o600 });
    const runHere = async (name: string) => {
      const run = await runBin(['run', jobFile({ name, tasks: [{ id: 'a', kind: 'demo.echo' }] }), '--json', '--data-dir', dataDir]);
      expectNoStack(run.stderr);
      expect(run.code).toBe(0);
      expect(run.stderr).not.toMatch(HOST_LINE);
      const id = (JSON.parse(run.stdout) as { job: { id: string } }).job.id;
      expect(sql(dataDir, `SELECT name, state FROM jobs WHERE id = '${id}'`)).toBe(`${name}|succeeded`);
    };

    // The app's pid is gone.
    const gone = spawnBin(['--version']);
    const deadPid = gone.pid!;
    await finished(gone);
    leave({ pid: deadPid });
    await runHere('dead pid');
    const cancelDead = await runBin(['cancel', 'j-x', '--data-dir', dataDir]);
    expect(cancelDead.code).toBe(2);
    expect(cancelDead.stderr).toBe(`threadline: the Threadline desktop app that wrote ${join(dataDir, SERVE_INFO_FILE)} (pid ${deadPid}) is no longer running\n`);

    // Its pid lives on in another process (here, this one), but nothing listens at the port.
    leave({});
    await runHere('live pid, no listener');

    // Another program took the port.
    const taken = await foreignServer();
    leave({ port: taken, url: `ws://127.0.0.1:${taken}/api` });
    await runHere('port taken');
    const cancelTaken = await runBin(['cancel', 'j-x', '--data-dir', dataDir]);
    expect(cancelTaken.code).toBe(2);
    expect(cancelTaken.stderr).toBe(`threadline: cannot reach the Threadline desktop app at 127.0.0.1:${taken}: the server refused the API connection: HTTP 404 Not Found\n`);

    // The next launch replaces the file with its own, and the CLI reaches that app.
    resetElectron();
    const next = await startTestApp({ configHome });
    const now = serveFileOf(dataDir);
    expect(now.port).toBe(next.running.loopbackApi.port);
    expect(now.token).not.toBe(left.token);
    const run = await runBin(['run', jobFile({ name: 'on the next app', tasks: [{ id: 'a', kind: 'demo.echo' }] }), '--data-dir', dataDir]);
    expect(run.code).toBe(0);
    expect(next.running.engine.job(jobIdOf(run.stderr))?.state).toBe('succeeded');
  });
});
