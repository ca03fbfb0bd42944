import type { RemoteMachine, TelemetrySample } from '../../../contract/telemetry';
import { formatClock, formatDuration } from '../format';
import { STATE_COLORS } from '../state-colors';
import type { RingBuffer } from '../store/ring-buffer';
import { MAX_LOOP_ROWS, type TimelineBar, type TimelineIndex } from './timeline-index';
import { AXIS_HEIGHT, LABEL_WIDTH, laneShortLabel, ROW_HEIGHT, WAIT_HEIGHT, type LaneLayout, type MachineHeaderLayout } from './timeline-layout';
import { tickStep, type TimelineViewport } from './timeline-viewport';

/** A loop delay at least this long is marked on the loop lane as a stall. */
export const LOOP_STALL_MS = 100;
/** Bars at least this wide are drawn one by one with a gap; narrower ones merge per pixel. */
const SEPARATE_BAR_PX = 4;

/** The part of the 2D canvas context the painter uses. */
export type PaintTarget = Pick<
  CanvasRenderingContext2D,
  | 'fillStyle' | 'strokeStyle' | 'lineWidth' | 'font' | 'textBaseline' | 'textAlign' | 'globalAlpha'
  | 'fillRect' | 'strokeRect' | 'clearRect' | 'fillText' | 'beginPath' | 'moveTo' | 'lineTo' | 'stroke'
  | 'save' | 'restore' | 'rect' | 'clip'
>;

export interface TimelineFrame {
  width: number;
  height: number;
  view: TimelineViewport;
  now: number;
  layout: readonly LaneLayout[];
  /** Headers of remote machines, above their thread lanes. */
  headers: readonly MachineHeaderLayout[];
  index: TimelineIndex;
  telemetry: RingBuffer<TelemetrySample>;
  hovered: TimelineBar | null;
  selectedKey: string | null;
}

export interface PaintStats {
  /** Bars whose wait or run reached into the window. */
  visibleBars: number;
  /** Rectangles filled for bars (merged bars count once). */
  barRects: number;
  stalls: number;
}

const COLORS = {
  background: '#0b1220',
  laneEven: '#0f172a',
  laneOdd: '#111b30',
  grid: 'rgba(148,163,184,0.12)',
  axisText: '#94a3b8',
  label: '#cbd5e1',
  machineHeader: '#1e293b',
  retired: 'rgba(2,6,23,0.55)',
  wait: '#94a3b8',
  now: '#38bdf8',
  stall: 'rgba(239,68,68,0.28)',
  stallMark: '#f87171',
  hover: '#f8fafc',
  selected: '#facc15',
  barText: '#0b1220',
};

/** Scratch buffers reused across frames: a frame allocates nothing in proportion to the bars. */
let waitCounts = new Int32Array(0);
const pendingX0 = new Float64Array(MAX_LOOP_ROWS);
const pendingX1 = new Float64Array(MAX_LOOP_ROWS);
const pendingColor: (string | null)[] = new Array<string | null>(MAX_LOOP_ROWS).fill(null);

/** Draws one frame of the timeline in a single pass over the visible bars of each lane. */
export function paintTimeline(ctx: PaintTarget, frame: TimelineFrame): PaintStats {
  const { width, height, view, now, layout } = frame;
  const plotWidth = Math.max(0, width - LABEL_WIDTH);
  const t0 = view.t0;
  const t1 = view.t0 + plotWidth * view.msPerPx;
  const stats: PaintStats = { visibleBars: 0, barRects: 0, stalls: 0 };

  ctx.fillStyle = COLORS.background;
  ctx.fillRect(0, 0, width, height);
  layout.forEach((lane, i) => {
    ctx.fillStyle = i % 2 === 0 ? COLORS.laneEven : COLORS.laneOdd;
    ctx.fillRect(0, lane.top, width, lane.height);
  });
  paintAxis(ctx, view, plotWidth, height);

  ctx.save();
  ctx.beginPath();
  ctx.rect(LABEL_WIDTH, AXIS_HEIGHT, plotWidth, height - AXIS_HEIGHT);
  ctx.clip();
  if (waitCounts.length < plotWidth + 2) waitCounts = new Int32Array(Math.ceil(plotWidth) + 64);
  for (const lane of layout) paintLane(ctx, frame, lane, t0, t1, plotWidth, stats);
  const loopLane = layout.find((lane) => lane.lane.kind === 'loop');
  if (loopLane) stats.stalls = paintStalls(ctx, frame, loopLane, t0, t1);
  paintHighlights(ctx, frame);
  const nowX = LABEL_WIDTH + (now - t0) / view.msPerPx;
  if (nowX >= LABEL_WIDTH && nowX <= width) {
    ctx.fillStyle = COLORS.now;
    ctx.fillRect(Math.round(nowX), AXIS_HEIGHT - 4, 1, height - AXIS_HEIGHT + 4);
  }
  ctx.restore();

  paintLabels(ctx, layout);
  paintMachineHeaders(ctx, frame);
  return stats;
}

function paintLane(
  ctx: PaintTarget,
  frame: TimelineFrame,
  layout: LaneLayout,
  t0: number,
  t1: number,
  plotWidth: number,
  stats: PaintStats,
): void {
  const { view, now, index } = frame;
  const mpp = view.msPerPx;
  const lane = layout.lane;
  const rows = lane.rowCount;
  const barHeight = ROW_HEIGHT - 3;
  const widthPx = Math.ceil(plotWidth);
  waitCounts.fill(0, 0, widthPx + 2);
  for (let r = 0; r < rows; r++) pendingColor[r] = null;
  let currentFill = '';

  const flush = (row: number): void => {
    const color = pendingColor[row];
    if (color === null || color === undefined) return;
    if (color !== currentFill) ctx.fillStyle = currentFill = color;
    ctx.fillRect(LABEL_WIDTH + pendingX0[row]!, layout.rowsTop + row * ROW_HEIGHT + 1, pendingX1[row]! - pendingX0[row]!, barHeight);
    stats.barRects++;
    pendingColor[row] = null;
  };

  stats.visibleBars += index.forEachIn(lane, t0, t1, (bar) => {
    // The queue wait: counted per pixel column, drawn below as one strip.
    if (bar.waitStart < bar.start) {
      const w0 = clampPx(Math.floor((bar.waitStart - t0) / mpp), widthPx);
      const w1 = clampPx(Math.floor((bar.start - t0) / mpp), widthPx);
      if (w1 > w0) {
        waitCounts[w0]!++;
        waitCounts[w1]!--;
      }
    }
    const end = bar.end ?? now;
    if (end < t0 || bar.start > t1) return;
    const x0 = (bar.start - t0) / mpp;
    const x1 = (end - t0) / mpp;
    const px0 = Math.max(-2, Math.floor(x0));
    const px1 = Math.min(widthPx + 2, Math.max(px0 + 1, Math.ceil(x1)));
    const row = bar.row < rows ? bar.row : 0;
    const color = STATE_COLORS[bar.state];
    if (x1 - x0 >= SEPARATE_BAR_PX) {
      flush(row);
      if (color !== currentFill) ctx.fillStyle = currentFill = color;
      const y = layout.rowsTop + row * ROW_HEIGHT + 1;
      ctx.fillRect(LABEL_WIDTH + px0, y, Math.max(1, px1 - px0 - 1), barHeight);
      stats.barRects++;
      if (px1 - px0 > 60) {
        paintBarText(ctx, bar, LABEL_WIDTH + Math.max(px0, 0) + 4, y + barHeight / 2, Math.min(px1, widthPx) - Math.max(px0, 0) - 8);
        ctx.fillStyle = currentFill;
      }
      return;
    }
    // Narrow bars of one colour that touch share one rectangle: the cost follows the pixels.
    if (pendingColor[row] === color && px0 <= pendingX1[row]!) {
      if (px1 > pendingX1[row]!) pendingX1[row] = px1;
      return;
    }
    flush(row);
    pendingColor[row] = color;
    pendingX0[row] = px0;
    pendingX1[row] = px1;
  });
  for (let r = 0; r < rows; r++) flush(r);

  // Waiting tasks per pixel column, darker where more of them waited.
  let count = 0;
  let runStart = 0;
  let runLevel = 0;
  for (let x = 0; x <= widthPx; x++) {
    count += waitCounts[x]!;
    const level = x === widthPx ? -1 : waitLevel(count);
    if (level === runLevel) continue;
    if (runLevel > 0) {
      ctx.globalAlpha = 0.2 + 0.2 * runLevel;
      ctx.fillStyle = COLORS.wait;
      ctx.fillRect(LABEL_WIDTH + runStart, layout.waitTop, x - runStart, WAIT_HEIGHT);
    }
    runStart = x;
    runLevel = level;
  }
  ctx.globalAlpha = 1;

  if (lane.retiredAt !== null && lane.retiredAt < t1) {
    const rx = Math.max(0, (lane.retiredAt - t0) / mpp);
    ctx.fillStyle = COLORS.retired;
    ctx.fillRect(LABEL_WIDTH + rx, layout.top, plotWidth - rx, layout.height);
  }
}

function waitLevel(count: number): number {
  if (count <= 0) return 0;
  if (count === 1) return 1;
  if (count <= 4) return 2;
  if (count <= 16) return 3;
  return 4;
}

function clampPx(x: number, widthPx: number): number {
  return x < 0 ? 0 : x > widthPx ? widthPx : x;
}

function paintBarText(ctx: PaintTarget, bar: TimelineBar, x: number, y: number, room: number): void {
  const id = bar.taskKey.slice(bar.taskKey.indexOf(':') + 1);
  const chars = Math.floor(room / 6.5);
  if (chars < 3) return;
  ctx.fillStyle = COLORS.barText;
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  ctx.fillText(id.length > chars ? `${id.slice(0, chars - 1)}…` : id, x, y);
}

/** Loop-delay stalls as red bands on the loop lane, so a stall lines up with its cause. */
function paintStalls(ctx: PaintTarget, frame: TimelineFrame, layout: LaneLayout, t0: number, t1: number): number {
  const mpp = frame.view.msPerPx;
  let drawn = 0;
  const samples = frame.telemetry;
  for (let i = 0; i < samples.length; i++) {
    const sample = samples.at(i)!;
    const ms = sample.loop.delayMaxMs;
    if (ms < LOOP_STALL_MS) continue;
    const from = sample.at - ms;
    if (sample.at < t0 || from > t1) continue;
    const x0 = LABEL_WIDTH + (from - t0) / mpp;
    const x1 = LABEL_WIDTH + (sample.at - t0) / mpp;
    ctx.fillStyle = COLORS.stall;
    ctx.fillRect(x0, layout.top, Math.max(2, x1 - x0), layout.height);
    ctx.fillStyle = COLORS.stallMark;
    ctx.fillRect(x0, layout.top, Math.max(2, x1 - x0), 2);
    if (x1 - x0 > 70) {
      ctx.font = '11px system-ui, sans-serif';
      ctx.textBaseline = 'top';
      ctx.textAlign = 'left';
      ctx.fillText(`stall ${formatDuration(ms)}`, x0 + 4, layout.top + 4);
    }
    drawn++;
  }
  return drawn;
}

function paintHighlights(ctx: PaintTarget, frame: TimelineFrame): void {
  const { index, layout, view, now } = frame;
  const outline = (bar: TimelineBar, color: string, withWait: boolean): void => {
    const lane = layout.find((l) => l.lane.id === bar.laneId);
    if (!lane) return;
    const x0 = LABEL_WIDTH + (bar.start - view.t0) / view.msPerPx;
    const x1 = LABEL_WIDTH + ((bar.end ?? now) - view.t0) / view.msPerPx;
    const y = lane.rowsTop + bar.row * ROW_HEIGHT;
    ctx.strokeStyle = color;
    ctx.lineWidth = 1.5;
    ctx.strokeRect(x0 - 1, y, Math.max(2, x1 - x0) + 1, ROW_HEIGHT - 1);
    if (withWait && bar.waitStart < bar.start) {
      const wx = LABEL_WIDTH + (bar.waitStart - view.t0) / view.msPerPx;
      const wy = lane.waitTop + WAIT_HEIGHT / 2;
      ctx.beginPath();
      ctx.moveTo(wx, wy - 3);
      ctx.lineTo(wx, wy + 3);
      ctx.moveTo(wx, wy);
      ctx.lineTo(x0, wy);
      ctx.lineTo(x0, y + ROW_HEIGHT / 2);
      ctx.stroke();
    }
  };
  if (frame.selectedKey) for (const bar of index.barsOf(frame.selectedKey)) outline(bar, COLORS.selected, false);
  if (frame.hovered) outline(frame.hovered, COLORS.hover, true);
}

function paintAxis(ctx: PaintTarget, view: TimelineViewport, plotWidth: number, height: number): void {
  const step = tickStep(view.msPerPx);
  const first = Math.ceil(view.t0 / step) * step;
  const last = view.t0 + plotWidth * view.msPerPx;
  ctx.font = '11px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'center';
  for (let t = first; t <= last; t += step) {
    const x = Math.round(LABEL_WIDTH + (t - view.t0) / view.msPerPx);
    ctx.fillStyle = COLORS.grid;
    ctx.fillRect(x, AXIS_HEIGHT - 4, 1, height - AXIS_HEIGHT + 4);
    ctx.fillStyle = COLORS.axisText;
    ctx.fillText(formatClock(t, step < 1000), x, AXIS_HEIGHT / 2);
  }
}

function paintLabels(ctx: PaintTarget, layout: readonly LaneLayout[]): void {
  ctx.font = '12px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  layout.forEach((lane, i) => {
    ctx.fillStyle = i % 2 === 0 ? COLORS.laneEven : COLORS.laneOdd;
    ctx.fillRect(0, lane.top, LABEL_WIDTH, lane.height);
    ctx.fillStyle = lane.lane.retiredAt === null ? COLORS.label : COLORS.axisText;
    const label = laneShortLabel(lane.lane) + (lane.lane.retiredAt === null ? '' : ' · ended');
    // A remote thread's label is indented under its machine's header.
    ctx.fillText(label, lane.lane.remote ? 16 : 8, lane.top + lane.height / 2);
  });
}

/** Each remote machine's band: its name, host and state as the latest sample has them. */
function paintMachineHeaders(ctx: PaintTarget, frame: TimelineFrame): void {
  if (frame.headers.length === 0) return;
  const machines = frame.telemetry.last()?.machines ?? [];
  ctx.font = '12px system-ui, sans-serif';
  ctx.textBaseline = 'middle';
  ctx.textAlign = 'left';
  for (const header of frame.headers) {
    ctx.fillStyle = COLORS.machineHeader;
    ctx.fillRect(0, header.top, frame.width, header.height);
    ctx.fillStyle = COLORS.label;
    ctx.fillText(machineHeaderText(header.machine, machines.find((m) => m.name === header.machine)), 8, header.top + header.height / 2);
  }
}

/** `build-07 · build-07.lan · ready`; a machine the engine no longer lists is `gone`. */
export function machineHeaderText(name: string, machine: RemoteMachine | undefined): string {
  return machine ? `${name} · ${machine.host} · ${machine.state}` : `${name} · gone`;
}
