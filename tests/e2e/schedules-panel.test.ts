/**
 * The Schedules panel end to end: the built renderer in Debian's Chromium against a real
 * `threadline serve`, a schedule added with the real CLI; keyboard only; axe-core in the page.
 */
import axe from 'axe-core';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jobFile, runBin } from '../cli/bin';
import { openDashboardInChromium, type DashboardInChromium } from './dashboard-in-chromium';
import type { ServeProcess } from './serve-process';

let dashboard: DashboardInChromium;
let serve: ServeProcess;
let page: Page;
let consoleErrors: string[] = [];

beforeAll(async () => {
  dashboard = await openDashboardInChromium({ serve: { workers: 1 }, viewport: { width: 1440, height: 1000 } });
  ({ serve, page, consoleErrors } = dashboard);
}, 120_000);

afterAll(() => dashboard?.close(), 60_000);

async function schedulesOnTheHost(): Promise<Array<{ name: string; paused: boolean }>> {
  const listed = await runBin(['schedule', 'list', '--json', '--data-dir', serve.dataDir]);
  return JSON.parse(listed.stdout) as Array<{ name: string; paused: boolean }>;
}

describe('the Schedules panel in Chromium', () => {
  it('shows a schedule added with the CLI; pause, run now and remove work from the keyboard', async () => {
    const file = jobFile({ name: 'nightly-export', schedule: { cron: '0 2 * * *', timezone: 'Europe/Paris' }, tasks: [{ id: 'a', kind: 'demo.echo', value: 1 }] }, 'nightly.json');
    expect((await runBin(['schedule', 'add', file, '--data-dir', serve.dataDir])).code).toBe(0);
    await page.goto(serve.url);
    const panel = page.getByRole('region', { name: 'Schedules' });
    const row = panel.getByRole('listitem', { name: 'Schedule nightly-export' });
    await row.waitFor({ timeout: 20_000 });
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain('Europe/Paris');
    expect(await row.locator('time').first().getAttribute('datetime')).toMatch(/T(00|01):00:00\.000Z$/);

    // Keyboard only: focus the button and press Enter.
    await row.getByRole('button', { name: 'Pause nightly-export' }).focus();
    await page.keyboard.press('Enter');
    await expect.poll(schedulesOnTheHost, { timeout: 10_000 }).toEqual([expect.objectContaining({ name: 'nightly-export', paused: true })]);
    await row.getByRole('button', { name: 'Resume nightly-export' }).waitFor();

    await row.getByRole('button', { name: 'Run now nightly-export' }).focus();
    await page.keyboard.press('Enter');
    await page.getByRole('list', { name: 'Job list' }).getByRole('listitem', { name: 'Job nightly-export' }).waitFor({ timeout: 20_000 });

    // axe-core in the real page, contrast included (evaluated by the debugger protocol, which the page's CSP does not govern).
    await page.evaluate(`${axe.source}\n;undefined`);
    const violations = await page.evaluate(async () => {
      const result = await (window as unknown as { axe: typeof axe }).axe.run('.schedules-panel');
      return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    });
    expect(violations).toEqual([]);

    await row.getByRole('button', { name: 'Remove nightly-export' }).focus();
    await page.keyboard.press('Enter');
    // The confirmation takes the focus: Enter again removes.
    await expect.poll(() => page.evaluate(() => document.activeElement?.textContent), { timeout: 10_000 }).toBe('Really remove nightly-export');
    await page.keyboard.press('Enter');
    await expect.poll(schedulesOnTheHost, { timeout: 10_000 }).toEqual([]);
    await row.waitFor({ state: 'detached', timeout: 10_000 });
    expect(consoleErrors).toEqual([]);
  });
});
