/** One pool thread in a telemetry sample. */
export interface WorkerSample {
  threadId: number;
  /** V8 heap of the thread, bytes (sampled after its tasks; null before the first). */
  heapUsed: number | null;
  /** Share of the interval the thread was busy, 0..1. */
  utilization: number;
}

/** One telemetry sample of the engine's process; the health charts plot these. */
export interface TelemetrySample {
  at: number;
  memory: { rss: number; heapUsed: number; heapTotal: number; external: number; arrayBuffers: number };
  loop: { delayP50Ms: number; delayP99Ms: number; delayMaxMs: number; utilization: number };
  workers: WorkerSample[];
  poolUtilization: number;
  queued: number;
  running: number;
  completionsPerSecond: number;
  /** The remote worker machines the engine's executors know of, lost ones included; empty when none. */
  machines: RemoteMachine[];
}

/**
 * A machine running `threadline worker` for this engine, as it last announced itself over the
 * queue. Its threads appear as task workers named `<name>/<thread>` (for example `build-07/3`).
 */
export interface RemoteMachine {
  /** The worker's `--name`: unique among the workers on one queue. */
  name: string;
  /** The operating system's hostname of that machine. */
  host: string;
  /** Threads it offers (its `--workers`). */
  threads: number;
  /** Tasks running there now, as the engine counts them. */
  running: number;
  /** `ready`: takes tasks; `draining`: finishing its tasks before it exits; `lost`: not heard from within its announce timeout. */
  state: 'ready' | 'draining' | 'lost';
  /** When its last announcement arrived (ms since the epoch, the engine's clock). */
  lastHeardAt: number;
  /** Its process's resident memory, bytes. */
  rssBytes: number;
  /** Its main loop's delay p99 over its last announce interval, ms. */
  loopDelayP99Ms: number;
}
