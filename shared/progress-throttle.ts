/** A task's progress goes out at most this often; the message rate never follows a handler's loop. */
const PROGRESS_INTERVAL_MS = 100;

/** Decides which of a task's progress reports go out; the last one (1) always does. */
export class ProgressThrottle {
  private lastAt = 0;

  /** The report to send (clamped to 0..1), or undefined when it is too soon after the last. */
  take(fraction: number | null, now = Date.now()): { progress: number | null } | undefined {
    if (now - this.lastAt < PROGRESS_INTERVAL_MS && fraction !== 1) return undefined;
    this.lastAt = now;
    return { progress: fraction === null ? null : Math.min(1, Math.max(0, fraction)) };
  }
}
