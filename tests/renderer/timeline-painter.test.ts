import { describe, expect, it } from 'vitest';
import type { TelemetrySample } from '../../contract/telemetry';
import { STATE_COLORS } from '../../renderer/src/state-colors';
import { RingBuffer } from '../../renderer/src/store/ring-buffer';
import { TimelineIndex } from '../../renderer/src/timeline/timeline-index';
import { LABEL_WIDTH, layoutLanes } from '../../renderer/src/timeline/timeline-layout';
import { LOOP_STALL_MS, paintTimeline, type PaintTarget, type TimelineFrame } from '../../renderer/src/timeline/timeline-painter';
import type { TimelineViewport } from '../../renderer/src/timeline/timeline-viewport';
import { attempt, sample, T0 } from './records';

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
  fill: string;
  alpha: number;
}

/** Records what the painter fills, in the order it fills it (a 2D context in words). */
class RecordingContext implements PaintTarget {
  fillStyle: string | CanvasGradient | CanvasPattern = '#000';
  strokeStyle: string | CanvasGradient | CanvasPattern = '#000';
  lineWidth = 1;
  font = '';
  textBaseline: CanvasTextBaseline = 'alphabetic';
  textAlign: CanvasTextAlign = 'start';
  globalAlpha = 1;
  readonly rects: Rect[] = [];
  readonly texts: string[] = [];
  fillRect(x: number, y: number, w: number, h: number): void {
    this.rects.push({ x, y, w, h, fill: String(this.fillStyle), alpha: this.globalAlpha });
  }
  strokeRect(): void {}
  clearRect(): void {}
  fillText(text: string): void {
    this.texts.push(text);
  }
  beginPath(): void {}
  moveTo(): void {}
  lineTo(): void {}
  stroke(): void {}
  save(): void {}
  restore(): void {}
  rect(): void {}
  clip(): void {}
}

function frame(index: TimelineIndex, view: TimelineViewport, telemetry = new RingBuffer<TelemetrySample>(10), width = LABEL_WIDTH + 1000): TimelineFrame {
  const lanes = index.lanesIn(view.t0, view.t0 + (width - LABEL_WIDTH) * view.msPerPx);
  const laid = layoutLanes(lanes);
  return { width, height: laid.height, view, now: T0 + 100_000, layout: laid.lanes, headers: laid.headers, index, telemetry, hovered: null, selectedKey: null };
}

const done = { queuedAt: T0, state: 'succeeded' as const };
const barRects = (ctx: RecordingContext, color: string) => ctx.rects.filter((r) => r.fill === color && r.alpha === 1 && r.x >= LABEL_WIDTH - 2);

describe('paintTimeline', () => {
  it('draws wide bars one by one, where their times fall, in their state colour', () => {
    const index = new TimelineIndex();
    index.setAttempts('j:a', [attempt(1, T0 + 100, T0 + 300, '1', 'succeeded')], done);
    index.setAttempts('j:b', [attempt(1, T0 + 400, T0 + 500, '1', 'failed')], done);
    const ctx = new RecordingContext();
    const stats = paintTimeline(ctx, frame(index, { t0: T0, msPerPx: 1, follow: false }));
    expect(stats).toMatchObject({ visibleBars: 2, barRects: 2 });
    const [green] = barRects(ctx, STATE_COLORS.succeeded);
    const [red] = barRects(ctx, STATE_COLORS.failed);
    expect(green).toMatchObject({ x: LABEL_WIDTH + 100, w: 199 });
    expect(red).toMatchObject({ x: LABEL_WIDTH + 400, w: 99 });
    expect(ctx.texts).toContain('a');
  });

  it('merges bars narrower than a few pixels, so 100,000 bars cost about one rectangle per pixel', () => {
    const index = new TimelineIndex();
    for (let i = 0; i < 100_000; i++) index.setAttempts(`j:t${i}`, [attempt(1, T0 + i * 10, T0 + i * 10 + 9, String(1 + (i % 2)))], done);
    const ctx = new RecordingContext();
    // The whole run (1,000 s) across 1,000 px: 100 bars per pixel in each lane.
    const stats = paintTimeline(ctx, frame(index, { t0: T0, msPerPx: 1000, follow: false }));
    expect(stats.visibleBars).toBe(100_000);
    expect(stats.barRects).toBeLessThanOrEqual(2 * 1002);
    expect(stats.barRects).toBeGreaterThan(0);
  });

  it('culls: bars outside the window are neither visited nor drawn', () => {
    const index = new TimelineIndex();
    for (let i = 0; i < 1000; i++) index.setAttempts(`j:t${i}`, [attempt(1, T0 + i * 100, T0 + i * 100 + 50, '1')], { queuedAt: T0 + i * 100, state: 'succeeded' });
    const ctx = new RecordingContext();
    const stats = paintTimeline(ctx, frame(index, { t0: T0 + 50_000, msPerPx: 1, follow: false }));
    // 1,000 ms of window: bars 500..510 (the 11th starts right at the edge).
    expect(stats.visibleBars).toBe(11);
    expect(stats.barRects).toBe(11);
  });

  it('draws queue waits in the strip above the bars, darker where more tasks waited', () => {
    const index = new TimelineIndex();
    for (let i = 0; i < 5; i++) index.setAttempts(`j:t${i}`, [attempt(1, T0 + 500 + i * 100, T0 + 560 + i * 100, '1')], { queuedAt: T0, state: 'succeeded' });
    const ctx = new RecordingContext();
    paintTimeline(ctx, frame(index, { t0: T0, msPerPx: 1, follow: false }));
    const waits = ctx.rects.filter((r) => r.fill === '#94a3b8');
    expect(waits.length).toBeGreaterThan(1);
    expect(waits[0]).toMatchObject({ x: LABEL_WIDTH });
    // Five tasks waited from T0 to T0+500, then one fewer after each start.
    const alphas = waits.map((w) => w.alpha);
    expect(alphas[0]).toBeGreaterThan(alphas.at(-1)!);
  });

  it('marks loop stalls on the loop lane and counts them', () => {
    const index = new TimelineIndex();
    const telemetry = new RingBuffer<TelemetrySample>(10);
    telemetry.push(sample(T0 + 400, { loop: { delayP50Ms: 10, delayP99Ms: 300, delayMaxMs: 300, utilization: 1 } }));
    telemetry.push(sample(T0 + 900, { loop: { delayP50Ms: 10, delayP99Ms: 20, delayMaxMs: LOOP_STALL_MS - 1, utilization: 0.1 } }));
    const ctx = new RecordingContext();
    const stats = paintTimeline(ctx, frame(index, { t0: T0, msPerPx: 1, follow: false }, telemetry));
    expect(stats.stalls).toBe(1);
    const band = ctx.rects.find((r) => r.fill === 'rgba(239,68,68,0.28)');
    expect(band).toMatchObject({ x: LABEL_WIDTH + 100, w: 300 });
    expect(ctx.texts).toContain('stall 300 ms');
  });

  it('draws a live bar up to now and the now line where now is', () => {
    const index = new TimelineIndex();
    index.setAttempts('j:a', [attempt(1, T0 + 99_500, null, '1')], { queuedAt: T0 + 99_000, state: 'running' });
    const ctx = new RecordingContext();
    const f = frame(index, { t0: T0 + 99_000, msPerPx: 1, follow: true });
    paintTimeline(ctx, f);
    const [bar] = barRects(ctx, STATE_COLORS.running);
    expect(bar).toMatchObject({ x: LABEL_WIDTH + 500, w: 499 });
    expect(ctx.rects.some((r) => r.fill === '#38bdf8' && r.x === LABEL_WIDTH + 1000 && r.w === 1)).toBe(true);
  });
});
