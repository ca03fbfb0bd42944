import type { TaskAttempt } from '../../contract/records.js';
import type { TelemetrySample } from '../../contract/telemetry.js';
import type { Job } from './job.js';
import type { JobStore } from './job-store.js';
import type { Task } from './task.js';

/**
 * Write-behind for state changes: the engine marks what changed, and every `intervalMs` the
 * latest state of each changed task, attempt and job is written in one transaction. Thousands
 * of transitions a second cost a few small transactions, not one fsync each.
 */
export class StoreWriter {
  private readonly tasks = new Map<string, Task>();
  private readonly jobs = new Map<string, Job>();
  private readonly attempts = new Map<string, { jobId: string; taskId: string; attempt: TaskAttempt }>();
  private telemetrySamples: TelemetrySample[] = [];
  private timer: NodeJS.Timeout | null = null;

  constructor(
    private readonly store: JobStore,
    private readonly intervalMs: number,
  ) {}

  task(task: Task): void {
    this.tasks.set(task.key, task);
    this.schedule();
  }

  attempt(task: Task, attempt: TaskAttempt): void {
    this.attempts.set(`${task.key}#${attempt.attempt}`, { jobId: task.job.id, taskId: task.id, attempt });
    this.schedule();
  }

  job(job: Job): void {
    this.jobs.set(job.id, job);
    this.schedule();
  }

  telemetry(sample: TelemetrySample): void {
    this.telemetrySamples.push(sample);
    this.schedule();
  }

  get pending(): number {
    return this.tasks.size + this.jobs.size + this.attempts.size + this.telemetrySamples.length;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => this.flush(), this.intervalMs);
    this.timer.unref();
  }

  flush(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.pending === 0) return;
    const tasks = [...this.tasks.values()].map((task) => task.toRecord());
    const jobs = [...this.jobs.values()].map((job) => job.toRecord());
    const attempts = [...this.attempts.values()].map((entry) => ({ ...entry, attempt: { ...entry.attempt } }));
    const telemetry = this.telemetrySamples;
    this.telemetrySamples = [];
    this.tasks.clear();
    this.jobs.clear();
    this.attempts.clear();
    this.store.saveChanges(jobs, tasks, attempts, telemetry);
  }
}
