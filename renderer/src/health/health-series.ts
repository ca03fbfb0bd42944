import type { TelemetrySample } from '../../../contract/telemetry';
import type { RingBuffer } from '../store/ring-buffer';

/** The telemetry ring as chart columns: one x column (seconds) and one column per series. */
export interface HealthSeries {
  x: number[];
  rss: number[];
  heapUsed: number[];
  rendererHeap: (number | null)[];
  /** Pool threads in order of first appearance, with their heap per sample (null when absent). */
  workerIds: number[];
  workerHeaps: (number | null)[][];
  loopP50: number[];
  loopP99: number[];
  loopMax: number[];
  poolUtilization: number[];
  loopUtilization: number[];
  queued: number[];
  running: number[];
  completionsPerSecond: number[];
}

export function healthSeries(telemetry: RingBuffer<TelemetrySample>, rendererMemory: RingBuffer<number | null>): HealthSeries {
  const n = telemetry.length;
  const out: HealthSeries = {
    x: new Array<number>(n),
    rss: new Array<number>(n),
    heapUsed: new Array<number>(n),
    rendererHeap: new Array<number | null>(n),
    workerIds: [],
    workerHeaps: [],
    loopP50: new Array<number>(n),
    loopP99: new Array<number>(n),
    loopMax: new Array<number>(n),
    poolUtilization: new Array<number>(n),
    loopUtilization: new Array<number>(n),
    queued: new Array<number>(n),
    running: new Array<number>(n),
    completionsPerSecond: new Array<number>(n),
  };
  const column = new Map<number, (number | null)[]>();
  for (let i = 0; i < n; i++) {
    const s = telemetry.at(i)!;
    out.x[i] = s.at / 1000;
    out.rss[i] = s.memory.rss;
    out.heapUsed[i] = s.memory.heapUsed;
    out.rendererHeap[i] = rendererMemory.at(i) ?? null;
    out.loopP50[i] = s.loop.delayP50Ms;
    out.loopP99[i] = s.loop.delayP99Ms;
    out.loopMax[i] = s.loop.delayMaxMs;
    out.poolUtilization[i] = s.poolUtilization;
    out.loopUtilization[i] = s.loop.utilization;
    out.queued[i] = s.queued;
    out.running[i] = s.running;
    out.completionsPerSecond[i] = s.completionsPerSecond;
    for (const worker of s.workers) {
      let heaps = column.get(worker.threadId);
      if (!heaps) {
        heaps = new Array<number | null>(n).fill(null);
        column.set(worker.threadId, heaps);
        out.workerIds.push(worker.threadId);
      }
      heaps[i] = worker.heapUsed;
    }
  }
  out.workerHeaps = out.workerIds.map((id) => column.get(id)!);
  return out;
}

/** Completions per second over the last `windowMs` of samples (one sample is too jumpy for a headline). */
export function recentThroughput(telemetry: RingBuffer<TelemetrySample>, windowMs = 5000): number {
  const last = telemetry.last();
  if (!last) return 0;
  let sum = 0;
  let count = 0;
  for (let i = telemetry.length - 1; i >= 0; i--) {
    const sample = telemetry.at(i)!;
    if (last.at - sample.at > windowMs) break;
    sum += sample.completionsPerSecond;
    count++;
  }
  return count === 0 ? 0 : sum / count;
}

/** The renderer's JS heap, where the browser reports it (Chromium's non-standard performance.memory). */
export function readRendererHeap(): number | null {
  const memory = (globalThis.performance as { memory?: { usedJSHeapSize?: unknown } } | undefined)?.memory;
  return typeof memory?.usedJSHeapSize === 'number' ? memory.usedJSHeapSize : null;
}
