/**
 * The desktop host's schedules and its Prometheus endpoint setting, through the preload's API
 * object and the real IPC handlers, with Electron replaced by the stand-in.
 */
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { join } from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import { describe, expect, it, vi } from 'vitest';
import { DEFAULT_METRICS_PORT } from '../../electron/desktop/metrics-setting.js';
import { startCli } from '../support/cli.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { keepPreloadLoaded, startTestApp, type WindowApi } from './desktop-fixture.js';
import { contextBridge, resetElectron } from './electron-stand-in.js';

vi.mock('electron', () => import('./electron-stand-in.js'));

let api: WindowApi;
keepPreloadLoaded((loaded) => (api = loaded));

/** A GET on 127.0.0.1: its status and body. */
async function httpRequest(port: number, path: string, options: { headers?: Record<string, string> } = {}): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`, { headers: options.headers });
  return { status: response.status, body: await response.text() };
}

/** How a fresh connection to the port ends: 'refused' when nothing listens there. */
function connectOutcome(port: number): Promise<'connected' | 'refused'> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (error: NodeJS.ErrnoException) => (error.code === 'ECONNREFUSED' ? resolve('refused') : reject(error)));
  });
}

/** Where the app keeps its settings: Electron's userData for the product, under the config home. */
const settingsFile = (configHome: string) => join(configHome, 'Threadline', 'settings.json');

describe('the metrics endpoint setting', () => {
  it('is off by default; turned on it serves /metrics on 127.0.0.1 behind its token, and it stays on across launches', async () => {
    const first = await startTestApp();
    expect(await api.metricsEndpoint()).toEqual({ enabled: false, port: DEFAULT_METRICS_PORT, url: null, token: null, problem: null });

    const on = await api.setMetricsEndpoint({ enabled: true, port: 0 });
    expect(on).toMatchObject({ enabled: true, port: 0, problem: null });
    expect(on.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(on.token).toMatch(/^[\w-]{43}$/);
    const port = Number(new URL(on.url!).port);

    expect((await httpRequest(port, '/metrics')).status).toBe(401);
    const scraped = await httpRequest(port, '/metrics', { headers: { Authorization: `Bearer ${on.token}` } });
    expect(scraped.status).toBe(200);
    const names = parsePrometheus(scraped.body).map((f) => f.name);
    expect(names).toEqual(expect.arrayContaining(['threadline_tasks_queued', 'threadline_process_resident_memory_bytes', 'threadline_pool_utilization_ratio']));
    expect((await httpRequest(port, `/metrics?token=${on.token}`)).status).toBe(200);
    expect((await httpRequest(port, `/?token=${on.token}`)).status).toBe(404);

    // Kept for the next launch, readable by its owner only (it holds the token).
    const file = settingsFile(first.configHome);
    expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual({ metricsEndpoint: { enabled: true, port: 0, token: on.token } });
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(await first.quit()).toBe(0);
    expect(await connectOutcome(port)).toBe('refused');

    resetElectron();
    contextBridge.exposed.set('threadline', api);
    await startTestApp({ configHome: first.configHome });
    const again = await api.metricsEndpoint();
    expect(again).toMatchObject({ enabled: true, token: on.token, problem: null });
    const againPort = Number(new URL(again.url!).port);
    expect((await httpRequest(againPort, '/metrics', { headers: { Authorization: `Bearer ${on.token}` } })).status).toBe(200);

    // Turned off: nothing listens any more.
    expect(await api.setMetricsEndpoint({ enabled: false })).toMatchObject({ enabled: false, url: null, token: null });
    expect(await connectOutcome(againPort)).toBe('refused');
  });

  it('a port in use is said so, and the app goes on', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    onCleanup(() => new Promise<void>((resolve) => taken.close(() => resolve())));
    const port = (taken.address() as { port: number }).port;
    await startTestApp();
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const status = await api.setMetricsEndpoint({ enabled: true, port });
    expect(status).toMatchObject({ enabled: true, url: null, problem: `cannot listen on 127.0.0.1:${port}: the port is in use; pick another` });
    expect(warned).toHaveBeenCalledWith(`Threadline metrics: ${status.problem}`);
    warned.mockRestore();
    expect((await api.listJobs({ history: false })).jobs).toEqual([]);
  });

  it('refuses bad settings by field, and a broken settings file means the defaults', async () => {
    const configHome = tempDir('threadline-desktop-config-');
    mkdirSync(join(configHome, 'Threadline'), { recursive: true });
    writeFileSync(settingsFile(configHome), '{ not json');
    const warned = vi.spyOn(console, 'warn').mockImplementation(() => {});
    await startTestApp({ configHome });
    expect(await api.metricsEndpoint()).toMatchObject({ enabled: false, url: null });
    expect(warned).toHaveBeenCalledWith(expect.stringMatching(/settings\.json is not valid JSON .*; using the defaults$/));
    warned.mockRestore();
    await expect(api.setMetricsEndpoint({ enabled: 'yes' } as never)).rejects.toThrow('setMetricsEndpoint: enabled: expected boolean, received string');
    await expect(api.setMetricsEndpoint({ enabled: true, port: 70_000 })).rejects.toThrow('setMetricsEndpoint: port: expected a number <= 65535, got 70000');
  });
});

describe('schedules in the desktop app', () => {
  it('adds, lists, pauses, resumes, runs now and removes through the window API; a due schedule runs', async () => {
    const desktop = await startTestApp();
    const text = 'name: ticking\nschedule: { cron: "* * * * * *" }\ntasks:\n  - { id: a, kind: demo.echo, value: 1 }\n';
    const added = await api.addSchedule({ text, fileName: 'ticking.yaml', baseDir: tempDir() });
    expect(added).toMatchObject({ ok: true, replaced: false, schedule: { name: 'ticking', cron: '* * * * * *', paused: false } });
    await waitFor(() => desktop.running.engine.jobs().some((job) => job.name === 'ticking' && job.state === 'succeeded'), 20_000, 'a scheduled run');

    const paused = await api.pauseSchedule({ name: 'ticking' });
    expect(paused.schedule).toMatchObject({ paused: true, nextRunAt: null });
    // A run started just before the pause would have "run now" skipped (overlap "skip"): let it end.
    await waitFor(() => !desktop.running.engine.jobs().some((job) => job.name === 'ticking' && job.state === 'running'), 20_000, 'the last scheduled run to end');
    const runsWhenPaused = desktop.running.engine.jobs().length;
    const manual = await api.runSchedule({ name: 'ticking' });
    expect(manual.run).toMatchObject({ trigger: 'manual', outcome: 'started' });
    expect(desktop.running.engine.jobs()).toHaveLength(runsWhenPaused + 1);
    const [listed] = (await api.listSchedules()).schedules;
    expect(listed).toMatchObject({ name: 'ticking', paused: true, lastRun: { trigger: 'manual', outcome: 'started' } });

    expect((await api.resumeSchedule({ name: 'ticking' })).schedule.paused).toBe(false);
    expect(await api.removeSchedule({ name: 'ticking' })).toEqual({ removed: 'ticking' });
    expect((await api.listSchedules()).schedules).toEqual([]);
    await expect(api.removeSchedule({ name: 'ticking' })).rejects.toThrow('no schedule "ticking"');
    const refused = await api.addSchedule({ text: 'name: x\nschedule: { cron: "every day" }\ntasks:\n  - { id: a, kind: demo.echo }\n', fileName: 'x.yaml' });
    expect(refused).toMatchObject({ ok: false, issues: [{ path: 'schedule.cron', message: expect.stringMatching(/^not a valid cron expression "every day"/) }] });
  });

  it('"threadline schedule" from another process reaches the running app through the store', async () => {
    const desktop = await startTestApp();
    const cli = async (...args: string[]) => {
      const child = startCli(['schedule', ...args, '--data-dir', desktop.running.dataDir]);
      let out = '';
      child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
      const code = await new Promise<number | null>((resolve) => child.once('close', (c) => resolve(c)));
      return { code, out };
    };
    const file = join(tempDir(), 'from-cli.yaml');
    writeFileSync(file, 'name: from-cli\nschedule: { cron: "* * * * * *" }\ntasks:\n  - { id: a, kind: demo.echo, value: 1 }\n');
    expect(await cli('add', file)).toMatchObject({ code: 0, out: expect.stringMatching(/^added schedule "from-cli"/) });
    const ran = () => desktop.running.engine.jobs().filter((job) => job.name === 'from-cli').length;
    await waitFor(() => ran() >= 1, 20_000, 'the app to run the schedule the CLI added');
    expect(await cli('pause', 'from-cli')).toMatchObject({ code: 0 });
    // A turn of the app's scheduler that began before the pause may still start a run; a turn
    // queued after the pause waits for it, and reads the schedule paused. From then on none starts.
    await desktop.running.scheduler.tick();
    const whilePaused = ran();
    await new Promise((resolve) => setTimeout(resolve, 3000));
    expect(ran()).toBe(whilePaused);
    expect((await api.listSchedules()).schedules).toEqual([expect.objectContaining({ name: 'from-cli', paused: true })]);
    expect(await cli('remove', 'from-cli')).toMatchObject({ code: 0 });
    expect((await api.listSchedules()).schedules).toEqual([]);
  });
});
