/**
 * How much of each pool thread's time went to running batches, between two readings.
 *
 * Not the threads' event-loop utilization: piscina parks an idle thread in a blocking
 * `Atomics.wait` (its fastest way to hand over the next task), and a blocked loop counts as
 * busy, so every idle thread read 100 %. The engine knows when each batch started on a thread
 * and when its last task ended (both measured in the worker), which is what "in use" means.
 */
export class ThreadBusyMeter {
  private lastReadAt: number;
  /** Busy milliseconds since the last reading, of batches that ended. */
  private readonly busy = new Map<number, number>();
  /** Batches running now: their thread, and since when (counted up to the last reading). */
  private readonly open = new Map<object, { threadId: number; since: number }>();
  /** Batches that ended: a late "started" must not open them again. */
  private readonly ended = new WeakSet<object>();

  constructor(now = Date.now()) {
    this.lastReadAt = now;
  }

  started(batch: object, threadId: number, at: number): void {
    if (this.ended.has(batch) || this.open.has(batch)) return;
    this.open.set(batch, { threadId, since: at });
  }

  /** The batch ended (or its thread died) at `at`; `startedAt` when known from the worker. */
  finished(batch: object, threadId: number | null, startedAt: number | null, at: number): void {
    this.ended.add(batch);
    const open = this.open.get(batch);
    this.open.delete(batch);
    const thread = threadId ?? open?.threadId;
    const from = startedAt ?? open?.since;
    if (thread !== undefined && from !== undefined) this.add(thread, from, at);
  }

  /** Each thread's share of the time since the last reading (0..1). */
  read(threadIds: readonly number[], now = Date.now()): Map<number, number> {
    for (const entry of this.open.values()) {
      this.add(entry.threadId, entry.since, now);
      entry.since = now;
    }
    const span = now - this.lastReadAt;
    const shares = new Map<number, number>();
    for (const id of threadIds) shares.set(id, span > 0 ? Math.min(1, (this.busy.get(id) ?? 0) / span) : 0);
    this.busy.clear();
    this.lastReadAt = now;
    return shares;
  }

  private add(threadId: number, from: number, to: number): void {
    const ms = to - Math.max(from, this.lastReadAt);
    if (ms > 0) this.busy.set(threadId, (this.busy.get(threadId) ?? 0) + ms);
  }
}
