/** Holding the dashboard's timeline still, so that what a test reads off its canvas stays where it was. */
import type { Locator, Page } from 'playwright-core';
import { expect } from 'vitest';

/**
 * Stops the timeline following live time with a turn of the wheel over `at` (it zooms in there),
 * and resolves once the canvas shows the view that then stays. The wheel changes the view at
 * once but the canvas is repainted by the page's animation-frame loop: read before that paint,
 * the canvas would still show bars where the view no longer has them.
 */
export async function holdTimelineView(page: Page, canvas: Locator, at: { x: number; y: number }): Promise<void> {
  await canvas.hover({ position: at });
  await page.mouse.wheel(0, -120);
  await expect.poll(() => page.getByRole('button', { name: 'Live', exact: true }).getAttribute('aria-pressed'), { timeout: 10_000 }).toBe('false');
  // The drawing loop's frame comes before one asked for now: two frames on, the held view is painted.
  await page.evaluate(() => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve()))));
}
