import { performance } from 'node:perf_hooks';

/**
 * The time a scheduler lives by. The wall clock says when a due time has come; the monotonic
 * one does not move while the machine sleeps (or when someone sets the clock), so the gap
 * between the two is how a scheduler notices a sleep or a clock change. Tests pass a fake one.
 */
export interface SchedulerClock {
  /** Wall-clock time, ms since the epoch. */
  now(): number;
  /** Milliseconds on a clock that only moves forward, at the pace of real time. */
  monotonic(): number;
  setTimer(run: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
}

export const systemClock: SchedulerClock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimer: (run, ms) => {
    const timer = setTimeout(run, ms);
    // A host stays up for its server or window, never for its schedules' timer.
    timer.unref();
    return timer;
  },
  clearTimer: (timer) => clearTimeout(timer as NodeJS.Timeout),
};
