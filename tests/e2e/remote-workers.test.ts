/**
 * Remote worker machines in the dashboard, end to end: a real redis-server, two real
 * `threadline worker` processes and `threadline serve --redis --workers 0` on this machine, the
 * built renderer in Debian's Chromium. The Workers panel, the worker names in the table and the
 * store, the remote lanes, axe-core with machines listed, the keyboard, the metrics, a worker
 * killed (lost) and one drained (gone).
 */
import axe from 'axe-core';
import { join } from 'node:path';
import parsePrometheus from 'parse-prometheus-text-format';
import type { Page } from 'playwright-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { STORE_FILE } from '../../electron/engine/job-store.js';
import { connectApi } from '../../electron/serve/node-api-client.js';
import { assertBuilt } from '../cli/bin.js';
import { sqlite3Json } from '../reliability/sqlite-cli.js';
import { startWorker } from '../remote/remote-fixture.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';
import { openDashboardInChromium } from './dashboard-in-chromium';

beforeAll(assertBuilt);

/** `machine:state` of each row of the Workers panel, in its order. */
function workerRows(page: Page): Promise<string[]> {
  return page
    .getByRole('region', { name: 'Workers' })
    .locator('tbody tr')
    .evaluateAll((rows) => rows.map((tr) => `${tr.getAttribute('data-machine')}:${tr.querySelector('.machine-state')?.textContent}`));
}

describe('remote workers in Chromium', () => {
  it('lists the machines, names their threads, passes axe, narrows the table from the keyboard, and follows a kill and a drain', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const a = await startWorker(redis.url, 'build-a', root, 2);
    const b = await startWorker(redis.url, 'build-b', root, 2);
    const dashboard = await openDashboardInChromium({ serve: { workers: 0, redis: redis.url }, viewport: { width: 1440, height: 1000 } });
    onCleanup(() => dashboard.close());
    const { page, serve } = dashboard;
    await page.goto(serve.url);
    await expect.poll(() => workerRows(page), { timeout: 20_000 }).toEqual(['build-a:ready', 'build-b:ready']);

    // Eight CPU tasks of 1.5 s over the four remote threads (there is no local pool).
    const url = new URL(serve.url);
    const token = url.searchParams.get('token')!;
    const client = await connectApi({ host: '127.0.0.1', port: Number(url.port), token });
    onCleanup(() => client.close());
    const submitted = await client.api.submitJob({
      fileName: 'spread.json',
      text: JSON.stringify({ name: 'spread', tasks: Array.from({ length: 8 }, (_, i) => ({ id: `cpu-${i}`, kind: 'demo.cpu', ms: 1500 })) }),
    });
    if (!submitted.ok) throw new Error(JSON.stringify(submitted.issues));
    const panel = page.getByRole('region', { name: 'Workers' });
    // While they run, the panel counts them on their machines (the Running column).
    await expect.poll(() => panel.locator('tbody tr td:nth-of-type(3)').allTextContents(), { timeout: 30_000 }).toContain('2');

    const db = join(serve.dataDir, STORE_FILE);
    await waitFor(() => sqlite3Json<{ state: string }>(db, `SELECT state FROM jobs WHERE id = '${submitted.job.id}'`)[0]?.state === 'succeeded', 60_000, 'the job to end');
    const stored = sqlite3Json<{ id: string; worker: string }>(db, `SELECT id, worker FROM tasks WHERE job_id = '${submitted.job.id}' ORDER BY id`);
    expect(stored).toHaveLength(8);
    for (const { worker } of stored) expect(worker).toMatch(/^build-[ab]\/\d+$/);

    // The table names each task's worker as the store does; the timeline has the loop's lane and one per remote thread used.
    const table = page.getByRole('table', { name: 'Task list' });
    await expect.poll(() => table.getByText(/^build-[ab]\/\d+$/).count(), { timeout: 10_000 }).toBe(8);
    const threadsUsed = new Set(stored.map((t) => t.worker)).size;
    await expect.poll(async () => Number(await page.getByTestId('timeline-canvas').getAttribute('data-lane-count')), { timeout: 10_000 }).toBe(1 + threadsUsed);

    // axe-core on the whole page with machines listed, contrast included.
    await page.evaluate(`${axe.source}\n;undefined`);
    const violations = await page.evaluate(async () => {
      const result = await (window as unknown as { axe: typeof axe }).axe.run(document, { runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] } });
      return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    });
    expect(violations).toEqual([]);

    // From the keyboard: a machine's Tasks button narrows the table to its tasks, as the store counts them.
    await panel.getByRole('button', { name: 'Tasks on build-a' }).focus();
    await page.keyboard.press('Enter');
    const onA = stored.filter((t) => t.worker.startsWith('build-a/')).length;
    await expect.poll(() => page.getByTestId('task-count').textContent(), { timeout: 10_000 }).toBe(`${onA} of 8`);

    // serve's metrics agree with the panel.
    const scrape = parsePrometheus(await (await fetch(new URL(`/metrics?token=${encodeURIComponent(token)}`, url))).text());
    const threads = scrape.find((f) => f.name === 'threadline_remote_machine_threads')!.metrics.map((m) => [m.labels!.machine, m.value]);
    expect(threads.sort()).toEqual([
      ['build-a', '2'],
      ['build-b', '2'],
    ]);

    // build-b killed: lost once its announcements stop; build-a drained by SIGTERM: it leaves the list.
    b.child.kill('SIGKILL');
    await expect.poll(() => workerRows(page), { timeout: 20_000 }).toEqual(['build-a:ready', 'build-b:lost']);
    a.child.kill('SIGTERM');
    expect((await a.exited).code).toBe(0);
    await expect.poll(() => workerRows(page), { timeout: 20_000 }).toEqual(['build-b:lost']);
    expect(dashboard.consoleErrors).toEqual([]);
  }, 180_000);
});
