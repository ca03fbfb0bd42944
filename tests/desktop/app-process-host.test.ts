/**
 * The built desktop app in a process of its own as the host of its data directory: the real
 * `threadline` CLI runs jobs on it, its quit (SIGTERM) takes serve.json away, and its crash
 * (SIGKILL) leaves one that misleads no command. The store is checked with the sqlite3 CLI.
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectApi } from '../../electron/serve/node-api-client.js';
import { SERVE_INFO_FILE } from '../../electron/serve/serve-info.js';
import { assertBuilt, expectNoStack, finished, jobFile, runBin, spawnBin } from '../cli/bin.js';
import { startWorker } from '../remote/remote-fixture.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';
import { HOST_LINE, serveFileOf, sql, type ServeFile } from './host-data-dir.js';
import { launchApp, prepareAppLauncher, type AppProcess } from './app-process.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

let out: string;
let launcher: string;

beforeAll(async () => {
  assertBuilt();
  out = mkdtempSync(join(tmpdir(), 'threadline-build-'));
  symlinkSync(join(REPO, 'node_modules'), join(out, 'node_modules'), 'dir');
  const electronVite = join(REPO, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
  await promisify(execFile)(process.execPath, [electronVite, 'build', '--outDir', out, '--logLevel', 'warn'], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 });
  mkdirSync(join(out, 'launcher'));
  launcher = prepareAppLauncher(join(out, 'main', 'index.js'), join(out, 'launcher'));
}, 240_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

async function until(check: () => Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((done) => setTimeout(done, 25));
  }
}

/** Launches the built app and waits until it names its API in serve.json. */
async function startApp(dataDir: string, configHome?: string): Promise<AppProcess & { info: ServeFile }> {
  const app = launchApp(launcher, dataDir, configHome);
  let stderr = '';
  app.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  let ended = false;
  void app.exited.then(() => (ended = true));
  const info = await waitFor(
    () => {
      if (ended) throw new Error(`the app exited before it was up:\n${stderr}`);
      try {
        const found = serveFileOf(dataDir);
        return found.pid === app.child.pid ? found : null;
      } catch {
        return null; // not written yet
      }
    },
    30_000,
    'the app to write serve.json',
  );
  return { ...app, info };
}

describe('the built desktop app in its own process', () => {
  it('runs sync tasks on the threadline worker of its remote workers setting, with BullMQ bundled into it', async () => {
    const redis = await TestRedis.start({ password: 'bundled' });
    const folder = tempDir();
    await startWorker(redis.url, 'app-w', folder, 1);
    const configHome = tempDir('threadline-desktop-config-');
    mkdirSync(join(configHome, 'Threadline'));
    writeFileSync(join(configHome, 'Threadline', 'settings.json'), JSON.stringify({ remoteWorkers: { redisUrl: redis.url, localThreads: false } }), { mode: 0o600 });
    const dataDir = tempDir();
    await startApp(dataDir, configHome);

    const ran = await runBin(['run', jobFile({ name: 'remote from the app', tasks: [{ id: 'block', kind: 'demo.block', ms: 50 }] }), '--json', '--data-dir', dataDir]);
    expectNoStack(ran.stderr);
    expect(ran.code, ran.stderr).toBe(0);
    expect(JSON.parse(ran.stdout)).toMatchObject({ tasks: [{ id: 'block', state: 'succeeded', worker: expect.stringMatching(/^app-w\/\d+$/) }] });
  });

  it('runs the jobs threadline run submits, and takes serve.json away when it quits (SIGTERM)', async () => {
    const dataDir = tempDir();
    const app = await startApp(dataDir);
    expect(app.info).toMatchObject({ app: 'desktop', host: '127.0.0.1' });
    expect(statSync(join(dataDir, SERVE_INFO_FILE)).mode & 0o777).toBe(0o600);

    const ok = await runBin(['run', jobFile({ name: 'on the app', tasks: [{ id: 'echo', kind: 'demo.echo', value: 7 }] }), '--json', '--data-dir', dataDir]);
    expectNoStack(ok.stderr);
    expect(ok.code).toBe(0);
    const jobId = HOST_LINE.exec(ok.stderr)![1]!;
    expect(JSON.parse(ok.stdout)).toMatchObject({ job: { id: jobId, state: 'succeeded' }, tasks: [{ id: 'echo', state: 'succeeded', result: 7 }] });
    // The app's engine has it (what its window lists), and its store.
    const client = await connectApi({ host: app.info.host, port: app.info.port, token: app.info.token });
    onCleanup(() => client.close());
    expect((await client.api.jobDetail({ jobId })).job).toMatchObject({ state: 'succeeded', name: 'on the app' });
    await expect(connectApi({ host: app.info.host, port: app.info.port, token: 'wrong-token-for-this-app' })).rejects.toThrow(/HTTP 401/);

    const failing = await runBin(['run', jobFile({ name: 'failing', tasks: [{ id: 'boom', kind: 'demo.fail', message: 'on purpose' }] }), '--data-dir', dataDir]);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(/^job j-\S+ \(failing\): failed$/m);

    app.child.kill('SIGTERM');
    const end = await app.exited;
    expect(end.code).toBe(0);
    expect(existsSync(join(dataDir, SERVE_INFO_FILE))).toBe(false);
    expect(sql(dataDir, `SELECT state FROM jobs WHERE id = '${jobId}'`)).toBe('succeeded');
    expect(sql(dataDir, "SELECT state FROM jobs WHERE name = 'failing'")).toBe('failed');
  });

  it('a crash (SIGKILL) leaves serve.json, which misleads no command; the next launch replaces it', async () => {
    const dataDir = tempDir();
    const app = await startApp(dataDir);
    const followed = spawnBin(['run', jobFile({ name: 'orphan', tasks: [{ id: 'long', kind: 'demo.sleep', ms: 60_000 }] }), '--data-dir', dataDir]);
    const followedEnd = finished(followed);
    const client = await connectApi({ host: app.info.host, port: app.info.port, token: app.info.token });
    await until(async () => (await client.api.listJobs({ history: false })).jobs.some((j) => j.name === 'orphan' && j.counts.running === 1), 'the task running on the app');
    await client.close();

    app.child.kill('SIGKILL');
    await app.exited;
    const orphan = await followedEnd;
    expect(orphan.code).toBe(1);
    expectNoStack(orphan.stderr);
    expect(orphan.stderr).toMatch(/^threadline: lost the connection to the Threadline desktop app \(.*\); "threadline show j-\S+" tells how it ended$/m);
    expect(serveFileOf(dataDir).pid).toBe(app.info.pid);

    // The dead app's file is not taken for a running app: the CLI opens the store itself.
    const cancel = await runBin(['cancel', 'j-x', '--data-dir', dataDir]);
    expect(cancel.code).toBe(2);
    expect(cancel.stderr).toBe(`threadline: the Threadline desktop app that wrote ${join(dataDir, SERVE_INFO_FILE)} (pid ${app.info.pid}) is no longer running\n`);
    const local = await runBin(['run', jobFile({ name: 'after the crash', tasks: [{ id: 'a', kind: 'demo.echo' }] }), '--data-dir', dataDir]);
    expectNoStack(local.stderr);
    expect(local.code).toBe(0);
    expect(local.stderr).not.toMatch(HOST_LINE);
    expect(sql(dataDir, "SELECT state FROM jobs WHERE name = 'orphan'")).toBe('interrupted');

    const next = await startApp(dataDir);
    expect(next.info.port === app.info.port && next.info.token === app.info.token).toBe(false);
    const resumed = spawnBin(['resume', '--json', '--data-dir', dataDir]);
    const resumedEnd = finished(resumed);
    const nextClient = await connectApi({ host: next.info.host, port: next.info.port, token: next.info.token });
    onCleanup(() => nextClient.close());
    // resume runs the interrupted job on the new app.
    let jobId = '';
    await until(async () => {
      jobId = (await nextClient.api.listJobs({ history: false })).jobs.find((j) => j.name === 'orphan' && j.counts.running === 1)?.id ?? '';
      return jobId !== '';
    }, 'the job resumed on the app');
    await nextClient.api.cancelJob({ jobId });
    const end = await resumedEnd;
    expectNoStack(end.stderr);
    expect(end.code).toBe(1);
    expect(JSON.parse(end.stdout)).toMatchObject({ job: { id: jobId, state: 'cancelled' } });
  });
});
