/**
 * The time the process ran, as distinct from the time that passed: a process stopped (Ctrl-Z,
 * SIGSTOP) or a machine asleep whose monotonic clock counts the sleep lets both clocks run on
 * while nothing of Threadline runs. A task's timeout and grace, the memory watch's wait for an
 * ended thread and the silence of a remote worker count only the time the process ran.
 */
import { performance } from 'node:perf_hooks';

/**
 * A wait that ends later than this past its time means the loop did not turn meanwhile: the
 * process did not run. A main thread held up that long is counted the same way; the engine keeps
 * its loop free well below that.
 */
const NOT_RUNNING_AFTER_MS = 1000;

/** Of a wait set for `plannedMs` that took `waitedMs`, how long the process ran. */
export function ranDuring(waitedMs: number, plannedMs: number): number {
  return waitedMs - plannedMs > NOT_RUNNING_AFTER_MS ? plannedMs : waitedMs;
}

/** A timer waits in steps of at most this (one set past 2^31 - 1 ms would fire at once). */
const STEP_MS = 1000;

/**
 * Calls `done` after `ms` of the process running. Each step's timer is handed to `keep`, so that
 * the caller can clear the latest.
 */
export function afterRunningTime(ms: number, done: () => void, keep: (timer: NodeJS.Timeout) => void): void {
  const step = Math.min(ms, STEP_MS);
  const from = performance.now();
  keep(
    setTimeout(() => {
      const left = ms - ranDuring(performance.now() - from, step);
      if (left > 0) afterRunningTime(left, done, keep);
      else done();
    }, step),
  );
}

/** How often a clock looks at the time while nothing else reads it. */
const TICK_MS = 250;

/**
 * Milliseconds the process ran, from the clock's start: a stretch in which its loop did not turn
 * counts as one tick. Read on demand, it is right even in the first timer to fire after a wake,
 * before its own tick or any I/O that waited meanwhile: on Linux a stopped process's `epoll_wait`
 * ends with EINTR, so the timers due run before the sockets are read.
 */
export class RunningClock {
  private ran = 0;
  /** `ran` when the loop last turned again after it had not. */
  private wokeAt = 0;
  private last = performance.now();
  private readonly timer: NodeJS.Timeout;

  constructor() {
    this.timer = setInterval(() => this.now(), TICK_MS);
    this.timer.unref();
  }

  now(): number {
    const at = performance.now();
    const gap = at - this.last;
    this.last = at;
    const ran = ranDuring(gap, TICK_MS);
    this.ran += ran;
    if (ran < gap) this.wokeAt = this.ran;
    return this.ran;
  }

  /** Milliseconds the process ran since it last went on after not running (since the start if it never stopped). */
  sinceWake(): number {
    return this.now() - this.wokeAt;
  }

  close(): void {
    clearInterval(this.timer);
  }
}
