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
    const sample: TelemetrySample = {
      at: now,
      memory: { rss, heapUsed, heapTotal, external, arrayBuffers },
      loop: {
        delayP50Ms: h.count > 0 ? loopDelayMs(h.percentile(50), LOOP_SAMPLE_MS) : 0,
        delayP99Ms: h.count > 0 ? loopDelayMs(h.percentile(99), LOOP_SAMPLE_MS) : 0,
        delayMaxMs: h.count > 0 ? loopDelayMs(h.max, LOOP_SAMPLE_MS) : 0,
        utilization: performance.eventLoopUtilization(elu, this.elu).utilization,
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
