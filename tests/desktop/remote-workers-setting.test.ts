/**
 * The desktop app's remote workers setting, through the preload's API object and the real IPC
 * handlers (Electron replaced by the stand-in), with a real redis-server and real
 * `threadline worker` processes.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { assertBuilt } from '../cli/bin.js';
import { startWorker } from '../remote/remote-fixture.js';
import { tempDir } from '../support/engine-fixture.js';
import { freePort } from '../support/free-port.js';
import { TestRedis } from '../support/redis-server.js';
import { keepPreloadLoaded, startTestApp, type WindowApi } from './desktop-fixture.js';
import { contextBridge, resetElectron } from './electron-stand-in.js';

vi.mock('electron', () => import('./electron-stand-in.js'));

beforeAll(assertBuilt);
afterEach(() => vi.restoreAllMocks());

let api: WindowApi;
keepPreloadLoaded((loaded) => (api = loaded));

const settingsFile = (configHome: string) => join(configHome, 'Threadline', 'settings.json');
const REMOTE_THREAD = /^[\w-]+\/\d+$/;


/** Settings as a previous launch left them. */
function leaveSettings(remoteWorkers: { redisUrl: string | null; localThreads: boolean }): string {
  const configHome = tempDir('threadline-desktop-config-');
  mkdirSync(join(configHome, 'Threadline'), { recursive: true });
  writeFileSync(settingsFile(configHome), JSON.stringify({ remoteWorkers }), { mode: 0o600 });
  return configHome;
}

/** Submits a one-task job through the window's API and waits for the task to end; its record. */
async function runOneTask(dir: string, task: Record<string, unknown>) {
  const submitted = await api.submitJob({ text: JSON.stringify({ name: 'on-settings', tasks: [{ id: 'only', ...task }] }), fileName: join(dir, 'job.json'), baseDir: dir });
  if (!submitted.ok) throw new Error(`the job was refused: ${JSON.stringify(submitted.issues)}`);
  const key = `${submitted.job.id}:only`;
  const deadline = Date.now() + 40_000;
  for (;;) {
    const { task: record } = await api.taskDetail({ key });
    if (record.state === 'succeeded' || record.state === 'failed') return record;
    if (Date.now() > deadline) throw new Error(`timed out waiting for task ${key} to end (it is ${record.state})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Console warnings, where the app logs what it could not do. */
function watchLogs(): () => string {
  const warned = vi.spyOn(console, 'warn').mockImplementation(() => {});
  return () => warned.mock.calls.map((call) => call.join(' ')).join('\n');
}

describe('the remote workers setting', () => {
  it('set in a launch, runs the next launch\'s sync tasks on a threadline worker, its password kept in the file and never shown', async () => {
    const password = 's3cret p@ss';
    const redis = await TestRedis.start({ password });
    const dir = tempDir();
    writeFileSync(join(dir, 'data.txt'), 'remote bytes\n'.repeat(1000));
    await startWorker(redis.url, 'desk-07', dir, 2);
    const logs = watchLogs();

    const first = await startTestApp();
    expect(await api.remoteWorkers()).toEqual({
      setting: { redisUrl: null, localThreads: true },
      running: { redisUrl: null, localThreads: true },
      restartNeeded: false,
      problem: null,
    });
    const shown = `redis://:***@127.0.0.1:${redis.port}`;
    const set = await api.setRemoteWorkers({ redisUrl: redis.url, localThreads: false });
    expect(set).toEqual({ setting: { redisUrl: shown, localThreads: false }, running: { redisUrl: null, localThreads: true }, restartNeeded: true, problem: null });
    // Kept as typed, beside the other settings, readable by its owner only.
    const file = settingsFile(first.configHome);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ remoteWorkers: { redisUrl: redis.url, localThreads: false } });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    await api.setMetricsEndpoint({ enabled: false });
    expect(JSON.parse(readFileSync(file, 'utf8'))).toMatchObject({ remoteWorkers: { redisUrl: redis.url, localThreads: false }, metricsEndpoint: { enabled: false } });
    expect(await first.quit()).toBe(0);

    resetElectron();
    contextBridge.exposed.set('threadline', api);
    await startTestApp({ configHome: first.configHome });
    expect(await api.remoteWorkers()).toEqual({ setting: { redisUrl: shown, localThreads: false }, running: { redisUrl: shown, localThreads: false }, restartNeeded: false, problem: null });
    const task = await runOneTask(dir, { kind: 'file.hash', paths: ['data.txt'] });
    expect(task.state).toBe('succeeded');
    expect(task.worker).toMatch(/^desk-07\/\d+$/);
    expect((await api.snapshot()).notices ?? []).toEqual([]);
    for (const secret of [password, encodeURIComponent(password)]) {
      expect(JSON.stringify(await api.remoteWorkers())).not.toContain(secret);
      expect(logs()).not.toContain(secret);
    }
  });

  it('refuses a URL that is not a redis:// one, naming the field and what is expected, and keeps what was set', async () => {
    const configHome = leaveSettings({ redisUrl: null, localThreads: true });
    await startTestApp({ configHome });
    const before = readFileSync(settingsFile(configHome), 'utf8');
    await expect(api.setRemoteWorkers({ redisUrl: 'http://queue-host:6379' })).rejects.toThrow(/^redisUrl: expected a redis:\/\/ or rediss:\/\/ URL, got http:\/\/$/);
    const typo = 'queue-host:hunter2@6379';
    const refused = await api.setRemoteWorkers({ redisUrl: `redis//${typo}` }).catch((error: Error) => error.message);
    expect(refused).toBe('redisUrl: not a URL; expected redis://[user:password@]host[:port][/db] or rediss://...');
    await expect(api.setRemoteWorkers({ redisUrl: 'redis://queue-host/zero' })).rejects.toThrow(/^redisUrl: the database in the URL must be a number, got "zero"$/);
    await expect(api.setRemoteWorkers({ localThreads: false })).rejects.toThrow(/^localThreads: can be off only with a redisUrl/);
    await expect(api.setRemoteWorkers({ redisUrl: 42 } as never)).rejects.toThrow(/^setRemoteWorkers: redisUrl: /);
    expect(readFileSync(settingsFile(configHome), 'utf8')).toBe(before);
    expect(await api.remoteWorkers()).toMatchObject({ setting: { redisUrl: null, localThreads: true }, restartNeeded: false });
  });

  it('opens with an unreachable Redis, runs its local threads and says why, in the setting and as a notice, without the password', async () => {
    const port = await freePort();
    const configHome = leaveSettings({ redisUrl: `redis://:hunter2@127.0.0.1:${port}`, localThreads: true });
    const logs = watchLogs();
    const { running } = await startTestApp({ configHome });
    const problem = `Redis at redis://:***@127.0.0.1:${port} could not be reached when the app started (connection refused); the app runs its local threads only until it starts again`;
    expect(await api.remoteWorkers()).toEqual({
      setting: { redisUrl: `redis://:***@127.0.0.1:${port}`, localThreads: true },
      running: { redisUrl: null, localThreads: true },
      restartNeeded: true,
      problem,
    });
    expect((await api.snapshot()).notices).toEqual([{ code: 'REDIS_UNREACHABLE', message: problem, since: expect.any(Number) }]);
    expect(logs()).toContain(problem);
    expect(logs()).not.toContain('hunter2');

    const dir = tempDir();
    writeFileSync(join(dir, 'data.txt'), 'local bytes\n');
    const task = await runOneTask(dir, { kind: 'file.hash', paths: ['data.txt'] });
    expect(task.state).toBe('succeeded');
    expect(task.worker).not.toMatch(REMOTE_THREAD);
    // The engine runs the local pool alone, not the remote executor beside it.
    expect(() => running.engine.pool).not.toThrow();
  });

  it('with local threads off and Redis unreachable, opens, says no sync task can run, and runs them once Redis and a worker come', async () => {
    const redis = await TestRedis.start();
    await redis.kill();
    const configHome = leaveSettings({ redisUrl: redis.url, localThreads: false });
    watchLogs();
    await startTestApp({ configHome });
    const status = await api.remoteWorkers();
    expect(status).toMatchObject({ setting: { redisUrl: redis.url, localThreads: false }, running: { redisUrl: redis.url, localThreads: false }, restartNeeded: false });
    expect(status.problem).toBe(
      `Redis at ${redis.url} could not be reached when the app started (connection refused); local threads are off, so no sync task can run until Redis answers and a threadline worker announces itself (or turn local threads on)`,
    );
    expect((await api.snapshot()).notices).toEqual([{ code: 'REDIS_UNREACHABLE', message: status.problem, since: expect.any(Number) }]);

    const dir = tempDir();
    writeFileSync(join(dir, 'data.txt'), 'late bytes\n');
    const ended = runOneTask(dir, { kind: 'file.hash', paths: ['data.txt'] });
    await redis.launch();
    await startWorker(redis.url, 'desk-late', dir, 1);
    const task = await ended;
    expect(task.state).toBe('succeeded');
    expect(task.worker).toMatch(/^desk-late\/\d+$/);
  });

  it('with local threads off, quits with status 0 while Redis stays away, the waiting task stored for a resume', async () => {
    const port = await freePort();
    const configHome = leaveSettings({ redisUrl: `redis://127.0.0.1:${port}`, localThreads: false });
    watchLogs();
    const { quit, running } = await startTestApp({ configHome });
    const dir = tempDir();
    const submitted = await api.submitJob({ text: JSON.stringify({ name: 'waits', tasks: [{ id: 'only', kind: 'demo.block', ms: 10 }] }), fileName: join(dir, 'job.json'), baseDir: dir });
    expect(submitted.ok).toBe(true);
    expect(await quit()).toBe(0);
    const stored = execFileSync('sqlite3', [join(running.dataDir, 'threadline.db'), 'SELECT state FROM tasks'], { encoding: 'utf8' }).trim();
    expect(stored).toBe('interrupted');
  });
});
