/**
 * The dashboard with 100,000 tasks: a job file of that size through the loader, every task in
 * the store and on the timeline, panning and zooming all the bars, filtering, opening a task.
 * Frame times and memory are recorded in tests/e2e/artifacts/dashboard-scale.json for the
 * record; they are measurements, not assertions.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDashboardInChromium, type DashboardInChromium } from './dashboard-in-chromium';
import { waitForCount } from './progress-wait';
import { REPO, type ServeProcess } from './serve-process';

const N = 100_000;
const ARTIFACTS = join(REPO, 'tests/e2e/artifacts');

let dashboard: DashboardInChromium;
let serve: ServeProcess;
let page: Page;
let consoleErrors: string[] = [];
const figures: Record<string, unknown> = { tasks: N };

interface FrameFigures {
  frames: number;
  medianMs: number;
  p95Ms: number;
  maxMs: number;
  over50Ms: number;
}

beforeAll(async () => {
  dashboard = await openDashboardInChromium({ serve: { workers: 2 }, viewport: { width: 1600, height: 1000 }, chromiumArgs: ['--enable-precise-memory-info'] });
  ({ serve, page, consoleErrors } = dashboard);
}, 120_000);

afterAll(() => dashboard?.close(), 60_000);

/**
 * How long the page may take to show what a step asked for. With 100,000 tasks a filter, a
 * repaint or a table render can take seconds on a loaded machine, beyond a poll's default second;
 * these are waits for a state, not timings.
 */
const SETTLED = { timeout: 30_000 };

const canvas = () => page.getByTestId('timeline-canvas');
const barCount = async () => Number(await canvas().getAttribute('data-bar-count'));
const doneCount = async () => Number(((await page.locator('[data-headline="done"] dd').evaluate((dd) => dd.firstChild?.textContent)) ?? '').replace(/,/g, '')) || 0;
const visibleBars = async () => Number(await canvas().getAttribute('data-visible-bars'));

/** Starts counting animation frames in the page; the returned function stops and sums them up. */
async function recordFrames(): Promise<() => Promise<FrameFigures>> {
  await page.evaluate(() => {
    const w = window as unknown as { frameGaps: number[]; stopFrames: boolean };
    w.frameGaps = [];
    w.stopFrames = false;
    let last = performance.now();
    const step = (now: number): void => {
      w.frameGaps.push(now - last);
      last = now;
      if (!w.stopFrames) requestAnimationFrame(step);
    };
    requestAnimationFrame(step);
  });
  return () =>
    page.evaluate(() => {
      const w = window as unknown as { frameGaps: number[]; stopFrames: boolean };
      w.stopFrames = true;
      const gaps = w.frameGaps.slice(2);
      const sorted = [...gaps].sort((a, b) => a - b);
      const at = (q: number): number => Math.round(sorted[Math.floor(q * (sorted.length - 1))]! * 10) / 10;
      return { frames: gaps.length, medianMs: at(0.5), p95Ms: at(0.95), maxMs: at(1), over50Ms: gaps.filter((g) => g > 50).length };
    });
}

/** Drags the timeline by 4 px per frame for `frames` frames; returns frame gaps and paint times. */
function dragTimeline(frames: number): Promise<FrameFigures & { paintMedianMs: number; paintP95Ms: number; visibleBefore: number; visibleAfter: number }> {
  return page.evaluate(async (count) => {
    const el = document.querySelector<HTMLCanvasElement>('[data-testid=timeline-canvas]')!;
    const rect = el.getBoundingClientRect();
    const y = rect.top + 40;
    let x = rect.left + rect.width * 0.9;
    const visibleBefore = Number(el.dataset.visibleBars);
    el.dispatchEvent(new PointerEvent('pointerdown', { clientX: x, clientY: y, button: 0, buttons: 1, bubbles: true, pointerId: 1 }));
    const gaps: number[] = [];
    const paints: number[] = [];
    await new Promise<void>((resolve) => {
      let last = performance.now();
      let n = 0;
      const step = (now: number): void => {
        gaps.push(now - last);
        last = now;
        paints.push(Number(el.dataset.paintMs));
        x -= 4;
        el.dispatchEvent(new PointerEvent('pointermove', { clientX: x, clientY: y, buttons: 1, bubbles: true, pointerId: 1 }));
        if (++n < count) requestAnimationFrame(step);
        else resolve();
      };
      requestAnimationFrame(step);
    });
    el.dispatchEvent(new PointerEvent('pointerup', { clientX: x, clientY: y, button: 0, bubbles: true, pointerId: 1 }));
    await new Promise((resolve) => requestAnimationFrame(resolve));
    const q = (values: number[], p: number): number => {
      const s = [...values].sort((a, b) => a - b);
      return Math.round(s[Math.floor(p * (s.length - 1))]! * 10) / 10;
    };
    const g = gaps.slice(2);
    return {
      frames: g.length,
      medianMs: q(g, 0.5),
      p95Ms: q(g, 0.95),
      maxMs: q(g, 1),
      over50Ms: g.filter((v) => v > 50).length,
      paintMedianMs: q(paints.slice(2), 0.5),
      paintP95Ms: q(paints.slice(2), 0.95),
      visibleBefore,
      visibleAfter: Number(el.dataset.visibleBars),
    };
  }, frames);
}

describe(`the dashboard with ${N.toLocaleString('en-US')} tasks`, () => {
  it('takes the job file through the loader and shows every task on the timeline and in the table', async () => {
    await page.goto(serve.url);
    await expect.poll(() => page.getByTestId('stream-state').textContent(), { timeout: 20_000 }).toBe('live');
    await page.getByRole('tab', { name: 'Job file' }).click();
    const text = JSON.stringify({ name: 'scale', tasks: Array.from({ length: N }, (_, i) => ({ id: `e${i}`, kind: 'demo.echo', value: i })) });
    const transfer = await page.evaluateHandle((body) => {
      const t = new DataTransfer();
      t.items.add(new File([body], 'scale.json', { type: 'application/json' }));
      return t;
    }, text);
    await page.getByTestId('job-drop-zone').dispatchEvent('drop', { dataTransfer: transfer });
    await expect.poll(() => page.getByTestId('job-file-summary').textContent(), { timeout: 30_000 }).toBe('scale.json · 100,000 tasks · valid');

    const stop = await recordFrames();
    const started = Date.now();
    await page.getByRole('button', { name: 'Run job' }).click();
    // The engine's work (admission, 100,000 runs) takes what the machine gives it, and so do the
    // bars that stream in after the job has ended (the host holds deltas back while a busy page
    // reads them slowly): each count is waited for while it moves.
    await waitForCount(doneCount, N, 'tasks done');
    const jobEnded = Date.now();
    await waitForCount(barCount, N, 'bars on the timeline');
    figures.allBarsShownAfterMs = Date.now() - started;
    figures.allBarsShownAfterJobEndMs = Date.now() - jobEnded;
    figures.framesWhileTasksStreamIn = await stop();
    await expect.poll(() => page.getByTestId('task-count').textContent(), SETTLED).toBe('100,000 of 100,000');
  }, 600_000);

  it('pans and zooms all 100,000 bars', async () => {
    await page.getByRole('button', { name: 'Fit all' }).click();
    await expect.poll(visibleBars, SETTLED).toBe(N);
    const panAll = await dragTimeline(150);
    figures.panningAllBars = panAll;
    // The drag moved the view: bars left it (the count is the last paint's, read once it has painted).
    await expect.poll(visibleBars, SETTLED).toBeLessThan(panAll.visibleBefore);

    const box = (await canvas().boundingBox())!;
    await page.mouse.move(box.x + box.width / 2, box.y + 40);
    for (let i = 0; i < 8; i++) await page.mouse.wheel(0, -200);
    await expect.poll(visibleBars, SETTLED).toBeLessThan(N / 2);
    figures.panningZoomedIn = await dragTimeline(150);
  }, 120_000);

  it('filters 100,000 tasks and opens one', async () => {
    await page.getByRole('searchbox').fill('e99999');
    await expect.poll(() => page.getByTestId('task-count').textContent(), SETTLED).toBe('1 of 100,000');
    await page.getByRole('row').filter({ has: page.getByRole('cell', { name: 'e99999', exact: true }) }).getByRole('cell', { name: 'demo.echo' }).click();
    const drawer = page.getByRole('complementary', { name: 'Task detail' });
    await expect.poll(() => drawer.getByTestId('detail-state').textContent(), SETTLED).toBe('succeeded');
    expect(await drawer.locator('pre.json').first().textContent()).toContain('"value": 99999');
    await drawer.getByRole('button', { name: 'Close task detail' }).click();
    await page.getByRole('searchbox').fill('');
  }, 60_000);

  it('records the renderer’s memory, and logged no console errors', async () => {
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('Performance.enable');
    const { metrics } = await cdp.send('Performance.getMetrics');
    const heap = metrics.find((m) => m.name === 'JSHeapUsedSize')?.value ?? 0;
    figures.rendererHeapMiB = Math.round((heap / 1048576) * 10) / 10;
    figures.domNodes = metrics.find((m) => m.name === 'Nodes')?.value;
    await mkdir(ARTIFACTS, { recursive: true });
    await writeFile(join(ARTIFACTS, 'dashboard-scale.json'), `${JSON.stringify(figures, null, 2)}\n`);
    console.log(`dashboard with ${N} tasks: ${JSON.stringify(figures)}`);
    expect(heap).toBeGreaterThan(0);
    expect(consoleErrors).toEqual([]);
  }, 60_000);
});
