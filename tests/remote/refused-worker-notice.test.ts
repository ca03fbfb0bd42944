/**
 * A worker that announces itself under a name the orchestrator refuses (`w1`: a worker of an
 * older version, or a forger) is not listed, and the orchestrator says so in one host notice:
 * the name JSON-quoted and cut, why, and what to do. On a real redis-server: once per name, not
 * per heartbeat; gone when the name stops announcing, or leaves; bounded under a flood of
 * distinct names; none for a good worker. Through `threadline serve --redis --workers 0`: in the
 * API snapshot, once on its stderr, and on the dashboard in Chromium.
 */
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { MACHINE_NAME_EXPECTED } from '../../contract/machine-names.js';
import type { HostNotice } from '../../contract/api.js';
import { noticeLines } from '../../electron/cli/notice-lines.js';
import { connectApi } from '../../electron/serve/node-api-client.js';
import { ANNOUNCE_CHANNEL, LOST_AFTER_MS, type WorkerAnnouncement } from '../../electron/remote/remote-protocol.js';
import { KEPT_REFUSED_NAMES, RefusedWorkers, SHOWN_REFUSED_NAMES } from '../../electron/remote/refused-workers.js';
import type { RemoteExecutor } from '../../electron/remote/remote-executor.js';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { assertBuilt, finished, spawnBin } from '../cli/bin.js';
import { openDashboardInChromium } from '../e2e/dashboard-in-chromium.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';
import { Recorder, remoteExecutor, startWorker } from './remote-fixture.js';

function announcement(name: string, state: WorkerAnnouncement['state'] = 'ready', host = 'forged-host'): WorkerAnnouncement {
  return { name, host, threads: 2, running: 0, state, rssBytes: 1, loopDelayP99Ms: 1 };
}

const ADVICE = `upgrade the worker to this version of Threadline, or start it with another --name (expected ${MACHINE_NAME_EXPECTED})`;
const W1_MESSAGE = `a remote worker on host "forged-host" announced itself as "w1", a name this orchestrator refuses (it would read as a local worker in task records), so it is not listed and its threads add no room for tasks; ${ADVICE}`;

async function publisherOf(redis: TestRedis): Promise<Redis> {
  const publisher = new Redis(redis.port, '127.0.0.1');
  onCleanup(() => publisher.disconnect());
  return publisher;
}

/**
 * Announcements go out on one connection and arrive in order: once a good worker's announcement
 * sent after them is heard (its host as the marker), every one before it was taken.
 */
async function announceInOrder(publisher: Redis, executor: RemoteExecutor, announcements: WorkerAnnouncement[], timeoutMs = 20_000): Promise<void> {
  const marker = `marker-${Math.random().toString(36).slice(2)}`;
  const pipeline = publisher.pipeline();
  for (const a of announcements) pipeline.publish(ANNOUNCE_CHANNEL, JSON.stringify(a));
  pipeline.publish(ANNOUNCE_CHANNEL, JSON.stringify(announcement('honest', 'ready', marker)));
  await pipeline.exec();
  await waitFor(() => executor.machines().some((m) => m.name === 'honest' && m.host === marker), timeoutMs, 'the announcements to arrive');
}

describe('a notice for remote workers announcing themselves under refused names', () => {
  it('says once, naming "w1", why and what to do; not again for its heartbeats; none for a good worker; gone when it stops or leaves', async () => {
    const redis = await TestRedis.start();
    const publisher = await publisherOf(redis);
    const recorder = new Recorder();
    const executor = await remoteExecutor(redis.url, recorder);

    // A good worker alone: listed, and nothing to say.
    await announceInOrder(publisher, executor, []);
    expect(executor.machines().map((m) => m.name)).toEqual(['honest']);
    expect(executor.notices()).toEqual([]);
    expect(recorder.noticeChanges).toBe(0);

    // `w1` and its heartbeats: one notice, said once.
    const before = Date.now();
    for (let beat = 0; beat < 4; beat++) await announceInOrder(publisher, executor, [announcement('w1'), announcement('w1')]);
    expect(executor.machines().map((m) => m.name)).toEqual(['honest']);
    const notices = executor.notices();
    expect(notices).toEqual([{ code: 'REMOTE_WORKER_REFUSED', message: W1_MESSAGE, since: expect.any(Number) }]);
    expect(notices[0]!.since).toBeGreaterThanOrEqual(before);
    expect(recorder.noticeChanges).toBe(1);

    // It stops announcing (killed, or upgraded under another name): after the roster's lost time, the notice goes.
    await waitFor(() => executor.notices().length === 0, LOST_AFTER_MS + 20_000, 'the notice to clear');
    expect(recorder.noticeChanges).toBe(2);

    // One that leaves is forgotten at once, without waiting for the lost time.
    await announceInOrder(publisher, executor, [announcement('loop')]);
    expect(executor.notices().map((n) => n.message)).toEqual([expect.stringContaining('announced itself as "loop"')]);
    await announceInOrder(publisher, executor, [announcement('loop', 'leaving')]);
    expect(executor.notices()).toEqual([]);
    expect(recorder.noticeChanges).toBe(4);
  });

  it('names several refused workers in one notice, each quoted safely and with its reason', async () => {
    const redis = await TestRedis.start();
    const publisher = await publisherOf(redis);
    const recorder = new Recorder();
    const executor = await remoteExecutor(redis.url, recorder);

    const long = `${'x'.repeat(50)}/tail`;
    await announceInOrder(publisher, executor, [announcement('12'), announcement('evil\nname\u2028'), announcement(long, 'ready', 'host\u0000"quoted"')]);
    const [notice] = executor.notices();
    expect(notice?.message).toBe(
      `remote workers announced themselves under names this orchestrator refuses, so they are not listed and their threads add no room for tasks: ` +
        `"12" on host "forged-host" (would read as a local worker in task records), ` +
        `"evil\\nname\\u2028" on host "forged-host" (has "\\n" in it), ` +
        `"${'x'.repeat(40)}…" on host "host\\u0000\\"quoted\\"" (has "/" in it); for each, ${ADVICE}`,
    );
    // One line, whatever the names hold.
    expect([...notice!.message].filter((c) => c < ' ' || c === '\u2028' || c === '\u2029')).toEqual([]);
    expect(recorder.noticeChanges).toBe(3);
  });

  it('stays one bounded notice under a flood of 100,000 distinct refused names', async () => {
    const redis = await TestRedis.start();
    const publisher = await publisherOf(redis);
    const recorder = new Recorder();
    const executor = await remoteExecutor(redis.url, recorder);

    const flood = Array.from({ length: 100_000 }, (_, i) => announcement(`w${i}`));
    // The first names keep announcing through the flood, as live workers would; one is of a megabyte, kept by its start only.
    const first = [announcement('w0'), announcement('w1'), announcement(`${'m'.repeat(1024 * 1024)}/`), announcement('w2'), announcement('w3')];
    for (let at = 0; at < flood.length; at += 10_000) await announceInOrder(publisher, executor, [...first, ...flood.slice(at, at + 10_000)], 60_000);

    const notices = executor.notices();
    expect(notices).toHaveLength(1);
    const message = notices[0]!.message;
    expect(message.length).toBeLessThan(2000);
    expect(message).toContain(`"w0" on host "forged-host" (would read as a local worker in task records), "w1" on host`);
    expect(message).toContain(`"${'m'.repeat(40)}…" on host "forged-host" (has "/" in it)`);
    // The names kept (listed, and counted after them) never pass the cap; the notice says there are more than it counts.
    const counted = /and (\d+) or more others; for each/.exec(message);
    expect(counted).not.toBeNull();
    expect(SHOWN_REFUSED_NAMES + Number(counted![1])).toBeLessThanOrEqual(KEPT_REFUSED_NAMES);
    // A change per name kept (at most KEPT_REFUSED_NAMES new ones while silent ones are forgotten), not one per name heard.
    expect(recorder.noticeChanges).toBeLessThan(flood.length / 2);
    expect(executor.machines().map((m) => m.name)).toEqual(['honest']);
  }, 180_000);

  it('keeps at most KEPT_REFUSED_NAMES, says once that there are more, and keeps names anew once silent ones are forgotten', () => {
    let now = 1_000_000;
    const refused = new RefusedWorkers(() => now);
    let changes = 0;
    for (let i = 0; i < 5000; i++) if (refused.heard(`w${i}`, 'h', 'would read as a local worker in task records', false)) changes++;
    expect(refused.size).toBe(KEPT_REFUSED_NAMES);
    expect(changes).toBe(KEPT_REFUSED_NAMES + 1);
    expect(refused.notice()?.message).toContain(`and ${KEPT_REFUSED_NAMES - SHOWN_REFUSED_NAMES} or more others;`);
    // Heartbeats of names kept change nothing.
    expect(refused.heard('w3', 'h', 'would read as a local worker in task records', false)).toBe(false);

    now += LOST_AFTER_MS + 1;
    expect(refused.forgetSilent()).toBe(true);
    expect(refused.size).toBe(0);
    expect(refused.notice()).toBeNull();
    expect(refused.heard('w9999', 'h', 'would read as a local worker in task records', false)).toBe(true);
    expect(refused.notice()?.message).toContain('announced itself as "w9999"');
  });

  it('is one line of the host log when it appears and one when it clears, whatever changes between; the store notice as before', () => {
    const lines: string[] = [];
    const log = noticeLines((line) => lines.push(line));
    const refused = (message: string): HostNotice => ({ code: 'REMOTE_WORKER_REFUSED', message, since: 1 });
    const disk: HostNotice = { code: 'DISK_FULL', message: 'the disk is full', since: 2 };
    log([]);
    log([refused('one name')]);
    log([refused('two names')]);
    log([refused('two names'), disk]);
    log([refused('two names'), { ...disk, code: 'STORE_WRITE_FAILED' }]);
    log([disk]);
    log([]);
    log([{ code: 'REMOTE_WORKER_TURNED_AWAY', message: 'the roster is full', since: 3 }]);
    log([]);
    expect(lines).toEqual([
      'one name [REMOTE_WORKER_REFUSED]',
      'the disk is full [DISK_FULL]: no task starts until the store can be written',
      'no remote worker announces itself under a refused name any more [REMOTE_WORKER_REFUSED]',
      'the job store is written again',
      'the roster is full [REMOTE_WORKER_TURNED_AWAY]',
      'no remote worker is turned away any more [REMOTE_WORKER_TURNED_AWAY]',
    ]);
  });

  it('shows on a threadline serve --redis --workers 0 host: in the API snapshot, once on its stderr, and on the dashboard', async () => {
    assertBuilt();
    const redis = await TestRedis.start();
    const publisher = await publisherOf(redis);
    const dashboard = await openDashboardInChromium({ serve: { workers: 0, redis: redis.url }, viewport: { width: 1280, height: 900 } });
    onCleanup(() => dashboard.close());
    const { page, serve } = dashboard;
    const url = new URL(serve.url);
    const client = await connectApi({ host: '127.0.0.1', port: Number(url.port), token: url.searchParams.get('token')! });
    onCleanup(() => client.close());

    // Nothing to say before any announcement.
    expect((await client.api.snapshot()).notices ?? []).toEqual([]);

    // The only worker of this orchestrator, heard under `w1` every half second.
    const beat = () => void publisher.publish(ANNOUNCE_CHANNEL, JSON.stringify(announcement('w1'))).catch(() => {});
    beat();
    const heartbeat = setInterval(beat, 500);
    onCleanup(() => clearInterval(heartbeat));

    await expect.poll(async () => (await client.api.snapshot()).notices, { timeout: 20_000 }).toEqual([{ code: 'REMOTE_WORKER_REFUSED', message: W1_MESSAGE, since: expect.any(Number) }]);
    await page.goto(serve.url);
    await expect.poll(() => page.getByTestId('host-notices').textContent(), { timeout: 20_000 }).toBe(`Remote workers refused: ${W1_MESSAGE}.`);

    // Several heartbeats later, the log has said it once.
    const heard = Date.now();
    await waitFor(() => Date.now() - heard > 2000, 10_000, 'more heartbeats');
    const logged = `${W1_MESSAGE} [REMOTE_WORKER_REFUSED]`;
    expect(serve.stderr().split('\n').filter((line) => line === logged)).toHaveLength(1);

    // It stops: the notice goes from the snapshot and the dashboard, and the log says so once.
    clearInterval(heartbeat);
    await expect.poll(async () => (await client.api.snapshot()).notices, { timeout: 20_000 }).toEqual([]);
    await expect.poll(() => page.getByTestId('host-notices').count(), { timeout: 20_000 }).toBe(0);
    await waitFor(() => serve.stderr().includes('no remote worker announces itself under a refused name any more [REMOTE_WORKER_REFUSED]'), 10_000, 'the log to say it cleared');
    expect(dashboard.consoleErrors).toEqual([]);
  }, 120_000);

  it('is said once by threadline run --redis --workers 0 while its tasks wait, and does not stop the run as a store notice would', async () => {
    assertBuilt();
    const redis = await TestRedis.start();
    const publisher = await publisherOf(redis);
    const dir = tempDir();
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ name: 'waits', tasks: [{ id: 'e1', kind: 'demo.echo', value: 1 }] }));
    const run = spawnBin(['run', join(dir, 'job.json'), '--json', '--workers', '0', '--redis', redis.url, '--data-dir', tempDir()]);
    const ended = finished(run);
    let stderr = '';
    run.stderr!.on('data', (chunk: string) => (stderr += chunk));

    const beat = () => void publisher.publish(ANNOUNCE_CHANNEL, JSON.stringify(announcement('w1'))).catch(() => {});
    const heartbeat = setInterval(beat, 500);
    onCleanup(() => clearInterval(heartbeat));
    const logged = `${W1_MESSAGE} [REMOTE_WORKER_REFUSED]`;
    await waitFor(() => stderr.includes(logged), 30_000, 'the run to say why its task waits');
    const heard = Date.now();
    await waitFor(() => Date.now() - heard > 2000, 10_000, 'more heartbeats');

    // A worker under a good name comes: the task runs there, and the run ends as it would have.
    await startWorker(redis.url, 'build-1', dir);
    const result = await ended;
    clearInterval(heartbeat);
    expect(result.code, result.stderr).toBe(0);
    expect(JSON.parse(result.stdout)).toMatchObject({ job: { state: 'succeeded' }, tasks: [{ id: 'e1', state: 'succeeded', worker: expect.stringMatching(/^build-1\/\d+$/) }] });
    expect(result.stderr.split('\n').filter((line) => line === logged)).toHaveLength(1);
  }, 120_000);
});
