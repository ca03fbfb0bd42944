import { monitorEventLoopDelay, performance, type IntervalHistogram } from 'node:perf_hooks';
import type { RemoteMachine, TelemetrySample, WorkerSample } from '../../contract/telemetry.js';
import type { Executor } from './executor.js';

export type { RemoteMachine, TelemetrySample, WorkerSample };

export interface TelemetrySource {
  workers(): WorkerSample[];
  /** Remote worker machines, as the executors that have any last heard of them. */
  machines(): RemoteMachine[];
  queued(): number;
  running(): number;
  /** Tasks that ended since the last call. */
  takeCompletions(): number;
}

/** The machines of all executors that run tasks on other machines; none when no executor does. */
export function machinesOf(executors: readonly Executor[]): RemoteMachine[] {
  return executors.flatMap((executor) => executor.machines?.() ?? []);
}

const NS_PER_MS = 1e6;

/** How often the loop-delay histogram's timer ticks. */
const LOOP_SAMPLE_MS = 10;

/**
 * The loop's delay from a value of `monitorEventLoopDelay`'s histogram, which records the whole
 * time between two ticks of its timer: the tick interval (`resolutionMs`) is not delay, so an
 * idle loop reads 0, not the interval.
 */
export function loopDelayMs(recordedNs: number, resolutionMs: number): number {
  return Math.max(0, recordedNs / NS_PER_MS - resolutionMs);
}

/** A gap between two ticks of the histogram's timer longer than this may be a process that did not run. */
const NOT_RUNNING_AFTER_MS = 1000;

/**
 * Whether the longest gap of an interval (`longestMs`) was the process not running (stopped with
 * Ctrl-Z or SIGSTOP, a machine asleep whose monotonic clock counts it) rather than the loop held
 * up. A loop held up is busy for that long; one whose process was stopped while it waited for
 * its next event (as an idle loop mostly does) counts the stop as idle, so the interval's busy
 * time falls short of the gap.
 */
export function notRunning(longestMs: number, busyMs: number): boolean {
  return longestMs > NOT_RUNNING_AFTER_MS && busyMs < longestMs / 2;
}

/** Samples the process every `intervalMs` into a bounded ring buffer. */
export class Telemetry {
  private readonly ring: TelemetrySample[] = [];
  private readonly histogram: IntervalHistogram = monitorEventLoopDelay({ resolution: LOOP_SAMPLE_MS });
  private elu = performance.eventLoopUtilization();
  private lastAt = Date.now();
  private timer: NodeJS.Timeout | null = null;
  private lastMemory: TelemetrySample['memory'] | null = null;

  constructor(
    private readonly source: TelemetrySource,
    private readonly intervalMs: number,
    private readonly capacity: number,
    private readonly onSample: (sample: TelemetrySample) => void,
  ) {}

  start(): void {
    this.histogram.enable();
    this.timer = setInterval(() => this.sample(), this.intervalMs);
    this.timer.unref();
  }

  sample(): TelemetrySample {
    const now = Date.now();
    const elu = performance.eventLoopUtilization();
    const { rss, heapUsed, heapTotal, external, arrayBuffers } = this.memory();
    const h = this.histogram;
    const seconds = Math.max(0.001, (now - this.lastAt) / 1000);
    const workers = this.source.workers();
    const used = performance.eventLoopUtilization(elu, this.elu);
    const delay = this.loopDelays(used.active);
    const sample: TelemetrySample = {
      at: now,
      memory: { rss, heapUsed, heapTotal, external, arrayBuffers },
      loop: {
        delayP50Ms: delay.p50,
        delayP99Ms: delay.p99,
        delayMaxMs: delay.max,
        utilization: used.utilization,
      },
      workers,
      poolUtilization: workers.length === 0 ? 0 : workers.reduce((sum, w) => sum + w.utilization, 0) / workers.length,
      queued: this.source.queued(),
      running: this.source.running(),
      completionsPerSecond: this.source.takeCompletions() / seconds,
      machines: this.source.machines(),
    };
    h.reset();
    this.elu = elu;
    this.lastAt = now;
    this.ring.push(sample);
    if (this.ring.length > this.capacity) this.ring.shift();
    this.onSample(sample);
    return sample;
  }

  /** The interval's loop delays, less the longest when it was the process not running (`busyMs`: the loop's busy time). */
  private loopDelays(busyMs: number): { p50: number; p99: number; max: number } {
    const h = this.histogram;
    if (h.count === 0) return { p50: 0, p99: 0, max: 0 };
    const at = (percent: number) => loopDelayMs(h.percentile(percent), LOOP_SAMPLE_MS);
    const longest = loopDelayMs(h.max, LOOP_SAMPLE_MS);
    if (!notRunning(longest, busyMs)) return { p50: at(50), p99: at(99), max: longest };
    // The gap is one record of the histogram, its longest: the others say how the loop did while
    // the process ran, so that a wake-up does not show as the loop held up.
    if (h.count === 1) return { p50: 0, p99: 0, max: 0 };
    const rest = (100 * (h.count - 1)) / h.count;
    return { p50: at(Math.min(50, rest)), p99: at(Math.min(99, rest)), max: at(rest) };
  }

  /**
   * The process's memory. Reading rss opens a file under /proc; with every descriptor taken
   * (EMFILE) that throws, and a throw from this timer would end the host: the last figures stand in.
   */
  private memory(): TelemetrySample['memory'] {
    try {
      const { rss, heapUsed, heapTotal, external, arrayBuffers } = process.memoryUsage();
      this.lastMemory = { rss, heapUsed, heapTotal, external, arrayBuffers };
    } catch {
      this.lastMemory ??= { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 };
    }
    return this.lastMemory;
  }

  history(): TelemetrySample[] {
    return [...this.ring];
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.histogram.disable();
  }
}
