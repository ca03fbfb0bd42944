/** Records as the host sends them, for the renderer's tests. */
import type { DeltaMessage, SnapshotMessage } from '../../contract/api';
import type { JobRecord, TaskAttempt, TaskRecord } from '../../contract/records';
import { TASK_STATES, type TaskState } from '../../contract/task-states';
import type { TelemetrySample } from '../../contract/telemetry';

export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

export function counts(partial: Partial<Record<TaskState, number>> = {}): Record<TaskState, number> {
  return { ...Object.fromEntries(TASK_STATES.map((s) => [s, 0])), ...partial } as Record<TaskState, number>;
}

export function job(overrides: Partial<JobRecord> = {}): JobRecord {
  return {
    id: 'j1',
    name: 'nightly',
    state: 'running',
    concurrency: null,
    onFailure: 'continue',
    baseDir: '/tmp',
    createdAt: T0,
    finishedAt: null,
    taskCount: 1,
    ...overrides,
  };
}

export function task(id: string, overrides: Partial<TaskRecord> = {}): TaskRecord {
  const jobId = overrides.jobId ?? 'j1';
  return {
    key: `${jobId}:${id}`,
    jobId,
    id,
    kind: 'demo.cpu',
    input: { ms: 100 },
    priority: 0,
    timeoutMs: null,
    retries: 0,
    retryBackoffMs: 500,
    dependsOn: [],
    state: 'queued',
    attempts: 0,
    queuedAt: T0,
    startedAt: null,
    finishedAt: null,
    worker: null,
    progress: null,
    progressMessage: null,
    error: null,
    result: null,
    ...overrides,
  };
}

export function attempt(n: number, startedAt: number, finishedAt: number | null, worker: string | null, state: TaskState = finishedAt === null ? 'running' : 'succeeded'): TaskAttempt {
  return { attempt: n, startedAt, finishedAt, worker, state };
}

export function sample(at: number, overrides: Partial<TelemetrySample> = {}): TelemetrySample {
  return {
    at,
    memory: { rss: 200e6, heapUsed: 50e6, heapTotal: 80e6, external: 1e6, arrayBuffers: 1e5 },
    loop: { delayP50Ms: 10, delayP99Ms: 12, delayMaxMs: 15, utilization: 0.1 },
    workers: [
      { threadId: 1, heapUsed: 10e6, utilization: 0.5 },
      { threadId: 2, heapUsed: 12e6, utilization: 0.4 },
    ],
    poolUtilization: 0.45,
    queued: 3,
    running: 2,
    completionsPerSecond: 4,
    machines: [],
    ...overrides,
  };
}

export function snapshot(seq: number, parts: Partial<Omit<SnapshotMessage, 'type' | 'seq'>> = {}): SnapshotMessage {
  return { type: 'snapshot', seq, at: T0, jobs: [], tasks: [], attempts: {}, telemetry: [], counts: counts(), ...parts };
}

export function delta(seq: number, parts: Partial<Omit<DeltaMessage, 'type' | 'seq'>> = {}): DeltaMessage {
  return { type: 'delta', seq, at: T0, tasks: [], jobs: [], attempts: {}, logs: [], telemetry: [], counts: counts(), ...parts };
}

/** A frame scheduler the test advances by hand. */
export function manualFrames(): { schedule: (callback: () => void) => void; flush: () => number } {
  let queue: (() => void)[] = [];
  return {
    schedule: (callback) => void queue.push(callback),
    flush: () => {
      const run = queue;
      queue = [];
      for (const callback of run) callback();
      return run.length;
    },
  };
}
