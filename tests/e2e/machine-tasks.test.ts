/**
 * A machine's Tasks button, end to end: a real redis-server, two real `threadline worker`
 * processes named `build-1` and `build-10` (one name the start of the other), each with its own
 * `--root`, and `threadline serve --redis --workers 0`, the built renderer in Debian's Chromium.
 * Each machine runs the tasks whose files are under its root and refuses the others before any of
 * its threads takes them (their worker is then the machine's bare name). The button shows every
 * task of its machine, refused ones included, and none of the other's, as the store has them.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
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

/** The task ids the table shows now (it is virtualized: the viewport is tall enough for all of them). */
function shownTaskIds(page: Page): Promise<string[]> {
  return page
    .getByRole('table', { name: 'Task list' })
    .locator('[data-task-key]')
    .evaluateAll((rows) => rows.map((row) => row.getAttribute('data-task-key')!.split(':').slice(1).join(':')).sort());
}

describe('a machine’s Tasks button in Chromium', () => {
  it('shows every task the machine ran or refused, and none of a machine whose name it begins', async () => {
    const redis = await TestRedis.start();
    const dir = tempDir();
    const roots = { 'build-1': join(dir, 'one'), 'build-10': join(dir, 'ten') };
    const outside = join(dir, 'outside');
    for (const folder of [...Object.values(roots), outside]) mkdirSync(folder);
    for (const folder of [...Object.values(roots), outside]) writeFileSync(join(folder, 'data.txt'), `bytes of ${folder}\n`.repeat(100));

    const dashboard = await openDashboardInChromium({ serve: { workers: 0, redis: redis.url }, viewport: { width: 1440, height: 1400 } });
    onCleanup(() => dashboard.close());
    const { page, serve } = dashboard;
    const url = new URL(serve.url);
    const client = await connectApi({ host: '127.0.0.1', port: Number(url.port), token: url.searchParams.get('token')! });
    onCleanup(() => client.close());
    const db = join(serve.dataDir, STORE_FILE);

    /** A job of hashes: two of files under the machine's root, two of a file outside it; waits for its end. */
    const runOn = async (machine: keyof typeof roots): Promise<void> => {
      const tasks = [
        { id: `${machine}-in-a`, kind: 'file.hash', paths: [join(roots[machine], 'data.txt')] },
        { id: `${machine}-in-b`, kind: 'file.hash', paths: [join(roots[machine], 'data.txt')] },
        { id: `${machine}-out-a`, kind: 'file.hash', paths: [join(outside, 'data.txt')] },
        { id: `${machine}-out-b`, kind: 'file.hash', paths: [join(outside, 'data.txt')] },
      ];
      const submitted = await client.api.submitJob({ fileName: `${machine}.json`, text: JSON.stringify({ name: machine, tasks }) });
      if (!submitted.ok) throw new Error(JSON.stringify(submitted.issues));
      await waitFor(() => ['succeeded', 'failed'].includes(sqlite3Json<{ state: string }>(db, `SELECT state FROM jobs WHERE id = '${submitted.job.id}'`)[0]?.state ?? ''), 60_000, `the job on ${machine} to end`);
    };

    // build-1 alone takes the first job; it is then killed (listed as lost, its button kept), and build-10 takes the second.
    const one = await startWorker(redis.url, 'build-1', roots['build-1']);
    await page.goto(serve.url);
    await expect.poll(() => page.getByRole('region', { name: 'Workers' }).locator('tbody tr').count(), { timeout: 20_000 }).toBe(1);
    await runOn('build-1');
    one.child.kill('SIGKILL');
    await one.exited;
    await startWorker(redis.url, 'build-10', roots['build-10']);
    await runOn('build-10');

    // The store, read with the sqlite3 CLI: where each task's attempts ran, and what the refusals left as their worker.
    const stored = sqlite3Json<{ id: string; state: string; worker: string; code: string | null }>(db, `SELECT id, state, worker, json_extract(error, '$.code') AS code FROM tasks ORDER BY id`);
    expect(stored.map((t) => `${t.id} ${t.state} ${t.code ?? ''} ${t.worker.replace(/\/\d+$/, '/N')}`)).toEqual([
      'build-1-in-a succeeded  build-1/N',
      'build-1-in-b succeeded  build-1/N',
      'build-1-out-a failed PATH_OUTSIDE_ROOT build-1',
      'build-1-out-b failed PATH_OUTSIDE_ROOT build-1',
      'build-10-in-a succeeded  build-10/N',
      'build-10-in-b succeeded  build-10/N',
      'build-10-out-a failed PATH_OUTSIDE_ROOT build-10',
      'build-10-out-b failed PATH_OUTSIDE_ROOT build-10',
    ]);
    const attemptsOn = (machine: string) =>
      sqlite3Json<{ id: string }>(db, `SELECT DISTINCT task_id AS id FROM attempts WHERE worker = '${machine}' OR worker LIKE '${machine}/%' ORDER BY task_id`).map((t) => t.id);
    expect(attemptsOn('build-1')).toEqual(['build-1-in-a', 'build-1-in-b', 'build-1-out-a', 'build-1-out-b']);

    const panel = page.getByRole('region', { name: 'Workers' });
    await expect.poll(() => page.getByTestId('task-count').textContent(), { timeout: 10_000 }).toBe('8 of 8');
    await panel.getByRole('button', { name: 'Tasks on build-1', exact: true }).click();
    await expect.poll(() => page.getByTestId('task-count').textContent(), { timeout: 10_000 }).toBe('4 of 8');
    expect(await shownTaskIds(page)).toEqual(attemptsOn('build-1'));
    expect(await page.getByRole('combobox', { name: 'Machine' }).inputValue()).toBe('build-1');

    await panel.getByRole('button', { name: 'Tasks on build-10', exact: true }).click();
    await expect.poll(() => shownTaskIds(page), { timeout: 10_000 }).toEqual(attemptsOn('build-10'));
    expect(attemptsOn('build-10')).toEqual(['build-10-in-a', 'build-10-in-b', 'build-10-out-a', 'build-10-out-b']);

    // Back to every machine from the filter's own control.
    await page.getByRole('combobox', { name: 'Machine' }).selectOption('');
    await expect.poll(() => page.getByTestId('task-count').textContent(), { timeout: 10_000 }).toBe('8 of 8');
    expect(dashboard.consoleErrors).toEqual([]);
  }, 180_000);
});
