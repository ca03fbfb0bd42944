/**
 * The "Remote workers turned away" notice, end to end: a real redis-server, `threadline serve
 * --redis --workers 0` and the built renderer in Debian's Chromium. Announcements are published
 * on the announce channel as a worker (or a writer to Redis) would send them: one claiming more
 * threads than a worker may have is turned away by the host, and the dashboard says so in the
 * words the host gives, as long as it is heard; once it has been silent for as long as a worker
 * takes to be lost the notice clears, and serve's log says that it did; heard again, it is back.
 */
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { ANNOUNCE_CHANNEL, LOST_AFTER_MS, MAX_ANNOUNCED_THREADS, type WorkerAnnouncement } from '../../electron/remote/remote-protocol.js';
import { assertBuilt } from '../cli/bin.js';
import { onCleanup } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';
import { openDashboardInChromium } from './dashboard-in-chromium';

beforeAll(assertBuilt);

const GREEDY: WorkerAnnouncement = { name: 'greedy', host: 'forged-host', threads: MAX_ANNOUNCED_THREADS + 1, running: 0, state: 'ready', rssBytes: 1, loopDelayP99Ms: 1 };
const HONEST: WorkerAnnouncement = { ...GREEDY, name: 'honest', host: 'honest-host', threads: 2 };

const TURNED_AWAY_MESSAGE =
  `a remote worker announced more threads than a worker may have ("greedy" on host "forged-host", with ${MAX_ANNOUNCED_THREADS + 1}, over ${MAX_ANNOUNCED_THREADS}), ` +
  `so its announcement is ignored and its threads add no room for tasks; start it with --workers ${MAX_ANNOUNCED_THREADS} or fewer`;
const CLEARED_LINE = 'no remote worker is turned away any more [REMOTE_WORKER_TURNED_AWAY]';

/** Announces each of `announcements` every 100 ms, as workers do once a second, until stopped. */
function announcing(publisher: Redis, announcements: WorkerAnnouncement[]): () => void {
  const beat = () => {
    for (const a of announcements) void publisher.publish(ANNOUNCE_CHANNEL, JSON.stringify(a)).catch(() => {});
  };
  beat();
  const timer = setInterval(beat, 100);
  onCleanup(() => clearInterval(timer));
  return () => clearInterval(timer);
}

describe('the "Remote workers turned away" notice in Chromium', () => {
  it('appears with the host\'s words while a worker claiming too many threads announces itself, and clears once it is silent', async () => {
    const redis = await TestRedis.start();
    const dashboard = await openDashboardInChromium({ serve: { workers: 0, redis: redis.url }, viewport: { width: 1440, height: 1000 } });
    onCleanup(() => dashboard.close());
    const { page, serve } = dashboard;
    await page.goto(serve.url);
    const workers = page.getByRole('region', { name: 'Workers' });
    await expect.poll(() => workers.textContent(), { timeout: 20_000 }).toContain('No remote workers');
    const notices = page.getByTestId('host-notices');
    expect(await notices.count()).toBe(0);

    const publisher = new Redis(redis.port, '127.0.0.1');
    onCleanup(() => publisher.disconnect());
    // An honest worker beside it: listed, which shows announcements are heard, and not told of.
    const stop = announcing(publisher, [HONEST, GREEDY]);
    await expect.poll(() => workers.locator('tbody tr').evaluateAll((rows) => rows.map((tr) => tr.getAttribute('data-machine'))), { timeout: 20_000 }).toEqual(['honest']);
    await expect.poll(() => notices.textContent(), { timeout: 20_000 }).toBe(`Remote workers turned away: ${TURNED_AWAY_MESSAGE}.`);
    expect(await notices.getAttribute('role')).toBe('alert');
    expect(await page.getByRole('alert').filter({ hasText: 'Remote workers turned away' }).count()).toBe(1);

    // Heard on for twice the while after which a silent one is forgotten: it stays, one notice, said once in the log.
    await page.waitForTimeout(2 * LOST_AFTER_MS);
    expect(await notices.textContent()).toBe(`Remote workers turned away: ${TURNED_AWAY_MESSAGE}.`);
    expect(await workers.locator('tbody tr[data-machine="greedy"]').count()).toBe(0);
    expect(serve.stderr().split('\n').filter((line) => line.includes('[REMOTE_WORKER_TURNED_AWAY]'))).toEqual([`${TURNED_AWAY_MESSAGE} [REMOTE_WORKER_TURNED_AWAY]`]);

    // Silent from now on: the notice clears, and serve's log says that it did.
    stop();
    await expect.poll(() => notices.count(), { timeout: LOST_AFTER_MS + 20_000 }).toBe(0);
    await expect.poll(() => serve.stderr().split('\n').filter((line) => line.includes('[REMOTE_WORKER_TURNED_AWAY]')), { timeout: 10_000 }).toEqual([
      `${TURNED_AWAY_MESSAGE} [REMOTE_WORKER_TURNED_AWAY]`,
      CLEARED_LINE,
    ]);
    // Heard again: told of again, as new.
    const again = announcing(publisher, [GREEDY]);
    await expect.poll(() => notices.textContent(), { timeout: 20_000 }).toBe(`Remote workers turned away: ${TURNED_AWAY_MESSAGE}.`);
    again();
    expect(dashboard.consoleErrors).toEqual([]);
  }, 120_000);
});
