import type { TaskAttempt, TaskError, TaskLogLine, TaskRecord } from '../../contract/records.js';
import type { KindExecutor, TaskState } from '../../contract/task-states.js';
import type { Job } from './job.js';

/** What a host sees of a task: its record, read-only. A live object: copy what you keep. */
export interface TaskView extends Readonly<TaskRecord> {
  /** One entry per try, oldest first. */
  readonly history: ReadonlyArray<Readonly<TaskAttempt>>;
  toRecord(): TaskRecord;
}

/** Why a running task is being stopped; decides its final state. */
export type StopReason = 'cancel' | 'timeout' | 'fail-fast' | 'shutdown';

/**
 * A task as the engine holds it: the persisted record plus scheduling state. Its `state` changes
 * only through `TaskLifeCycle.transition`.
 */
export class Task implements TaskView {
  state: TaskState = 'queued';
  attempts = 0;
  startedAt: number | null = null;
  finishedAt: number | null = null;
  worker: string | null = null;
  progress: number | null = null;
  progressMessage: string | null = null;
  error: TaskError | null = null;
  result: unknown = null;
  history: TaskAttempt[] = [];
  /** The newest log lines of its handler, once it wrote any. */
  logLines: TaskLogLine[] | null = null;
  /** Every line it ever wrote, those dropped from `logLines` and from earlier runs included. */
  logCount = 0;
  /** `local`: it runs only on the orchestrator's own pool, never on a remote worker. */
  runOn: 'local' | undefined = undefined;

  /** Unfinished dependencies; the task is ready when this reaches 0. */
  waitingOn = 0;
  dependents: Task[] = [];
  /** Indexed by the engine and free to be queued; a big job's tasks go live in slices. */
  live = false;
  /** Set while the task is on an executor (dispatched, not yet finished). */
  onExecutor = false;
  /** Between the executor's start report and its outcome. */
  attemptOpen = false;
  stopReason: StopReason | null = null;
  /** Suspected of killing the process before: it runs alone, with nothing beside it. */
  isolated = false;
  timers: { timeout?: NodeJS.Timeout; grace?: NodeJS.Timeout; retry?: NodeJS.Timeout } = {};

  constructor(
    readonly job: Job,
    readonly key: string,
    readonly id: string,
    readonly seq: number,
    readonly kind: string,
    readonly executor: KindExecutor,
    readonly input: Record<string, unknown>,
    readonly priority: number,
    readonly timeoutMs: number | null,
    readonly retries: number,
    readonly retryBackoffMs: number,
    readonly dependsOn: string[],
    public queuedAt: number,
  ) {}

  get jobId(): string {
    return this.job.id;
  }

  clearTimers(): void {
    clearTimeout(this.timers.timeout);
    clearTimeout(this.timers.grace);
    clearTimeout(this.timers.retry);
    this.timers = {};
  }

  toRecord(): TaskRecord {
    return {
      key: this.key,
      jobId: this.job.id,
      id: this.id,
      kind: this.kind,
      input: this.input,
      priority: this.priority,
      timeoutMs: this.timeoutMs,
      retries: this.retries,
      retryBackoffMs: this.retryBackoffMs,
      dependsOn: this.dependsOn,
      ...(this.runOn ? { runOn: this.runOn } : {}),
      state: this.state,
      attempts: this.attempts,
      queuedAt: this.queuedAt,
      startedAt: this.startedAt,
      finishedAt: this.finishedAt,
      worker: this.worker,
      progress: this.progress,
      progressMessage: this.progressMessage,
      error: this.error,
      result: this.result,
    };
  }
}
