import type { JobRecord } from '../../contract/records.js';
import type { FailurePolicy, JobState } from '../../contract/task-states.js';
import type { Task } from './task.js';

/** What a host sees of a job: its record, read-only. */
export interface JobView extends Readonly<JobRecord> {
  toRecord(): JobRecord;
}

/**
 * A job as the engine holds it: its record, its tasks and its share of the executors. Its
 * `state` changes only through `TaskLifeCycle.transitionJob`.
 */
export class Job implements JobView {
  state: JobState = 'running';
  finishedAt: number | null = null;
  tasks: Task[] = [];
  byId = new Map<string, Task>();
  /** Tasks on an executor now, against `concurrency`. */
  active = 0;
  /** Tasks that not yet ended. */
  unfinished = 0;
  /** Ready tasks held back because the job was at its concurrency cap. */
  held: Task[] = [];
  settled: Promise<void>;
  resolveSettled!: () => void;

  constructor(
    readonly id: string,
    readonly name: string,
    readonly concurrency: number | null,
    readonly onFailure: FailurePolicy,
    readonly baseDir: string,
    readonly createdAt: number,
  ) {
    this.settled = new Promise((resolve) => (this.resolveSettled = resolve));
  }

  get taskCount(): number {
    return this.tasks.length;
  }

  get atCap(): boolean {
    return this.concurrency !== null && this.active >= this.concurrency;
  }

  /** The final state once every task has ended (a skip follows a failure or a cancel, so it decides nothing itself). */
  outcome(): JobState {
    let cancelled = false;
    if (this.tasks.some((task) => task.state === 'interrupted')) return 'interrupted';
    for (const task of this.tasks) {
      if (task.state === 'failed' || task.state === 'timed_out') return 'failed';
      if (task.state === 'cancelled' || task.state === 'skipped') cancelled = true;
    }
    return cancelled ? 'cancelled' : 'succeeded';
  }

  toRecord(): JobRecord {
    return {
      id: this.id,
      name: this.name,
      state: this.state,
      concurrency: this.concurrency,
      onFailure: this.onFailure,
      baseDir: this.baseDir,
      createdAt: this.createdAt,
      finishedAt: this.finishedAt,
      taskCount: this.tasks.length,
    };
  }
}
