import { useCallback, useEffect, useRef, useState } from 'react';
import type { DashboardStore } from '../store/dashboard-store';
import type { TimelineBar } from './timeline-index';
import { LABEL_WIDTH, laneAtY, layoutLanes, type LaneLayout } from './timeline-layout';
import { paintTimeline } from './timeline-painter';
import { fitRange, followNow, panBy, timeAtX, zoomAround, type TimelineViewport } from './timeline-viewport';
import { TimelineTooltip } from './TimelineTooltip';

export interface TimelineProps {
  store: DashboardStore;
  selectedKey: string | null;
  onOpenTask: (key: string) => void;
  /** The clock; the engine's timestamps are wall-clock milliseconds. */
  now?: () => number;
}

const DEFAULT_MS_PER_PX = 20;
const DRAG_THRESHOLD_PX = 3;
const HOVER_SLACK_PX = 3;

interface Hover {
  bar: TimelineBar;
  x: number;
  y: number;
  /** The canvas's width then, to put the tooltip on the side with room. */
  width: number;
}

/**
 * The live timeline: one lane for the event loop, one per pool thread and one per thread of a
 * remote machine (under its machine's header), a bar per attempt.
 * Drawn on a canvas by its own animation-frame loop; React only renders the chrome around it.
 */
export function Timeline({ store, selectedKey, onOpenTask, now = Date.now }: TimelineProps) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const wrapRef = useRef<HTMLDivElement>(null);
  const view = useRef<TimelineViewport>({ t0: now() - 60_000, msPerPx: DEFAULT_MS_PER_PX, follow: true });
  const size = useRef({ width: 0, height: 0 });
  const layout = useRef<LaneLayout[]>([]);
  const dirty = useRef(true);
  const hoverRef = useRef<Hover | null>(null);
  const selectedRef = useRef(selectedKey);
  const [hover, setHover] = useState<Hover | null>(null);
  const [following, setFollowing] = useState(true);

  selectedRef.current = selectedKey;
  useEffect(() => {
    dirty.current = true;
  }, [selectedKey]);

  const setView = useCallback((next: TimelineViewport) => {
    view.current = next;
    dirty.current = true;
    setFollowing(next.follow);
  }, []);

  // The drawing loop: repaints when data, view or size changed, or when live time moved a pixel.
  useEffect(() => {
    const canvas = canvasRef.current!;
    const ctx = canvas.getContext('2d');
    let frame = 0;
    let drawnVersion = -1;
    let drawnAt = 0;
    let stop = false;
    const draw = (): void => {
      if (stop) return;
      frame = requestAnimationFrame(draw);
      const t = now();
      const plotWidth = Math.max(1, size.current.width - LABEL_WIDTH);
      const v = view.current;
      const timeMoved = v.follow && (t - drawnAt) / v.msPerPx >= 1;
      if (!dirty.current && drawnVersion === store.timeline.version && !timeMoved) return;
      // The draw's whole cost, lane layout and canvas resize included, is what a frame pays.
      const drawStart = performance.now();
      if (v.follow) view.current = followNow(v, t, plotWidth);
      const current = view.current;
      const lanes = store.timeline.lanesIn(current.t0, current.t0 + plotWidth * current.msPerPx);
      const laid = layoutLanes(lanes);
      layout.current = laid.lanes;
      resizeCanvas(canvas, size.current.width, laid.height);
      size.current.height = laid.height;
      dirty.current = false;
      drawnVersion = store.timeline.version;
      drawnAt = t;
      canvas.dataset.barCount = String(store.timeline.size);
      canvas.dataset.laneCount = String(lanes.length);
      if (!ctx || size.current.width === 0) return;
      const dpr = window.devicePixelRatio || 1;
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      const stats = paintTimeline(ctx, {
        width: size.current.width,
        height: laid.height,
        view: current,
        now: t,
        layout: laid.lanes,
        headers: laid.headers,
        index: store.timeline,
        telemetry: store.telemetry,
        hovered: hoverRef.current?.bar ?? null,
        selectedKey: selectedRef.current,
      });
      // For measurements: what the last frame drew and how long the whole draw took.
      canvas.dataset.paintMs = (performance.now() - drawStart).toFixed(2);
      canvas.dataset.visibleBars = String(stats.visibleBars);
      canvas.dataset.stallCount = String(stats.stalls);
    };
    frame = requestAnimationFrame(draw);
    return () => {
      stop = true;
      cancelAnimationFrame(frame);
    };
  }, [store, now]);

  // Width follows the page; height follows the lanes.
  useEffect(() => {
    const wrap = wrapRef.current!;
    const measure = (): void => {
      const width = Math.floor(wrap.clientWidth);
      if (width !== size.current.width) {
        size.current.width = width;
        dirty.current = true;
      }
    };
    measure();
    if (typeof ResizeObserver === 'undefined') return;
    const observer = new ResizeObserver(measure);
    observer.observe(wrap);
    return () => observer.disconnect();
  }, []);

  // Wheel zoom must cancel the page scroll, which React's passive wheel listener cannot.
  useEffect(() => {
    const canvas = canvasRef.current!;
    const onWheel = (event: WheelEvent): void => {
      const x = event.offsetX - LABEL_WIDTH;
      if (x < 0) return;
      event.preventDefault();
      if (Math.abs(event.deltaX) > Math.abs(event.deltaY)) setView(panBy(view.current, -event.deltaX));
      else setView(zoomAround(view.current, x, Math.exp(event.deltaY * 0.0015)));
    };
    canvas.addEventListener('wheel', onWheel, { passive: false });
    return () => canvas.removeEventListener('wheel', onWheel);
  }, [setView]);

  const drag = useRef<{ x: number; startX: number; moved: boolean } | null>(null);

  const hitTest = (x: number, y: number): TimelineBar | null => {
    const plotX = x - LABEL_WIDTH;
    if (plotX < 0) return null;
    const at = laneAtY(layout.current, y);
    if (!at || at.row < 0) return null;
    const v = view.current;
    return store.timeline.barAt(at.lane.lane.id, at.row, timeAtX(v, plotX), HOVER_SLACK_PX * v.msPerPx, now());
  };

  const updateHover = (next: Hover | null): void => {
    if (next?.bar !== hoverRef.current?.bar) dirty.current = true;
    hoverRef.current = next;
    setHover(next);
  };

  const onPointerDown = (event: React.PointerEvent<HTMLCanvasElement>): void => {
    if (event.button !== 0) return;
    event.currentTarget.setPointerCapture?.(event.pointerId);
    drag.current = { x: event.clientX, startX: event.clientX, moved: false };
  };

  const onPointerMove = (event: React.PointerEvent<HTMLCanvasElement>): void => {
    const d = drag.current;
    if (d) {
      if (Math.abs(event.clientX - d.startX) >= DRAG_THRESHOLD_PX) d.moved = true;
      if (d.moved) {
        setView(panBy(view.current, event.clientX - d.x));
        d.x = event.clientX;
        updateHover(null);
        return;
      }
    }
    const { offsetX, offsetY } = pointerOffset(event);
    const bar = hitTest(offsetX, offsetY);
    updateHover(bar ? { bar, x: offsetX, y: offsetY, width: size.current.width } : null);
  };

  const onPointerUp = (event: React.PointerEvent<HTMLCanvasElement>): void => {
    const d = drag.current;
    drag.current = null;
    if (!d || d.moved) return;
    const { offsetX, offsetY } = pointerOffset(event);
    const bar = hitTest(offsetX, offsetY);
    if (bar) onOpenTask(bar.taskKey);
  };

  const onKeyDown = (event: React.KeyboardEvent<HTMLCanvasElement>): void => {
    const plotWidth = Math.max(1, size.current.width - LABEL_WIDTH);
    const keys: Record<string, () => TimelineViewport> = {
      ArrowLeft: () => panBy(view.current, plotWidth / 8),
      ArrowRight: () => panBy(view.current, -plotWidth / 8),
      '+': () => zoomAround(view.current, plotWidth / 2, 1 / 1.5),
      '=': () => zoomAround(view.current, plotWidth / 2, 1 / 1.5),
      '-': () => zoomAround(view.current, plotWidth / 2, 1.5),
    };
    const action = keys[event.key];
    if (!action) return;
    event.preventDefault();
    setView(action());
  };

  const fitAll = (): void => {
    const range = barRange(store);
    if (!range) return;
    setView(fitRange(range[0], range[1], Math.max(1, size.current.width - LABEL_WIDTH)));
  };

  return (
    <section className="panel timeline-panel" aria-label="Timeline">
      <header className="panel-header">
        <h2>Timeline</h2>
        <span className="hint">wheel: zoom · drag: pan · click a bar: open the task</span>
        <div className="toolbar">
          <button type="button" onClick={fitAll}>
            Fit all
          </button>
          <button
            type="button"
            className={following ? 'live-button active' : 'live-button'}
            aria-pressed={following}
            onClick={() => setView(followNow(view.current, now(), Math.max(1, size.current.width - LABEL_WIDTH)))}
          >
            Live
          </button>
        </div>
      </header>
      <div className="timeline-canvas-wrap" ref={wrapRef}>
        <canvas
          ref={canvasRef}
          className="timeline-canvas"
          data-testid="timeline-canvas"
          tabIndex={0}
          aria-label="Task timeline: arrow keys pan, plus and minus zoom"
          onPointerDown={onPointerDown}
          onPointerMove={onPointerMove}
          onPointerUp={onPointerUp}
          onPointerLeave={() => drag.current === null && updateHover(null)}
          onKeyDown={onKeyDown}
        />
        {hover && <TimelineTooltip store={store} bar={hover.bar} x={hover.x} y={hover.y} width={hover.width} now={now()} />}
      </div>
    </section>
  );
}

function resizeCanvas(canvas: HTMLCanvasElement, width: number, height: number): void {
  const dpr = typeof window === 'undefined' ? 1 : window.devicePixelRatio || 1;
  const w = Math.round(width * dpr);
  const h = Math.round(height * dpr);
  if (canvas.width !== w) canvas.width = w;
  if (canvas.height !== h) canvas.height = h;
  const styleHeight = `${height}px`;
  if (canvas.style.height !== styleHeight) canvas.style.height = styleHeight;
}

function pointerOffset(event: React.PointerEvent<HTMLCanvasElement>): { offsetX: number; offsetY: number } {
  const rect = event.currentTarget.getBoundingClientRect();
  return { offsetX: event.clientX - rect.left, offsetY: event.clientY - rect.top };
}

/** The earliest wait and the latest end over all bars. */
function barRange(store: DashboardStore): [number, number] | null {
  let from = Number.POSITIVE_INFINITY;
  let to = Number.NEGATIVE_INFINITY;
  const now = Date.now();
  for (const lane of store.timeline.lanes) {
    const first = lane.bars[0];
    if (first) from = Math.min(from, first.waitStart);
    to = Math.max(to, lane.lastEnd);
    if (lane.live.size > 0) to = Math.max(to, now);
  }
  return Number.isFinite(from) && Number.isFinite(to) ? [from, to] : null;
}
