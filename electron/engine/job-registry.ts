import type { ApiSnapshot } from '../../contract/api.js';
import type { JobRecord, TaskAttempt, TaskLogLine, TaskRecord } from '../../contract/records.js';
import type { TaskState } from '../../contract/task-states.js';
import { ThreadlineError } from './errors.js';
import { splitTaskKey, taskKey } from './ids.js';
import type { Job } from './job.js';
import type { JobStore } from './job-store.js';
import { taskRecordOf, type StoredTask } from './store-rows.js';
import type { StoreWriter } from './store-writer.js';
import { appendTaskLog, taskLogInMemory } from './task-logs.js';
import type { Task } from './task.js';

/**
 * The jobs an engine holds and what is read of them: records and counts, live ones from
 * memory and the rest from the store. Finished jobs are kept up to a budget of tasks (newest
 * first), so a long-running host returns to its baseline.
 */
export class JobRegistry {
  private readonly jobsById = new Map<string, Job>();
  /** Finished jobs still in memory, oldest first, and how many tasks they hold. */
  private readonly finishedJobs: Job[] = [];
  private finishedTasksHeld = 0;

  constructor(
    private readonly store: JobStore,
    private readonly writer: StoreWriter,
    private readonly keepFinishedTasks: number,
  ) {}

  add(job: Job): void {
    this.jobsById.set(job.id, job);
  }

  get(jobId: string): Job | undefined {
    return this.jobsById.get(jobId);
  }

  all(): IterableIterator<Job> {
    return this.jobsById.values();
  }

  /** A job ended: it is kept while the budget allows, then let go of (its records stay in the store). */
  finished(job: Job): void {
    this.finishedJobs.push(job);
    this.finishedTasksHeld += job.tasks.length;
    while (this.finishedTasksHeld > this.keepFinishedTasks && this.finishedJobs.length > 0) {
      const old = this.finishedJobs.shift()!;
      this.finishedTasksHeld -= old.tasks.length;
      // Its tasks (and their logs) are reached through it: letting go of it lets go of them.
      this.jobsById.delete(old.id);
    }
  }

  /** A finished job runs again (a retried task): it no longer counts against the budget. */
  reopened(job: Job): void {
    const held = this.finishedJobs.indexOf(job);
    if (held < 0) return;
    this.finishedJobs.splice(held, 1);
    this.finishedTasksHeld -= job.tasks.length;
  }

  /** A live task of a job this engine holds, by `<jobId>:<taskId>` key. */
  liveTask(key: string): Task | undefined {
    const id = splitTaskKey(key);
    const task = id ? this.jobsById.get(id.jobId)?.byId.get(id.taskId) : undefined;
    return task?.live ? task : undefined;
  }

  /** Every live task, job by job. */
  *liveTasks(): Generator<Task> {
    for (const job of this.jobsById.values()) for (const task of job.tasks) if (task.live) yield task;
  }

  /** Records of a job this engine let go of (or never held), from the store. */
  storedJob(jobId: string): { job: JobRecord; tasks: StoredTask[] } | null {
    this.writer.flush();
    const job = this.store.getJob(jobId);
    return job ? { job, tasks: this.store.tasksOfJob(jobId) } : null;
  }

  /** Resolves with the job's record once every task of it has ended; one let go of comes from the store. */
  async waitFor(jobId: string): Promise<JobRecord> {
    const job = this.jobsById.get(jobId);
    if (!job) {
      const stored = this.storedJob(jobId)?.job;
      if (stored && stored.state !== 'running') return stored;
      throw new ThreadlineError('NOT_FOUND', `no job ${JSON.stringify(jobId)} in this engine`);
    }
    await job.settled;
    return job.toRecord();
  }

  jobs(): JobRecord[] {
    return [...this.jobsById.values()].map((job) => job.toRecord());
  }

  job(jobId: string): JobRecord | null {
    return this.jobsById.get(jobId)?.toRecord() ?? this.storedJob(jobId)?.job ?? null;
  }

  /**
   * The newest jobs, held or stored, whose name or id holds `search` (any, when empty): a held
   * one as it is now (the store lags it by a flush).
   */
  history(limit: number, search = ''): Array<JobRecord & { counts: Partial<Record<TaskState, number>> }> {
    this.writer.flush();
    const held = this.countsByJob();
    const stored = search === '' ? this.store.listJobs(limit) : this.store.searchJobs(search, limit);
    const merged = stored.map((record) => {
      const job = this.jobsById.get(record.id);
      return job ? { ...job.toRecord(), counts: held.get(job.id) ?? {} } : { ...record, counts: this.store.stateCounts(record.id) };
    });
    const seen = new Set(merged.map((job) => job.id));
    for (const job of this.jobsById.values()) {
      if (!seen.has(job.id) && jobMatches(job, search)) merged.push({ ...job.toRecord(), counts: held.get(job.id) ?? {} });
    }
    return merged.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
  }

  tasksOfJob(jobId: string): TaskRecord[] {
    const job = this.jobsById.get(jobId);
    if (job) return job.tasks.map((task) => task.toRecord());
    return (this.storedJob(jobId)?.tasks ?? []).map(taskRecordOf);
  }

  task(key: string): TaskRecord | null {
    const live = this.liveTask(key);
    if (live) return live.toRecord();
    const id = splitTaskKey(key);
    const stored = id ? this.storedJob(id.jobId)?.tasks.find((task) => task.id === id.taskId) : undefined;
    return stored ? taskRecordOf(stored) : null;
  }

  attemptsOf(key: string): TaskAttempt[] {
    const live = this.liveTask(key);
    if (live) return live.history.map((a) => ({ ...a }));
    const id = splitTaskKey(key);
    if (!id) return [];
    this.writer.flush();
    return this.store.attemptsOfJob(id.jobId).get(id.taskId) ?? [];
  }

  /** Every attempt of each task of a job, by task key: a past job's in one read of the store. */
  attemptsOfJob(jobId: string): Map<string, TaskAttempt[]> {
    const job = this.jobsById.get(jobId);
    if (job) return new Map(job.tasks.map((task) => [task.key, task.history.map((a) => ({ ...a }))]));
    this.writer.flush();
    return new Map([...this.store.attemptsOfJob(jobId)].map(([taskId, list]) => [taskKey(jobId, taskId), list]));
  }

  /** A task's newest log lines (a note first when some were dropped), from memory or the store. */
  logsOf(key: string): TaskLogLine[] {
    const live = this.liveTask(key);
    const inMemory = live ? taskLogInMemory(key, live) : null;
    if (inMemory) return inMemory;
    const id = splitTaskKey(key);
    if (!id) return [];
    this.writer.flush();
    return this.store.logsOfTask(id.jobId, id.taskId);
  }

  /** Keeps the newest lines of a live task's log, in memory and in the store. */
  appendLog(line: TaskLogLine): void {
    const task = this.liveTask(line.taskKey);
    if (!task) return;
    appendTaskLog(task, line);
    this.writer.log(task, task.logCount, line);
  }

  countsByJob(): Map<string, Partial<Record<TaskState, number>>> {
    const byJob = new Map<string, Partial<Record<TaskState, number>>>();
    for (const job of this.jobsById.values()) {
      const counts: Partial<Record<TaskState, number>> = {};
      for (const task of job.tasks) counts[task.state] = (counts[task.state] ?? 0) + 1;
      byJob.set(job.id, counts);
    }
    return byJob;
  }

  /** Everything held, to start a view from; views leave out results (they can be large). */
  snapshot(withResults: boolean, around: Pick<ApiSnapshot, 'telemetry' | 'counts' | 'notices'>): ApiSnapshot {
    const attempts: Record<string, TaskAttempt[]> = {};
    const tasks: TaskRecord[] = [];
    for (const task of this.liveTasks()) {
      const record = task.toRecord();
      if (!withResults) record.result = null;
      tasks.push(record);
      if (task.history.length > 0) attempts[task.key] = task.history.map((a) => ({ ...a }));
    }
    return { at: Date.now(), jobs: this.jobs(), tasks, attempts, ...around };
  }
}

function jobMatches(job: Job, search: string): boolean {
  if (search === '') return true;
  const needle = search.toLowerCase();
  return job.name.toLowerCase().includes(needle) || job.id.toLowerCase().includes(needle);
}
