import { statSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import type { z } from 'zod';
import {
  ApiCallError,
  apiParamsSchemas,
  isApiMethod,
  type ApiErrorBody,
  type ApiMethod,
  type ApiResults,
  type JobDetail,
  type JobListEntry,
  type TaskDetail,
} from '../../contract/api.js';
import type { JobRecord, TaskAttempt } from '../../contract/records.js';
import type { TaskState } from '../../contract/task-states.js';
import { describeIssue, formatPath } from '../../contract/job-spec.js';
import type { HostEngine } from '../engine/engine.js';
import { ThreadlineError } from '../engine/errors.js';
import { readJobText } from '../engine/job-reader.js';
import { rerunJob } from '../engine/rerun.js';
import type { Scheduler } from '../schedules/scheduler.js';
import { demoJobSpec, runDemoInline } from './demo-workload.js';

export type ApiOutcome = { ok: true; value: unknown } | { ok: false; error: ApiErrorBody };

export interface ApiHandlerOptions {
  /** The folder relative paths of a submitted job file resolve against when the caller names none. */
  defaultBaseDir: string;
  /** The compiled job reader thread (the desktop bundle's own); default: the one beside the engine. */
  jobReaderFile?: string;
  /** The host's scheduler, for the schedule methods (without one they answer that this host runs none). */
  scheduler?: Scheduler;
}

type Implementation = {
  [M in ApiMethod]: (params: z.output<(typeof apiParamsSchemas)[M]>) => ApiResults[M] | Promise<ApiResults[M]>;
};

/**
 * The contract's methods over an engine, for any transport: `call` validates the method name
 * and its params at this, the receiving, side and never throws; failures come back as
 * `{ok: false, error}` with a one-line message.
 */
export class ApiHandlers {
  private readonly methods: Implementation;

  constructor(
    private readonly engine: HostEngine,
    private readonly options: ApiHandlerOptions,
  ) {
    this.methods = {
      snapshot: () => this.engine.snapshot({ withResults: false }),
      submitJob: (params) => this.submitJob(params),
      cancelTask: ({ key }) => ({ cancelled: this.engine.cancelTask(key) }),
      cancelJob: ({ jobId }) => ({ cancelled: this.engine.cancelJob(jobId) }),
      cancelAll: () => ({ cancelled: this.engine.cancelAll() }),
      retryTask: ({ key }) => ({ retried: this.engine.retryTask(key) }),
      taskDetail: ({ key }) => this.taskDetail(key),
      runDemo: ({ inline }) => this.runDemo(inline),
      listJobs: ({ history, limit, search }) => ({ jobs: this.listJobs(history, limit ?? 100, search?.trim() ?? '') }),
      jobDetail: ({ jobId }) => this.jobDetail(jobId),
      rerunJob: ({ jobId, failedOnly }) => this.rerunJob(jobId, failedOnly),
      hostInfo: () => ({ defaultBaseDir: this.options.defaultBaseDir }),
      listSchedules: () => ({ schedules: this.scheduler().list() }),
      addSchedule: (params) => this.addSchedule(params),
      removeSchedule: async ({ name }) => {
        if (!(await this.scheduler().remove(name))) throw noSchedule(name);
        return { removed: name };
      },
      pauseSchedule: async ({ name }) => ({ schedule: await this.setPaused(name, true) }),
      resumeSchedule: async ({ name }) => ({ schedule: await this.setPaused(name, false) }),
      runSchedule: async ({ name }) => ({ run: await this.scheduler().runNow(name) }),
      resumeJobs: ({ jobIds }) => ({ jobs: this.engine.resumeInterrupted(jobIds) }),
    };
  }

  async call(method: unknown, params: unknown): Promise<ApiOutcome> {
    if (!isApiMethod(method)) {
      const shown = typeof method === 'string' ? JSON.stringify(method.slice(0, 100)) : `of type ${typeof method}`;
      return { ok: false, error: { code: 'UNKNOWN_METHOD', message: `unknown method ${shown}` } };
    }
    const parsed = apiParamsSchemas[method].safeParse(params ?? {}, { reportInput: true });
    if (!parsed.success) return badRequest(method, parsed.error);
    try {
      const run = this.methods[method] as (params: unknown) => unknown;
      return { ok: true, value: await run(parsed.data) };
    } catch (error) {
      return { ok: false, error: errorBody(error) };
    }
  }

  private async submitJob(params: z.output<typeof apiParamsSchemas.submitJob>): Promise<ApiResults['submitJob']> {
    const baseDir = params.baseDir ?? this.options.defaultBaseDir;
    if (!isAbsolute(baseDir)) return { ok: false, issues: [{ path: '', message: `baseDir must be an absolute folder (got "${baseDir}")` }] };
    if (!isFolder(baseDir)) return { ok: false, issues: [{ path: '', message: `baseDir must be an existing folder (nothing at "${baseDir}")` }] };
    // A big text is read in a thread of its own: the loop keeps serving while it is parsed.
    const read = await readJobText(params.text, params.fileName, baseDir, { threadFile: this.options.jobReaderFile });
    if (!read.ok) return { ok: false, issues: read.issues };
    return { ok: true, job: await this.engine.submitJob(read.spec, baseDir) };
  }

  private scheduler(): Scheduler {
    if (!this.options.scheduler) throw new Error('this host runs no schedules');
    return this.options.scheduler;
  }

  private async addSchedule(params: z.output<typeof apiParamsSchemas.addSchedule>): Promise<ApiResults['addSchedule']> {
    const baseDir = params.baseDir ?? this.options.defaultBaseDir;
    if (!isAbsolute(baseDir)) return { ok: false, issues: [{ path: '', message: `baseDir must be an absolute folder (got "${baseDir}")` }] };
    const read = await readJobText(params.text, params.fileName, baseDir, { threadFile: this.options.jobReaderFile });
    if (!read.ok) return { ok: false, issues: read.issues };
    if (!read.spec.schedule) return { ok: false, issues: [{ path: 'schedule', message: 'missing; expected { cron, timezone?, catchUp?, overlap? }' }] };
    return { ok: true, ...(await this.scheduler().add(read.spec, params.fileName, baseDir)) };
  }

  private async setPaused(name: string, paused: boolean) {
    const scheduler = this.scheduler();
    if (!(await scheduler.setPaused(name, paused))) throw noSchedule(name);
    return scheduler.get(name)!;
  }

  /** A task this engine holds, or one of an earlier run from the store (its log lines were not kept). */
  private taskDetail(key: string): TaskDetail {
    const task = this.engine.task(key);
    if (!task) throw new ThreadlineError('NOT_FOUND', `no task ${JSON.stringify(key)}`);
    return { task, attempts: this.engine.attemptsOf(key), logs: this.engine.logsOf(key) };
  }

  private async runDemo(inline: boolean): Promise<ApiResults['runDemo']> {
    if (!inline) return { mode: 'pool', job: await this.engine.submitJob(demoJobSpec(), this.options.defaultBaseDir) };
    return { mode: 'inline', ...(await runDemoInline()) };
  }

  private listJobs(history: boolean, limit: number, search: string): JobListEntry[] {
    if (history) return this.engine.jobHistory(limit, search);
    const live = [...this.liveJobs().values()].filter((job) => jobMatches(job, search));
    return live.sort((a, b) => b.createdAt - a.createdAt).slice(0, limit);
  }

  private jobDetail(jobId: string): JobDetail {
    const job = this.engine.job(jobId);
    if (!job) throw new ThreadlineError('NOT_FOUND', `no job ${JSON.stringify(jobId)}`);
    const tasks = this.engine.tasksOfJob(jobId);
    // A past job's attempts come from the store in one read, not one read per task.
    const attemptsByTask = this.engine.attemptsOfJob(jobId);
    const counts: Partial<Record<TaskState, number>> = {};
    const attempts: Record<string, TaskAttempt[]> = {};
    for (const task of tasks) {
      counts[task.state] = (counts[task.state] ?? 0) + 1;
      // Results can be large: a view fetches them per task, as for a snapshot.
      task.result = null;
      const list = attemptsByTask.get(task.key) ?? [];
      if (list.length > 0) attempts[task.key] = list;
    }
    return { job: { ...job, counts }, tasks, attempts };
  }

  private async rerunJob(jobId: string, failedOnly: boolean): Promise<ApiResults['rerunJob']> {
    const outcome = await rerunJob(this.engine, jobId, { failedOnly });
    return outcome.ok ? { ok: true, job: outcome.job } : { ok: false, code: outcome.code, reason: outcome.reason };
  }

  /** The jobs this engine holds, with their task counts by state. */
  private liveJobs(): Map<string, JobListEntry> {
    const counts = this.engine.countsByJob();
    return new Map(this.engine.jobs().map((job) => [job.id, { ...job, counts: counts.get(job.id) ?? {} }]));
  }
}

function jobMatches(job: JobRecord, search: string): boolean {
  if (search === '') return true;
  const needle = search.toLowerCase();
  return job.name.toLowerCase().includes(needle) || job.id.toLowerCase().includes(needle);
}

function isFolder(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

function noSchedule(name: string): ThreadlineError {
  return new ThreadlineError('NOT_FOUND', `no schedule ${JSON.stringify(name)}`);
}

/** A refused payload: every issue at its field, the first one in the message, all on one line. */
export function badRequest(method: string, error: z.ZodError): ApiOutcome {
  const issues = error.issues.map((issue) => ({ path: formatPath(issue.path), message: describeIssue(issue) }));
  const first = issues[0]!;
  return { ok: false, error: { code: 'BAD_REQUEST', message: `${method}: ${first.path ? `${first.path}: ` : ''}${first.message}`, issues } };
}

/** Any failure of a call as the one-line body every transport sends back. */
export function errorBody(error: unknown): ApiErrorBody {
  if (error instanceof ApiCallError) return { code: error.code, message: error.message };
  if (error instanceof ThreadlineError) {
    if (error.code === 'NOT_FOUND') return { code: 'NOT_FOUND', message: error.message };
    if (error.code === 'ENGINE_CLOSED') return { code: 'ENGINE_CLOSED', message: error.message };
  }
  const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
  return { code: 'INTERNAL', message };
}
