/** Which stretch of time the timeline shows, and how it moves under the user's hand. */
export interface TimelineViewport {
  /** The time at the left edge of the plot, epoch ms. */
  t0: number;
  msPerPx: number;
  /** Following live time: the right edge stays just past "now". */
  follow: boolean;
}

export const MIN_MS_PER_PX = 0.01;
export const MAX_MS_PER_PX = 60 * 60 * 1000 / 100;
/** Share of the plot kept free to the right of "now" while following. */
export const LIVE_MARGIN = 0.08;

export function clampScale(msPerPx: number): number {
  return Math.min(MAX_MS_PER_PX, Math.max(MIN_MS_PER_PX, msPerPx));
}

export function followNow(view: TimelineViewport, now: number, plotWidth: number): TimelineViewport {
  return { ...view, follow: true, t0: now - plotWidth * (1 - LIVE_MARGIN) * view.msPerPx };
}

/** Zooms by `factor` (>1 zooms out) keeping the time under `x` where it is. Leaves live mode. */
export function zoomAround(view: TimelineViewport, x: number, factor: number): TimelineViewport {
  const at = view.t0 + x * view.msPerPx;
  const msPerPx = clampScale(view.msPerPx * factor);
  return { t0: at - x * msPerPx, msPerPx, follow: false };
}

/** Moves the content `dx` pixels to the right (earlier times come into view). Leaves live mode. */
export function panBy(view: TimelineViewport, dx: number): TimelineViewport {
  return { t0: view.t0 - dx * view.msPerPx, msPerPx: view.msPerPx, follow: false };
}

/** Shows [from, to] across the plot. */
export function fitRange(from: number, to: number, plotWidth: number): TimelineViewport {
  const span = Math.max(to - from, 1);
  const msPerPx = clampScale((span * 1.04) / Math.max(plotWidth, 1));
  return { t0: from - span * 0.02, msPerPx, follow: false };
}

export function timeAtX(view: TimelineViewport, x: number): number {
  return view.t0 + x * view.msPerPx;
}

export function xOfTime(view: TimelineViewport, t: number): number {
  return (t - view.t0) / view.msPerPx;
}

const SECOND = 1000;
const MINUTE = 60 * SECOND;
/** Tick spacings a person reads easily: 1-2-5 below a second, then clock-like steps. */
const NICE_STEPS = [
  0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500,
  SECOND, 2 * SECOND, 5 * SECOND, 10 * SECOND, 15 * SECOND, 30 * SECOND,
  MINUTE, 2 * MINUTE, 5 * MINUTE, 10 * MINUTE, 15 * MINUTE, 30 * MINUTE, 60 * MINUTE,
];

/** A tick spacing in ms that puts labels at least `minPx` apart. */
export function tickStep(msPerPx: number, minPx = 90): number {
  const target = msPerPx * minPx;
  return NICE_STEPS.find((step) => step >= target) ?? 60 * MINUTE * Math.ceil(target / (60 * MINUTE));
}
