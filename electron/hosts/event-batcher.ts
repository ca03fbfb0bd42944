import type { ApiEvent, DeltaMessage, SnapshotMessage } from '../../contract/api.js';
import type { TaskLogLine } from '../../contract/records.js';
import type { TelemetrySample } from '../../contract/telemetry.js';
import { BatchSizer } from '../engine/batch-sizer.js';
import type { HostEngine } from '../engine/engine.js';
import type { JobView } from '../engine/job.js';
import type { TaskView } from '../engine/task.js';

export const DELTA_INTERVAL_MS = 50;
/** Log lines kept for one delta; a subscriber that lags behind more loses the oldest. */
const MAX_LOGS_PER_DELTA = 2000;
const MAX_TELEMETRY_PER_DELTA = 120;
/**
 * Task records in one delta: as many as building and sending take about 6 ms of the loop,
 * measured as deltas go out (2,000 to start with; about that many on a 2-core machine). A burst
 * beyond it (a big job going live) reaches the view over the next deltas.
 */
export const DELTA_TASKS = { budgetMs: 6, initial: 2000, min: 250, max: 10_000 } as const;

export interface SubscriberOptions {
  /** Delivers one message. */
  send(event: ApiEvent): void;
  /**
   * False while the transport is congested: changes keep coalescing and go out in the first
   * delta after it drains. Default: always ready.
   */
  ready?(): boolean;
}

export interface Subscription {
  /** Sends a fresh snapshot now; deltas continue from its sequence number. */
  resync(): void;
  close(): void;
}

/** What one subscriber has not been sent yet. */
/**
 * What changed since the last delta. It holds the engine's own task and job objects, not keys:
 * the engine may let go of a finished job before the next delta leaves.
 */
class Pending {
  tasks = new Map<string, TaskView>();
  jobs = new Map<string, JobView>();
  logs: TaskLogLine[] = [];
  telemetry: TelemetrySample[] = [];
  notices = false;

  get empty(): boolean {
    return this.tasks.size === 0 && this.jobs.size === 0 && this.logs.length === 0 && this.telemetry.length === 0 && !this.notices;
  }

  clear(): void {
    this.tasks.clear();
    this.clearAllButTasks();
  }

  clearAllButTasks(): void {
    this.jobs.clear();
    this.logs = [];
    this.telemetry = [];
    this.notices = false;
  }

  /** Removes and returns up to `n` changed tasks, those that changed first first. */
  takeTasks(n: number): TaskView[] {
    const taken: TaskView[] = [];
    for (const [key, task] of this.tasks) {
      if (taken.length >= n) break;
      taken.push(task);
      this.tasks.delete(key);
    }
    return taken;
  }
}

class Subscriber implements Subscription {
  private readonly pending = new Pending();
  private seq = 0;
  private readonly tasksPerDelta = new BatchSizer(DELTA_TASKS);
  private lastSentAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly batcher: EventBatcher,
    private readonly engine: HostEngine,
    private readonly options: SubscriberOptions,
    private readonly intervalMs: number,
  ) {}

  markTask(task: TaskView): void {
    this.pending.tasks.set(task.key, task);
    this.schedule();
  }

  markJob(job: JobView): void {
    this.pending.jobs.set(job.id, job);
    this.schedule();
  }

  addLog(line: TaskLogLine): void {
    this.pending.logs.push(line);
    if (this.pending.logs.length > MAX_LOGS_PER_DELTA) this.pending.logs.shift();
    this.schedule();
  }

  addTelemetry(sample: TelemetrySample): void {
    this.pending.telemetry.push(sample);
    if (this.pending.telemetry.length > MAX_TELEMETRY_PER_DELTA) this.pending.telemetry.shift();
    this.schedule();
  }

  noticesChanged(): void {
    this.pending.notices = true;
    this.schedule();
  }

  /** At most one delta per interval: the first change after a send waits out the rest of it. */
  private schedule(): void {
    if (this.timer || this.closed) return;
    const wait = Math.max(0, this.lastSentAt + this.intervalMs - Date.now());
    this.timer = setTimeout(() => this.flush(), wait);
  }

  private flush(): void {
    this.timer = null;
    if (this.closed || this.pending.empty) return;
    // Timers may fire a millisecond early; the interval is a promise to the subscriber.
    if (Date.now() < this.lastSentAt + this.intervalMs) return this.schedule();
    if (this.options.ready && !this.options.ready()) {
      this.lastSentAt = Date.now();
      this.schedule();
      return;
    }
    const started = performance.now();
    const delta = this.buildDelta();
    this.pending.clearAllButTasks();
    this.options.send(delta);
    // Counted from the end of this send: whenever within it the subscriber looks at the clock, the next comes an interval later.
    this.lastSentAt = Date.now();
    this.tasksPerDelta.observe(delta.tasks.length, performance.now() - started);
    if (!this.pending.empty) this.schedule();
  }

  private buildDelta(): DeltaMessage {
    const { engine, pending } = this;
    const delta: DeltaMessage = {
      type: 'delta',
      seq: ++this.seq,
      at: Date.now(),
      tasks: [],
      jobs: [],
      attempts: {},
      logs: pending.logs,
      telemetry: pending.telemetry,
      counts: engine.stateCounts(),
      ...(pending.notices ? { notices: engine.notices() } : {}),
    };
    for (const task of pending.takeTasks(this.tasksPerDelta.size)) {
      // Results can be large (a query's preview rows): views fetch them with taskDetail.
      delta.tasks.push({ ...task.toRecord(), result: null });
      // Attempts change only with a task event of their task, so dirty tasks carry them all.
      if (task.history.length > 0) delta.attempts[task.key] = task.history.map((a) => ({ ...a }));
    }
    for (const job of pending.jobs.values()) delta.jobs.push(job.toRecord());
    return delta;
  }

  snapshot(): SnapshotMessage {
    this.pending.clear();
    return { type: 'snapshot', seq: ++this.seq, ...this.engine.snapshot({ withResults: false }) };
  }

  resync(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.options.send(this.snapshot());
    this.lastSentAt = Date.now();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    this.pending.clear();
    this.batcher.remove(this);
  }
}

/**
 * Turns the engine's fine-grained events into, per subscriber, one snapshot to start from and
 * then at most one delta per interval, whatever the task rate. Shared by the desktop IPC and
 * the WebSocket of `threadline serve`.
 */
export class EventBatcher {
  private readonly subscribers = new Set<Subscriber>();
  private readonly onTask = (task: TaskView) => {
    for (const s of this.subscribers) s.markTask(task);
  };
  private readonly onJob = (job: JobView) => {
    for (const s of this.subscribers) s.markJob(job);
  };
  private readonly onLog = (line: TaskLogLine) => {
    for (const s of this.subscribers) s.addLog(line);
  };
  private readonly onTelemetry = (sample: TelemetrySample) => {
    for (const s of this.subscribers) s.addTelemetry(sample);
  };
  private readonly onNotices = () => {
    for (const s of this.subscribers) s.noticesChanged();
  };

  constructor(
    private readonly engine: HostEngine,
    private readonly intervalMs = DELTA_INTERVAL_MS,
  ) {}

  /** Starts a stream: the snapshot is sent before this returns. */
  subscribe(options: SubscriberOptions): Subscription {
    if (this.subscribers.size === 0) this.attach();
    const subscriber = new Subscriber(this, this.engine, options, this.intervalMs);
    this.subscribers.add(subscriber);
    subscriber.resync();
    return subscriber;
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  /** Ends every stream (the host is closing). */
  close(): void {
    for (const s of [...this.subscribers]) s.close();
  }

  /** @internal Called by a subscriber that closed. */
  remove(subscriber: Subscriber): void {
    this.subscribers.delete(subscriber);
    if (this.subscribers.size === 0) this.detach();
  }

  private attach(): void {
    this.engine.on('task', this.onTask);
    this.engine.on('job', this.onJob);
    this.engine.on('log', this.onLog);
    this.engine.on('telemetry', this.onTelemetry);
    this.engine.on('notices', this.onNotices);
  }

  private detach(): void {
    this.engine.off('task', this.onTask);
    this.engine.off('job', this.onJob);
    this.engine.off('log', this.onLog);
    this.engine.off('telemetry', this.onTelemetry);
    this.engine.off('notices', this.onNotices);
  }
}
