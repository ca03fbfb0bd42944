/**
 * Text a person does not control shown by the dashboard: job names, task ids and task errors
 * carrying markup and script, bidirectional overrides and the longest values a job file allows.
 * Nothing of it may run (no dialog, no script, no CSP report) and the page must stay usable.
 * The built renderer in Debian's Chromium against a real `threadline serve`.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDashboardInChromium, type DashboardInChromium } from './dashboard-in-chromium';
import { holdTimelineView } from './timeline-view';

/** The timeline's colour of a succeeded bar (renderer/src/state-colors.ts). */
const SUCCEEDED_RGB: [number, number, number] = [0x22, 0xc5, 0x5e];
const PWN = 'window.__pwned=1';
const NAME = `<img src=x onerror="${PWN}">\u202Egnp.exe<script>${PWN}</script>`;
const IMG_ID = `<img/src=x/onerror=${PWN}>`;
const SCRIPT_ID = `<script>${PWN}</script>`;
const RTL_ID = '\u202Etxt.exe';
// The longest id a job file allows, without a place to break it.
const LONG_ID = 'L'.repeat(200);
const ERROR_TEXT = `<img src=x onerror="${PWN}"><svg onload="${PWN}"></svg><a href="javascript:${PWN}">x</a>\n${'W'.repeat(2000)}`;

let dashboard: DashboardInChromium;
let page: Page;
let consoleErrors: string[] = [];
let files: string;
const dialogs: string[] = [];

beforeAll(async () => {
  files = await mkdtemp(join(tmpdir(), 'threadline-e2e-hostile-'));
  dashboard = await openDashboardInChromium({ serve: { workers: 2 }, viewport: { width: 1280, height: 900 } });
  ({ page, consoleErrors } = dashboard);
  page.on('dialog', (dialog) => {
    dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  // Runs before the page's own scripts (through the debugger protocol, which the CSP does not govern).
  await page.addInitScript(() => {
    const seen: string[] = [];
    (window as unknown as { __cspViolations: string[] }).__cspViolations = seen;
    document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.violatedDirective} ${event.blockedURI}`));
  });
}, 120_000);

afterAll(async () => {
  await dashboard?.close();
  if (files) await rm(files, { recursive: true, force: true });
}, 60_000);

const rowOf = (taskId: string) => page.getByRole('row').filter({ has: page.getByRole('cell', { name: taskId, exact: true }) });

/**
 * Whether the first two characters of `text`, inside the element, are drawn left to right
 * (the first to the left of the second), as an English sentence must be.
 */
async function readsLeftToRight(element: Locator, text: string): Promise<boolean> {
  return element.first().evaluate((root, wanted) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const at = node.textContent!.indexOf(wanted);
      if (at < 0) continue;
      const left = (offset: number) => {
        const range = document.createRange();
        range.setStart(node, offset);
        range.setEnd(node, offset + 1);
        return range.getBoundingClientRect().left;
      };
      return left(at) < left(at + 1);
    }
    throw new Error(`no text ${JSON.stringify(wanted)} in ${JSON.stringify(root.textContent)}`);
  }, text);
}

describe('hostile text in the dashboard', () => {
  it('shows markup in names, ids and errors as text: nothing runs, nothing is injected, the page keeps its width', async () => {
    await page.goto(dashboard.serve.url);
    await expect.poll(() => page.getByTestId('stream-state').textContent(), { timeout: 20_000 }).toBe('live');
    const file = join(files, 'hostile.json');
    await writeFile(
      file,
      JSON.stringify({
        name: NAME,
        tasks: [
          { id: IMG_ID, kind: 'demo.echo', value: NAME },
          { id: SCRIPT_ID, kind: 'demo.fail', message: ERROR_TEXT },
          { id: RTL_ID, kind: 'demo.echo', value: 1 },
          { id: LONG_ID, kind: 'demo.echo', value: 2 },
        ],
      }),
    );
    await page.getByRole('tab', { name: 'Job file' }).click();
    await page.locator('input[type=file]').setInputFiles(file);
    await expect.poll(() => page.getByRole('button', { name: 'Run job' }).isEnabled(), { timeout: 20_000 }).toBe(true);
    await page.getByRole('button', { name: 'Run job' }).click();

    for (const id of [IMG_ID, RTL_ID, LONG_ID]) {
      await expect.poll(() => rowOf(id).getAttribute('data-state'), { timeout: 30_000 }).toBe('succeeded');
    }
    await expect.poll(() => rowOf(SCRIPT_ID).getAttribute('data-state'), { timeout: 30_000 }).toBe('failed');
    // The U+202E in the job's name turns the name, not what the dashboard writes after it: the
    // job's id after the name reads left to right, in the job's outcome notice (read as soon as it
    // shows: it goes after a few seconds) and in the drawer.
    const notice = page.getByRole('region', { name: 'Notices' }).locator('.notice', { hasText: 'failed: 1 of 4 tasks failed' });
    await notice.waitFor({ timeout: 20_000 });
    const jobId = /\((j-[^)\s]+)\) failed/.exec((await notice.textContent()) ?? '')?.[1] ?? '';
    expect(jobId).toMatch(/^j-/);
    expect(await readsLeftToRight(notice, `(${jobId}) failed`)).toBe(true);
    // The job's name is shown as written, in the job list.
    await page.getByRole('list', { name: 'Job list' }).getByRole('listitem', { name: `Job ${NAME}` }).waitFor({ timeout: 20_000 });

    // The failed task's drawer shows its error as text.
    await rowOf(SCRIPT_ID).getByRole('button', { name: SCRIPT_ID }).click();
    const drawer = page.getByRole('complementary', { name: 'Task detail' });
    await expect.poll(() => drawer.isVisible(), { timeout: 10_000 }).toBe(true);
    await expect.poll(() => drawer.textContent(), { timeout: 10_000 }).toContain('<svg onload=');
    // Its 2,000-character word wraps inside the error's box rather than running out of it.
    expect(await drawer.locator('.error-box').evaluate((box) => box.scrollWidth - box.clientWidth)).toBe(0);

    expect(await drawer.locator('.mono.muted').first().textContent()).toBe(jobId);
    expect(await readsLeftToRight(drawer.locator('dd', { hasText: jobId }), jobId)).toBe(true);

    // The timeline's tooltip over each bar: hover across the canvas where the bars are.
    const canvas = page.getByTestId('timeline-canvas');
    const box = (await canvas.boundingBox())!;
    // Stop following live time so the bars stay put, then hover each bar of the job.
    await holdTimelineView(page, canvas, { x: box.width / 2, y: 10 });
    const bars = await canvas.evaluate((element, rgb) => {
      const c = element as HTMLCanvasElement;
      const data = c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data;
      const scale = c.width / c.getBoundingClientRect().width;
      const found: Array<{ x: number; y: number }> = [];
      for (let i = 0; i < data.length; i += 4 * 7) {
        if (data[i] === rgb[0] && data[i + 1] === rgb[1] && data[i + 2] === rgb[2]) {
          const p = i / 4;
          found.push({ x: (p % c.width) / scale, y: Math.floor(p / c.width) / scale });
        }
      }
      return found.filter((_, n) => n % Math.max(1, Math.floor(found.length / 20)) === 0);
    }, SUCCEEDED_RGB);
    expect(bars.length).toBeGreaterThan(0);
    const tooltips = new Set<string>();
    const tooltip = page.getByRole('tooltip');
    // A tooltip shows once the page has handled the pointer's move: the bars are hovered again
    // until one has been seen naming the job.
    await expect
      .poll(async () => {
        for (const at of bars) {
          await canvas.hover({ position: at });
          if (await tooltip.isVisible()) tooltips.add((await tooltip.textContent()) ?? '');
        }
        return [...tooltips].some((text) => text.includes(NAME));
      }, { timeout: 30_000 })
      .toBe(true);

    const injected = await page.evaluate(() => ({
      pwned: (window as unknown as { __pwned?: unknown }).__pwned ?? null,
      elements: document.querySelectorAll('img[src="x"], svg[onload], a[href^="javascript:"], [onerror], body script').length,
      csp: (window as unknown as { __cspViolations: string[] }).__cspViolations,
      overflow: document.documentElement.scrollWidth - document.documentElement.clientWidth,
    }));
    expect(injected).toEqual({ pwned: null, elements: 0, csp: [], overflow: 0 });
    expect(dialogs).toEqual([]);
    expect(consoleErrors).toEqual([]);

    // The drawer can still be closed: the long error did not push its button out of reach.
    await drawer.getByRole('button', { name: 'Close task detail' }).click();
    await expect.poll(() => drawer.count(), { timeout: 10_000 }).toBe(0);
  });
});
