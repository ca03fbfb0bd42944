import type { ApiEvent, DeltaMessage, HostNotice, JobDetail, SnapshotMessage } from '../../../contract/api';
import type { JobRecord, TaskAttempt, TaskLogLine, TaskRecord } from '../../../contract/records';
import { TASK_STATES, type TaskState } from '../../../contract/task-states';
import type { TelemetrySample } from '../../../contract/telemetry';
import { TimelineIndex } from '../timeline/timeline-index';
import { animationFrameScheduler, type FrameScheduler } from './frame-scheduler';
import { RingBuffer } from './ring-buffer';

/** Telemetry samples kept for the charts (10 minutes at the engine's default 500 ms). */
export const TELEMETRY_CAPACITY = 1200;
export const LOG_LINES_PER_TASK = 200;
/** Tasks whose logs the store keeps; the oldest are forgotten first (the detail view fetches them again). */
export const TASKS_WITH_LOGS = 2000;

/** `refused`: the host turned the page's token down; `unreachable`: no host answers at all. */
export type StreamState = 'connecting' | 'live' | 'resyncing' | 'refused' | 'unreachable';

export interface DashboardStoreOptions {
  /** Called when a delta's `seq` shows that messages were lost; should ask the host for a snapshot. */
  onGap: () => void;
  /** The renderer's own JS heap in bytes, or null where the browser does not say. */
  readRendererMemory?: () => number | null;
  schedule?: FrameScheduler;
  telemetryCapacity?: number;
}

/**
 * Everything the dashboard shows, normalized: tasks by key, jobs, attempts, logs, a telemetry
 * ring and the timeline's bar index. Fed by a snapshot and then deltas; tells its readers at
 * most once per animation frame that something changed.
 */
export class DashboardStore {
  readonly tasks = new Map<string, TaskRecord>();
  /** Task keys in the order they arrived: the table's order. */
  readonly taskOrder: string[] = [];
  readonly jobs = new Map<string, JobRecord>();
  readonly attempts = new Map<string, TaskAttempt[]>();
  readonly logs = new Map<string, TaskLogLine[]>();
  /** Tasks per state for each job, kept as tasks change. */
  readonly jobCounts = new Map<string, Record<TaskState, number>>();
  readonly telemetry: RingBuffer<TelemetrySample>;
  /** The renderer's heap at each telemetry sample (null where unknown), parallel to `telemetry`. */
  readonly rendererMemory: RingBuffer<number | null>;
  readonly timeline = new TimelineIndex();
  counts: Record<TaskState, number> = emptyCounts();
  /** The host's lasting conditions (a job store that cannot be written), shown until they clear. */
  hostNotices: HostNotice[] = [];
  stream: StreamState = 'connecting';
  /** Bumped once per frame in which anything changed; what React subscribes to. */
  version = 0;
  /** Bumped when the set of tasks (not just their fields) changed. */
  taskSetVersion = 0;
  gaps = 0;
  private seq: number | null = null;
  /** Jobs opened from the history that the host does not hold: kept across snapshots. */
  private readonly pastJobs = new Map<string, JobDetail>();
  private readonly listeners = new Set<() => void>();
  private notifyScheduled = false;
  private readonly schedule: FrameScheduler;
  private readonly readRendererMemory: () => number | null;

  constructor(private readonly options: DashboardStoreOptions) {
    this.schedule = options.schedule ?? animationFrameScheduler;
    this.readRendererMemory = options.readRendererMemory ?? (() => null);
    const capacity = options.telemetryCapacity ?? TELEMETRY_CAPACITY;
    this.telemetry = new RingBuffer(capacity);
    this.rendererMemory = new RingBuffer(capacity);
  }

  /** The sequence number of the last message applied (null before the first snapshot). */
  get lastSeq(): number | null {
    return this.seq;
  }

  subscribe = (listener: () => void): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  getVersion = (): number => this.version;

  /** Takes one message of the host's event stream. */
  apply(event: ApiEvent): void {
    if (event.type === 'snapshot') this.applySnapshot(event);
    else this.applyDelta(event);
  }

  /** The connection dropped: keep what is shown, and take the next snapshot as a fresh start. */
  disconnected(): void {
    if (this.stream === 'refused' || this.stream === 'unreachable') return; // the reason stays until it is live again
    this.stream = 'connecting';
    this.seq = null;
    this.changed();
  }

  /** Why the connection is down, once known (a check after it closed); ignored if it came back meanwhile. */
  connectionLost(reason: 'refused' | 'unreachable'): void {
    if (this.stream === 'live' || this.stream === 'resyncing') return;
    this.stream = reason;
    this.seq = null;
    this.changed();
  }

  /** Shows a job the host fetched from its history, with its tasks, until the page closes. */
  loadJob(detail: JobDetail): void {
    if (this.jobs.has(detail.job.id) && !this.pastJobs.has(detail.job.id)) return; // live: the stream keeps it current
    this.pastJobs.set(detail.job.id, detail);
    this.putPastJob(detail);
    this.taskSetVersion++;
    this.changed();
  }

  /** Is this one of the jobs opened from the history (not streamed by the host)? */
  isPastJob(jobId: string): boolean {
    return this.pastJobs.has(jobId);
  }

  private putPastJob(detail: JobDetail): void {
    const { counts: _counts, ...job } = detail.job;
    this.jobs.set(job.id, job);
    for (const task of detail.tasks) this.putTask(task);
    for (const task of detail.tasks) {
      const attempts = detail.attempts[task.key];
      if (!attempts) continue;
      this.attempts.set(task.key, attempts);
      this.timeline.setAttempts(task.key, attempts, task);
    }
  }

  private applySnapshot(snapshot: SnapshotMessage): void {
    this.tasks.clear();
    this.taskOrder.length = 0;
    this.jobs.clear();
    this.attempts.clear();
    this.logs.clear();
    this.jobCounts.clear();
    this.telemetry.clear();
    this.rendererMemory.clear();
    this.timeline.clear();
    for (const job of snapshot.jobs) this.jobs.set(job.id, job);
    for (const task of snapshot.tasks) this.putTask(task);
    for (const sample of snapshot.telemetry) this.addTelemetry(sample, null);
    // Oldest attempts first, so the loop lane stacks concurrent bars as they happened.
    const withAttempts = Object.entries(snapshot.attempts).filter(([key]) => this.tasks.has(key));
    if (!startOrdered(withAttempts)) withAttempts.sort(([, a], [, b]) => firstStart(a) - firstStart(b));
    for (const [key, attempts] of withAttempts) {
      this.attempts.set(key, attempts);
      this.timeline.setAttempts(key, attempts, this.tasks.get(key)!);
    }
    // Jobs opened from the history stay; one the host holds again comes from the stream.
    for (const [jobId, detail] of this.pastJobs) {
      if (this.jobs.has(jobId)) this.pastJobs.delete(jobId);
      else this.putPastJob(detail);
    }
    this.counts = { ...emptyCounts(), ...snapshot.counts };
    this.hostNotices = snapshot.notices ?? [];
    this.seq = snapshot.seq;
    this.stream = 'live';
    this.taskSetVersion++;
    this.changed();
  }

  private applyDelta(delta: DeltaMessage): void {
    if (this.seq === null || this.stream === 'resyncing') return; // a snapshot is on its way
    if (delta.seq <= this.seq) return; // already applied
    if (delta.seq !== this.seq + 1) {
      this.gaps++;
      this.stream = 'resyncing';
      this.changed();
      this.options.onGap();
      return;
    }
    this.seq = delta.seq;
    if (delta.notices) this.hostNotices = delta.notices;
    for (const job of delta.jobs) this.jobs.set(job.id, job);
    let added = false;
    for (const task of delta.tasks) {
      const before = this.putTask(task);
      if (!before) added = true;
      // A live bar's colour follows its task (running, then cancelling).
      const attempts = this.attempts.get(task.key);
      if (attempts && before?.state !== task.state && !(task.key in delta.attempts)) this.timeline.setAttempts(task.key, attempts, task);
    }
    for (const [key, attempts] of Object.entries(delta.attempts)) {
      const task = this.tasks.get(key);
      if (!task) continue;
      this.attempts.set(key, attempts);
      this.timeline.setAttempts(key, attempts, task);
    }
    for (const line of delta.logs) this.addLog(line);
    for (const sample of delta.telemetry) this.addTelemetry(sample, this.readRendererMemory());
    this.counts = { ...emptyCounts(), ...delta.counts };
    if (added) this.taskSetVersion++;
    this.changed();
  }

  /** Stores a task's latest record; returns the one it replaced. */
  private putTask(task: TaskRecord): TaskRecord | undefined {
    const before = this.tasks.get(task.key);
    if (!before) this.taskOrder.push(task.key);
    this.tasks.set(task.key, task);
    if (before?.state !== task.state || before.jobId !== task.jobId) {
      if (before) this.jobCountsOf(before.jobId)[before.state]--;
      this.jobCountsOf(task.jobId)[task.state]++;
    }
    return before;
  }

  private jobCountsOf(jobId: string): Record<TaskState, number> {
    let counts = this.jobCounts.get(jobId);
    if (!counts) this.jobCounts.set(jobId, (counts = emptyCounts()));
    return counts;
  }

  private addTelemetry(sample: TelemetrySample, rendererHeap: number | null): void {
    this.telemetry.push(sample);
    this.rendererMemory.push(rendererHeap);
    this.timeline.observeWorkers(sample.at, sample.workers.map((worker) => worker.threadId));
    this.timeline.observeMachines(sample.at, sample.machines);
  }

  private addLog(line: TaskLogLine): void {
    let lines = this.logs.get(line.taskKey);
    if (!lines) {
      if (this.logs.size >= TASKS_WITH_LOGS) this.logs.delete(this.logs.keys().next().value!);
      this.logs.set(line.taskKey, (lines = []));
    }
    lines.push(line);
    if (lines.length > LOG_LINES_PER_TASK) lines.splice(0, lines.length - LOG_LINES_PER_TASK);
  }

  private changed(): void {
    if (this.notifyScheduled) return;
    this.notifyScheduled = true;
    this.schedule(() => {
      this.notifyScheduled = false;
      this.version++;
      for (const listener of [...this.listeners]) listener();
    });
  }
}

function firstStart(attempts: readonly TaskAttempt[]): number {
  return attempts[0]?.startedAt ?? 0;
}

function startOrdered(entries: ReadonlyArray<[string, readonly TaskAttempt[]]>): boolean {
  for (let i = 1; i < entries.length; i++) if (firstStart(entries[i - 1]![1]) > firstStart(entries[i]![1])) return false;
  return true;
}

export function emptyCounts(): Record<TaskState, number> {
  return Object.fromEntries(TASK_STATES.map((state) => [state, 0])) as Record<TaskState, number>;
}
