/**
 * The dashboard as it is used day to day, in Chromium against a real `threadline serve`:
 * accessibility checked by axe-core, every action from the keyboard, job files with relative
 * paths, outcome notices, re-runs, and past jobs opened by link after a restart.
 */
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDashboardInChromium, type DashboardInChromium } from './dashboard-in-chromium';
import { REPO, type ServeProcess } from './serve-process';

const require = createRequire(import.meta.url);
const AXE_SOURCE_FILE = require.resolve('axe-core');
/** WCAG 2.1 A and AA, plus the best practices that ask for a main landmark and all content in landmarks. */
const AXE_TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'];
const TOKEN = 'e2e-stable-token-0123456789';

let dashboard: DashboardInChromium;
let serve: ServeProcess;
let dataDir: string;
let files: string;
let browser: Browser;
let page: Page;
let consoleErrors: string[] = [];
/** The job whose file.hash failed with ENOENT (relative paths against the server's folder). */
let failedJobId = '';

beforeAll(async () => {
  files = await mkdtemp(join(tmpdir(), 'threadline-e2e-daily-'));
  dataDir = join(files, 'data');
  await mkdir(join(files, 'jobs'), { recursive: true });
  await writeFile(join(files, 'jobs', 'data.txt'), 'rows\n'.repeat(100));
  await writeFile(
    join(files, 'jobs', 'digest.yaml'),
    [
      'name: e2e-digest',
      'tasks:',
      '  - { id: prepare, kind: demo.echo, value: 1 }',
      '  - { id: digest, kind: file.hash, paths: [data.txt], manifest: SUMS, dependsOn: [prepare] }',
      '  - { id: report, kind: demo.echo, value: 2, dependsOn: [digest] }',
      '',
    ].join('\n'),
  );
  await writeFile(
    join(files, 'keyboard.json'),
    JSON.stringify({ name: 'e2e-keyboard', tasks: [{ id: 'long', kind: 'demo.sleep', ms: 600_000 }, { id: 'bad', kind: 'demo.fail', message: 'bad on purpose' }] }),
  );
  dashboard = await openDashboardInChromium({ serve: { workers: 2, graceMs: 500, dataDir, env: { THREADLINE_TOKEN: TOKEN } }, viewport: { width: 1440, height: 1000 } });
  ({ serve, browser, page, consoleErrors } = dashboard);
}, 120_000);

afterAll(async () => {
  await dashboard?.close();
  if (files) await rm(files, { recursive: true, force: true });
}, 60_000);

/** axe-core's own build, injected into the page, run with the tags above; the violations found. */
async function axeViolations(target: Page): Promise<Array<{ id: string; nodes: string[] }>> {
  const source = await readFile(AXE_SOURCE_FILE.replace(/axe\.js$/, 'axe.min.js'), 'utf8');
  await target.evaluate(source);
  return target.evaluate(async (tags) => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: unknown) => Promise<{ violations: Array<{ id: string; nodes: Array<{ target: string[] }> }> }> } }).axe;
    const result = await axe.run(document, { runOnly: { type: 'tag', values: tags } });
    return result.violations.map((v) => ({ id: v.id, nodes: v.nodes.map((n) => n.target.join(' ')) }));
  }, AXE_TAGS);
}

/** Presses Tab until `target` has the focus: it proves the control is reachable by keyboard alone. */
async function tabTo(target: Locator, maxPresses = 400): Promise<void> {
  for (let i = 0; i < maxPresses; i++) {
    if (await target.evaluate((element) => element === document.activeElement).catch(() => false)) return;
    await page.keyboard.press('Tab');
  }
  throw new Error(`${String(target)} was not reached with ${maxPresses} presses of Tab`);
}

const rowOf = (taskId: string) => page.getByRole('row').filter({ has: page.getByRole('cell', { name: taskId, exact: true }) });
const drawer = () => page.getByRole('complementary', { name: 'Task detail' });
const notices = () => page.getByRole('status', { name: 'Notices' });
const jobItem = (name: string) => page.getByRole('list', { name: 'Job list' }).getByRole('listitem', { name: `Job ${name}` });

async function loadJobFile(file: string): Promise<void> {
  await page.getByRole('tab', { name: 'Job file' }).click();
  await page.locator('input[type=file]').setInputFiles(file);
  await expect.poll(() => page.getByRole('button', { name: 'Run job' }).isEnabled(), { timeout: 10_000 }).toBe(true);
}

describe('the dashboard day to day, in Chromium against threadline serve', () => {
  it('has no accessibility violations axe-core can find while the demo runs, started from the keyboard', async () => {
    await page.goto(serve.url);
    await expect.poll(() => page.getByTestId('stream-state').textContent(), { timeout: 20_000 }).toBe('live');
    await page.locator('body').focus();
    await tabTo(page.getByRole('button', { name: 'Run demo', exact: true }), 20);
    await page.keyboard.press('Enter');
    await expect.poll(() => notices().textContent(), { timeout: 10_000 }).toMatch(/Demo: job demo \(j-\S+\) started/);
    await expect.poll(() => page.locator('[data-state="running"]').count(), { timeout: 20_000 }).toBeGreaterThan(0);
    expect(await axeViolations(page)).toEqual([]);
  });

  it('opens a task from the keyboard; the drawer takes the focus, leaves the timeline’s buttons usable, and Escape closes it', async () => {
    const open = rowOf('crunch-1').getByRole('button', { name: 'crunch-1' });
    await page.getByRole('button', { name: 'Run demo', exact: true }).focus();
    await tabTo(open);
    await page.keyboard.press('Enter');
    await expect.poll(() => drawer().isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await drawer().evaluate((element) => element.contains(document.activeElement))).toBe(true);
    // Not covered by the drawer: a click there reaches the buttons (a covered one never would,
    // however long it is given; a loaded machine may take seconds to settle the layout).
    await page.getByRole('button', { name: 'Fit all' }).click({ trial: true, timeout: 10_000 });
    await page.getByRole('button', { name: 'Live', exact: true }).click({ trial: true, timeout: 10_000 });
    expect(await axeViolations(page)).toEqual([]);
    await page.keyboard.press('Escape');
    await expect.poll(() => drawer().count(), { timeout: 10_000 }).toBe(0);
    expect(await open.evaluate((element) => element === document.activeElement)).toBe(true);
  });

  it('runs, cancels, retries and re-runs from the keyboard alone', async () => {
    await loadJobFile(join(files, 'keyboard.json'));
    await page.getByRole('tab', { name: 'Job file' }).focus();
    await tabTo(page.getByRole('button', { name: 'Run job' }), 40);
    await page.keyboard.press('Enter');
    await expect.poll(() => jobItem('e2e-keyboard').count(), { timeout: 10_000 }).toBe(1);

    // Narrow the table to the job by typing, then reach each row's buttons with Tab.
    const search = page.getByRole('searchbox', { name: 'Search' });
    await page.getByRole('combobox', { name: 'Job' }).focus();
    await tabTo(search, 5);
    await page.keyboard.type('long');
    await expect.poll(() => rowOf('long').getAttribute('data-state'), { timeout: 20_000 }).toBe('running');
    await tabTo(rowOf('long').getByRole('button', { name: 'Cancel', exact: true }), 20);
    await page.keyboard.press('Enter');
    await expect.poll(() => rowOf('long').getAttribute('data-state'), { timeout: 20_000 }).toBe('cancelled');
    // With 'long' cancelled the job has ended failed ('bad' failed at once): its notice says so,
    // looked for now, while it is shown (a retry does not bring it back).
    await expect.poll(() => notices().textContent(), { timeout: 20_000 }).toMatch(/job e2e-keyboard \(j-\S+\) failed: 1 of 2 tasks failed, 1 cancelled/);

    await search.focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('bad on purpose');
    await expect.poll(() => rowOf('bad').getAttribute('data-state'), { timeout: 20_000 }).toBe('failed');
    await tabTo(rowOf('bad').getByRole('button', { name: 'Retry', exact: true }), 20);
    await page.keyboard.press('Enter');
    // Retried, the task runs again without its error, so it leaves a search for the error until
    // it fails again; a walk through its row then loses the focus with the row. Searched by its
    // id, its row stays while its state changes, and the walk starts once the row is there.
    await search.focus();
    await page.keyboard.press('Control+A');
    await page.keyboard.type('bad');
    await expect.poll(() => rowOf('bad').count(), { timeout: 20_000 }).toBe(1);
    await search.focus();
    await tabTo(rowOf('bad').getByRole('button', { name: 'bad' }), 20);
    await page.keyboard.press('Enter');
    await expect.poll(() => drawer().getByText(/^2 attempts of 1/).count(), { timeout: 20_000 }).toBe(1);
    await expect.poll(() => drawer().getByTestId('detail-state').textContent(), { timeout: 20_000 }).toBe('failed');
    expect(await drawer().textContent()).toContain('No result: the task failed');
    expect(await drawer().textContent()).not.toContain('No result yet');
    await page.keyboard.press('Escape');

    // The job ended failed again; "Re-run failed" runs long and bad again.
    const before = await page.getByRole('list', { name: 'Job list' }).getByRole('listitem').count();
    await tabTo(jobItem('e2e-keyboard').getByRole('button', { name: 'Re-run failed' }));
    await page.keyboard.press('Enter');
    await expect.poll(() => page.getByRole('list', { name: 'Job list' }).getByRole('listitem').count(), { timeout: 10_000 }).toBe(before + 1);
    await expect.poll(() => notices().textContent(), { timeout: 10_000 }).toMatch(/Re-run of the failed tasks of j-\S+: job e2e-keyboard \(j-\S+\) started, 2 tasks/);
    const rerun = page.getByRole('list', { name: 'Job list' }).getByRole('listitem').first();
    await expect.poll(() => rerun.getByRole('button', { name: 'Cancel job' }).count(), { timeout: 10_000 }).toBe(1);
    await tabTo(rerun.getByRole('button', { name: 'Cancel job' }));
    await page.keyboard.press('Enter');
    await expect.poll(() => rerun.getByRole('button', { name: 'Re-run failed' }).count(), { timeout: 20_000 }).toBe(1);
    await search.fill('');
  });

  it('resolves a job file’s relative paths against the base folder given, says so, and ends with a notice of the outcome', async () => {
    const file = join(files, 'jobs', 'digest.yaml');
    await loadJobFile(file);
    const folder = page.getByRole('textbox', { name: 'Base folder (on the server)' });
    // The default is the folder serve was started in (the repository here), and the page says so.
    await expect.poll(() => folder.inputValue(), { timeout: 10_000 }).toBe(REPO.replace(/\/$/, ''));
    expect(await page.locator(`#${await folder.getAttribute('aria-describedby')}`.replace(/:/g, '\\:')).textContent()).toMatch(/Default: .+, where the server was started/);
    await page.getByRole('button', { name: 'Run job' }).click();
    // Not in the repository: the hash fails, and the outcome names the count, with a link to the job.
    await expect.poll(() => notices().textContent(), { timeout: 30_000 }).toMatch(/job e2e-digest \(j-\S+\) failed: 1 of 3 tasks failed, 1 skipped/);
    expect(await page.locator('.notice').count()).toBeLessThanOrEqual(3);
    // This job's own notice: on a loaded machine an earlier job's outcome can come in after it.
    await notices().locator('.notice', { hasText: /job e2e-digest \(j-\S+\) failed/ }).getByRole('link', { name: 'Show its tasks' }).click();
    failedJobId = decodeURIComponent(new URL(page.url()).hash.replace('#/jobs/', ''));
    expect(failedJobId).toMatch(/^j-/);
    expect(new URL(page.url()).searchParams.get('token')).toBe(TOKEN);
    await expect.poll(() => page.getByTestId('task-count').textContent(), { timeout: 10_000 }).toMatch(/^3 of /);
    await page.getByRole('searchbox', { name: 'Search' }).fill('ENOENT');
    await expect.poll(() => page.getByTestId('task-count').textContent(), { timeout: 10_000 }).toMatch(/^1 of /);
    await rowOf('digest').getByRole('button', { name: 'digest' }).click();
    await expect.poll(() => drawer().getByRole('alert').textContent(), { timeout: 10_000 }).toMatch(/ENOENT/);
    await page.keyboard.press('Escape');
    await page.getByRole('searchbox', { name: 'Search' }).fill('');

    // The job file's own folder as the base: it succeeds, and sha256sum accepts the manifest it wrote.
    await loadJobFile(file);
    await folder.fill(join(files, 'jobs'));
    await page.getByRole('button', { name: 'Run job' }).click();
    await expect.poll(() => notices().textContent(), { timeout: 30_000 }).toMatch(/job e2e-digest \(j-\S+\) succeeded: 3 tasks/);
    expect(execFileSync('sha256sum', ['-c', 'SUMS'], { cwd: join(files, 'jobs'), encoding: 'utf8' })).toMatch(/data\.txt: OK/);
    // One notice per job: each job's "started" gave way to its outcome.
    const topics = await page.locator('.notice').evaluateAll((all) => all.map((n) => n.getAttribute('data-topic')));
    expect(new Set(topics).size).toBe(topics.length);
    expect(consoleErrors).toEqual([]);
  });

  it('opens a past job from its link after serve restarts with the same token; a wrong token is explained', async () => {
    await page.close();
    serve = await dashboard.restartServe({ workers: 2, dataDir, env: { THREADLINE_TOKEN: TOKEN } });
    expect(new URL(serve.url).searchParams.get('token')).toBe(TOKEN);
    ({ page, consoleErrors } = await dashboard.newPage());
    await page.goto(`${serve.url}#/jobs/${failedJobId}`);
    await expect.poll(() => page.getByTestId('stream-state').textContent(), { timeout: 20_000 }).toBe('live');
    await expect.poll(() => page.getByTestId('task-count').textContent(), { timeout: 10_000 }).toBe('3 of 3');
    expect(await jobItem('e2e-digest').textContent()).toContain('earlier run');
    await rowOf('digest').getByRole('button', { name: 'digest' }).click();
    await expect.poll(() => drawer().getByRole('alert').textContent(), { timeout: 10_000 }).toMatch(/ENOENT/);
    expect(await drawer().getByTestId('detail-state').textContent()).toBe('failed');
    await page.keyboard.press('Escape');

    // Found by a search of the history, too.
    await page.getByRole('button', { name: 'Earlier jobs' }).click();
    await page.getByRole('searchbox', { name: 'Find a job' }).fill('e2e-dig');
    await expect.poll(() => page.getByRole('list', { name: 'Earlier jobs' }).getByRole('link', { name: 'e2e-digest' }).count(), { timeout: 10_000 }).toBe(1);
    expect(await axeViolations(page)).toEqual([]);
    expect(consoleErrors).toEqual([]);

    const stale = await browser.newPage();
    await stale.goto(serve.url.replace(TOKEN, 'a-token-from-an-earlier-run-000'));
    await expect.poll(() => stale.getByTestId('stream-state').textContent(), { timeout: 20_000 }).toBe('token refused');
    expect(await stale.getByTestId('connection-problem').textContent()).toMatch(/refused this page's token.*Open the URL threadline serve printed/);
    await stale.close();
  });
});
