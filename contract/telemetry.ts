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
}
