/**
 * An orchestrator that sleeps while its remote workers run its tasks: `threadline serve --redis`
 * stopped with SIGSTOP for longer than a worker may be silent (3 s), then going on with SIGCONT.
 * The workers went on announcing themselves; their announcements wait on its connection, and on
 * Linux the timers due run before that connection is read. A real redis-server, the built bin, a
 * real `threadline worker`; the store read back with the sqlite3 shell.
 */
import { Redis } from 'ioredis';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../contract/api.js';
import type { TelemetrySample } from '../../contract/telemetry.js';
import { RunningClock } from '../../electron/engine/running-time.js';
import { ANNOUNCE_CHANNEL, LOST_AFTER_MS, type WorkerAnnouncement } from '../../electron/remote/remote-protocol.js';
import { WorkerRoster } from '../../electron/remote/worker-roster.js';
import { assertBuilt } from '../cli/bin.js';
import { subscribedServe } from '../cli/subscribed-serve.js';
import { sqlite3Json } from '../reliability/sqlite-cli.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';
import { startWorker, type StartedWorker } from './remote-fixture.js';

beforeAll(assertBuilt);

const STOP_MS = 6000;

describe('`threadline serve --redis` stopped while its remote worker runs its tasks', () => {
  it('does not take the worker for lost, nor clear a notice of workers still announcing, and each task runs once', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const runs = join(root, 'runs.txt');
    writeFileSync(runs, '');
    // The tasks wait for the release file, made once the samples after the wake are read: both
    // surely still run throughout, however slow the machine.
    const release = join(root, 'release');
    writeFileSync(
      join(root, 'mark.mjs'),
      `import { appendFileSync, existsSync } from 'node:fs'; export default async (args) => { appendFileSync(${JSON.stringify(runs)}, 'begin ' + args.n + '\\n'); while (!existsSync(${JSON.stringify(release)})) await new Promise((r) => setTimeout(r, 20)); appendFileSync(${JSON.stringify(runs)}, 'end ' + args.n + '\\n'); return args.n; };`,
    );
    await startWorker(redis.url, 'build-1', root, 2);
    // A worker of another version, announcing under a name the orchestrator refuses: a notice says so while it announces.
    const publisher = new Redis(redis.port, '127.0.0.1');
    onCleanup(() => publisher.disconnect());
    const refused: WorkerAnnouncement = { name: 'w1', host: 'old-host', threads: 1, running: 0, state: 'ready', rssBytes: 1, loopDelayP99Ms: 1 };
    const announcing = setInterval(() => void publisher.publish(ANNOUNCE_CHANNEL, JSON.stringify(refused)).catch(() => {}), 500);
    onCleanup(() => clearInterval(announcing));

    const dataDir = tempDir();
    const { serve, client, stderr } = await subscribedServe(['--data-dir', dataDir, '--workers', '0', '--redis', redis.url]);
    onCleanup(() => void serve.kill('SIGCONT'));
    const samplesSince = (at: number) => client.events().flatMap((event) => event.telemetry).filter((sample) => sample.at >= at);
    const refusedNotice = (event: ApiEvent) => event.notices?.some((notice) => notice.code === 'REMOTE_WORKER_REFUSED');
    await waitFor(() => client.events().some(refusedNotice), 30_000, 'the notice of the refused worker');

    const tasks = [1, 2].map((n) => ({ id: `t${n}`, kind: 'script', module: 'mark.mjs', args: { n } }));
    const submitted = await client.call('submitJob', { text: JSON.stringify({ name: 'asleep', tasks }), fileName: 'job.json', baseDir: root });
    expect(submitted).toMatchObject({ type: 'result', ok: true });
    const lines = () => readFileSync(runs, 'utf8').trim().split('\n').filter(Boolean).sort();
    await waitFor(() => lines().length === 2, 30_000, 'both tasks to begin');
    const before = Date.now();
    await waitFor(() => samplesSince(before).some((sample) => sample.machines.some((m) => m.name === 'build-1' && m.state === 'ready' && m.running === 2)), 20_000, 'a sample with both tasks on build-1');

    const eventsBefore = client.events().length;
    serve.kill('SIGSTOP');
    await sleep(STOP_MS);
    const woke = Date.now();
    serve.kill('SIGCONT');
    const stderrAtWake = stderr().length;
    await waitFor(() => samplesSince(woke).length >= 6, 30_000, 'samples after the wake');

    // The worker announced itself throughout: no sample after the wake shows it lost (before the
    // fix, the first one did, and with it the dashboard, `threadline_remote_machine_state` and the
    // room for tasks), and it still runs both tasks.
    for (const sample of samplesSince(woke)) {
      const machines = sample.machines.map((m) => ({ name: m.name, state: m.state, running: m.running }));
      expect(machines, JSON.stringify(sample.machines)).toEqual([{ name: 'build-1', state: 'ready', running: 2 }]);
    }
    // Nor was the refused worker, still announcing, said to have gone (and then to be back).
    for (const event of client.events().slice(eventsBefore)) if (event.notices !== undefined) expect(refusedNotice(event), JSON.stringify(event.notices)).toBe(true);
    expect(stderr().slice(stderrAtWake)).not.toContain('REMOTE_WORKER_REFUSED');
    writeFileSync(release, '');

    // Each task ran once, on build-1, in one attempt that succeeded.
    const job = (submitted as { value: { job: { id: string } } }).value.job.id;
    const db = join(dataDir, 'threadline.db');
    await waitFor(() => sqlite3Json<{ state: string }>(db, `SELECT state FROM jobs WHERE id = '${job}'`)[0]?.state === 'succeeded', 30_000, 'the job to succeed');
    const attempts = sqlite3Json<{ task_id: string; attempt: number; state: string; worker: string }>(db, `SELECT task_id, attempt, state, worker FROM attempts WHERE job_id = '${job}' ORDER BY task_id`);
    expect(attempts).toEqual([
      { task_id: 't1', attempt: 1, state: 'succeeded', worker: expect.stringMatching(/^build-1\/\d+$/) },
      { task_id: 't2', attempt: 1, state: 'succeeded', worker: expect.stringMatching(/^build-1\/\d+$/) },
    ]);
    expect(lines()).toEqual(['begin 1', 'begin 2', 'end 1', 'end 2']);
    serve.kill('SIGTERM');
  }, 120_000);

  it('still takes a worker killed while it was stopped for lost, once it has listened for as long as a lost worker may be silent', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const workers: StartedWorker[] = [await startWorker(redis.url, 'build-1', root), await startWorker(redis.url, 'build-2', root)];
    const { serve, client } = await subscribedServe(['--data-dir', tempDir(), '--workers', '0', '--redis', redis.url]);
    onCleanup(() => void serve.kill('SIGCONT'));
    const samples = () => client.events().flatMap((event) => event.telemetry);
    const stateOf = (sample: TelemetrySample, name: string) => sample.machines.find((m) => m.name === name)?.state;
    await waitFor(() => samples().some((sample) => stateOf(sample, 'build-1') === 'ready' && stateOf(sample, 'build-2') === 'ready'), 30_000, 'both workers ready');

    serve.kill('SIGSTOP');
    workers[0]!.child.kill('SIGKILL');
    await workers[0]!.exited;
    await sleep(STOP_MS);
    const woke = Date.now();
    serve.kill('SIGCONT');
    const lostAt = await waitFor(() => samples().find((sample) => sample.at >= woke && stateOf(sample, 'build-1') === 'lost')?.at, 30_000, 'the killed worker to be lost');
    // Lost from the silence it kept while the orchestrator listened (at most a second of it before
    // the stop, as it announced itself every second), not from the stop.
    expect(lostAt - woke).toBeGreaterThanOrEqual(LOST_AFTER_MS - 1500);
    for (const sample of samples().filter((s) => s.at >= woke)) expect(stateOf(sample, 'build-2')).toBe('ready');
    serve.kill('SIGTERM');
  }, 120_000);
});

describe('the roster', () => {
  it('counts a silence on the clock of the time the orchestrator ran, and shows the wall-clock time it last heard', () => {
    let wall = 1_000_000;
    let ran = 50_000;
    const roster = new WorkerRoster(() => wall, { forgetLostAfterMs: 60_000, maxMachines: 10 }, () => ran);
    const announced: WorkerAnnouncement = { name: 'build-1', host: 'h', threads: 4, running: 0, state: 'ready', rssBytes: 1, loopDelayP99Ms: 1 };
    roster.heard(announced);
    // An hour asleep: the wall clock moved on, the orchestrator did not run.
    wall += 3600_000;
    ran += 500;
    expect(roster.machines(() => 0)).toEqual([expect.objectContaining({ name: 'build-1', state: 'ready', lastHeardAt: 1_000_000 })]);
    expect(roster.threads).toBe(4);
    expect(roster.forgetLost(() => 0)).toBe(false);
    // Silent while it ran: lost, then forgotten.
    ran += LOST_AFTER_MS;
    expect(roster.machines(() => 0)).toEqual([expect.objectContaining({ name: 'build-1', state: 'lost' })]);
    expect(roster.threads).toBe(0);
    ran += 60_000;
    expect(roster.forgetLost(() => 0)).toBe(true);
    expect(roster.size).toBe(0);
  });

  it("runs on a clock that leaves out a stretch the process's loop did not turn", async () => {
    const clock = new RunningClock();
    onCleanup(() => clock.close());
    await sleep(300);
    const before = clock.now();
    const since = clock.sinceWake();
    expect(since).toBeGreaterThan(0);
    // Held up for 2 s (as a stopped process, its timers do not fire): counted as a quarter of a second.
    const until = performance.now() + 2000;
    while (performance.now() < until);
    expect(clock.now() - before).toBeLessThan(1000);
    expect(clock.sinceWake()).toBeLessThan(since);
  });
});
