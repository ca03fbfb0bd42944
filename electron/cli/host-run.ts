import type { ApiEvent, ThreadlineApi } from '../../contract/api.js';
import { ApiCallError } from '../../contract/api.js';
import type { JobRecord, TaskLogLine, TaskRecord } from '../../contract/records.js';
import { TASK_STATES, type TaskState } from '../../contract/task-states.js';
import type { NodeApiClient } from '../serve/node-api-client.js';
import { CliError } from './cli-error.js';
import type { JobOutcome } from './job-output.js';
import { RunFeed } from './run-feed.js';

/** Task details fetched at once at the end (results and logs are not in the event stream). */
const DETAIL_CALLS_AT_ONCE = 16;

/**
 * Follows jobs that run on a host, from its event stream (a snapshot, then deltas): a feed of
 * their tasks for the terminal, and their outcome, results and logs once every one has ended.
 */
export class HostJobWatch {
  readonly feed: RunFeed;
  private readonly states = new Map<string, TaskState>();
  private readonly counts = Object.fromEntries(TASK_STATES.map((s) => [s, 0])) as Record<TaskState, number>;
  private readonly jobs = new Map<string, JobRecord | null>();
  private seq = -1;
  private unsubscribe: (() => void) | null = null;
  /** Events that came before the jobs were known (while they were submitted), replayed then. */
  private early: ApiEvent[] | null = [];
  private settle!: { resolve: () => void; reject: (error: Error) => void };
  private readonly done = new Promise<void>((resolve, reject) => (this.settle = { resolve, reject }));

  /** Starts listening at once, so that nothing a fast job does between its submission and `follow` is missed. */
  constructor(
    private readonly client: NodeApiClient,
    /** The host as messages name it. */
    private readonly hostName = '"threadline serve"',
  ) {
    this.feed = new RunFeed(() => ({ ...this.counts }));
    // A loss before `follow` awaits it is reported there, not as an unhandled rejection.
    this.done.catch(() => {});
    client.onLost((why) => this.settle.reject(new CliError(`lost the connection to ${this.hostName} (${why}); ${this.whereNow()}`, 1)));
    this.unsubscribe = client.api.subscribe((event) => {
      if (this.early) this.early.push(event);
      else this.onEvent(event);
    });
  }

  private whereNow(): string {
    const ids = [...this.jobs.keys()];
    return ids.length === 0 ? 'nothing was submitted' : `"threadline show ${ids[0]}" tells how ${ids.length === 1 ? 'it' : 'they'} ended`;
  }

  /** Follows these jobs until each has ended; resolves with their outcomes. */
  async follow(jobs: JobRecord[]): Promise<JobOutcome[]> {
    for (const job of jobs) this.jobs.set(job.id, null);
    const early = this.early ?? [];
    this.early = null;
    for (const event of early) this.onEvent(event, { replayed: true });
    if (jobs.length === 0) this.settle.resolve();
    await this.done;
    this.stop();
    try {
      return await Promise.all(jobs.map((job) => this.outcome(job.id)));
    } catch (error) {
      throw new CliError(`cannot read the results from ${this.hostName} (${(error as Error).message}); ${this.whereNow()}`, 1);
    }
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  private onEvent(event: ApiEvent, options: { replayed?: boolean } = {}): void {
    if (event.type === 'delta' && event.seq !== this.seq + 1) {
      // A gap: messages were lost; a fresh snapshot tells where things are.
      void this.client.api.resync();
      return;
    }
    this.seq = event.seq;
    for (const job of event.jobs) if (this.jobs.has(job.id)) this.jobs.set(job.id, job);
    // Lines a task wrote come before the news of its end, as they happened.
    if (event.type === 'delta') for (const line of event.logs) if (this.jobs.has(line.taskKey.split(':')[0]!)) this.feed.emit('log', line);
    for (const task of event.tasks) if (this.jobs.has(task.jobId)) this.onTask(task);
    for (const sample of event.telemetry) this.feed.emit('telemetry', sample);
    // A snapshot taken since the jobs were known that lacks one: the host may have let go of it.
    if (event.type === 'snapshot' && !options.replayed) void this.lookUpMissing(event.jobs);
    this.checkDone();
  }

  private onTask(task: TaskRecord): void {
    const before = this.states.get(task.key);
    if (before !== undefined) this.counts[before]--;
    this.counts[task.state]++;
    this.states.set(task.key, task.state);
    this.feed.emit('task', task);
  }

  /** A job that ended before the stream started may already be history on the host. */
  private async lookUpMissing(live: JobRecord[]): Promise<void> {
    const held = new Set(live.map((job) => job.id));
    if ([...this.jobs.keys()].every((id) => held.has(id))) return;
    try {
      const { jobs } = await this.client.api.listJobs({ history: true, limit: 10_000 });
      for (const job of jobs) if (this.jobs.has(job.id) && !held.has(job.id)) this.jobs.set(job.id, job);
      this.checkDone();
    } catch (error) {
      this.settle.reject(new CliError(`cannot list the jobs of ${this.hostName} (${(error as Error).message}); ${this.whereNow()}`, 1));
    }
  }

  private checkDone(): void {
    if ([...this.jobs.values()].every((job) => job !== null && job.state !== 'running')) this.settle.resolve();
  }

  /** The job's tasks with their results and logs, which the event stream leaves out. */
  private async outcome(jobId: string): Promise<JobOutcome> {
    const job = this.jobs.get(jobId)!;
    const keys = [...this.states.keys()].filter((key) => key.startsWith(`${jobId}:`));
    const tasks: TaskRecord[] = [];
    const logs = new Map<string, TaskLogLine[]>();
    for (let from = 0; from < keys.length; from += DETAIL_CALLS_AT_ONCE) {
      const details = await Promise.all(keys.slice(from, from + DETAIL_CALLS_AT_ONCE).map((key) => this.client.api.taskDetail({ key })));
      for (const detail of details) {
        tasks.push(detail.task);
        if (detail.logs.length > 0) logs.set(detail.task.key, detail.logs);
      }
    }
    return { job, tasks, logs };
  }
}

/** An API call's refusal as the CLI reports it: one line, exit 2. */
export async function onHost<T>(what: string, call: (api: ThreadlineApi) => Promise<T>, api: ThreadlineApi): Promise<T> {
  try {
    return await call(api);
  } catch (error) {
    if (error instanceof ApiCallError) throw new CliError(`${what}: ${error.message}`);
    throw new CliError(`${what}: ${(error as Error).message}`, 1);
  }
}
