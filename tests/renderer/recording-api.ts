/** A host for component tests: records every call, answers as told, and pushes events on demand. */
import type { ApiEvent, ApiEventListener, ApiMethod, ApiResults, ThreadlineApi } from '../../contract/api';
import type { JobRecord } from '../../contract/records';
import { job } from './records';

export interface RecordedCall {
  method: ApiMethod | 'pickDatabase' | 'pickFiles' | 'pickJobFile';
  params: unknown;
}

type Answers = { [M in ApiMethod]?: (params: never) => ApiResults[M] | Promise<ApiResults[M]> };

export class RecordingApi implements ThreadlineApi {
  readonly calls: RecordedCall[] = [];
  readonly listeners = new Set<ApiEventListener>();
  resyncs = 0;
  answers: Answers = {};

  private answer<M extends ApiMethod>(method: M, params: unknown, fallback: ApiResults[M]): Promise<ApiResults[M]> {
    this.calls.push({ method, params });
    const answer = this.answers[method] as ((params: unknown) => ApiResults[M] | Promise<ApiResults[M]>) | undefined;
    return Promise.resolve(answer ? answer(params) : fallback);
  }

  callsOf(method: RecordedCall['method']): unknown[] {
    return this.calls.filter((c) => c.method === method).map((c) => c.params);
  }

  emit(event: ApiEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  snapshot = (params?: object) => this.answer('snapshot', params, { at: 0, jobs: [], tasks: [], attempts: {}, telemetry: [], counts: {} as never });
  submitJob = (params: { text: string; fileName: string }) => this.answer('submitJob', params, { ok: true, job: job({ id: 'j-new', name: 'submitted' }) as JobRecord });
  cancelTask = (params: { key: string }) => this.answer('cancelTask', params, { cancelled: true });
  cancelJob = (params: { jobId: string }) => this.answer('cancelJob', params, { cancelled: 3 });
  cancelAll = (params?: object) => this.answer('cancelAll', params, { cancelled: 5 });
  retryTask = (params: { key: string }) => this.answer('retryTask', params, { retried: true });
  taskDetail = (params: { key: string }) => this.answer('taskDetail', params, { task: undefined as never, attempts: [], logs: [] });
  runDemo = (params: { inline: boolean }) =>
    this.answer('runDemo', params, params.inline ? { mode: 'inline', slices: 9, blockedMs: 5412.5, longestStallMs: 1003.2 } : { mode: 'pool', job: job({ id: 'j-demo', name: 'demo' }) });
  listJobs = (params: { history: boolean; search?: string }) => this.answer('listJobs', params, { jobs: [] });
  jobDetail = (params: { jobId: string }) =>
    this.answer('jobDetail', params, { job: { ...job({ id: params.jobId, name: 'past' }), counts: {} }, tasks: [], attempts: {} });
  rerunJob = (params: { jobId: string; failedOnly: boolean }) => this.answer('rerunJob', params, { ok: true, job: job({ id: 'j-rerun', name: 'again' }) });
  hostInfo = (params?: object) => this.answer('hostInfo', params, { defaultBaseDir: '/srv/threadline' });
  listSchedules = (params?: object) => this.answer('listSchedules', params, { schedules: [] });
  addSchedule = (params: { text: string; fileName: string }) => this.answer('addSchedule', params, { ok: false, issues: [] });
  removeSchedule = (params: { name: string }) => this.answer('removeSchedule', params, { removed: params.name });
  pauseSchedule = (params: { name: string }) => this.answer('pauseSchedule', params, { schedule: undefined as never });
  resumeSchedule = (params: { name: string }) => this.answer('resumeSchedule', params, { schedule: undefined as never });
  runSchedule = (params: { name: string }) => this.answer('runSchedule', params, { run: undefined as never });
  resumeJobs = (params?: object) => this.answer('resumeJobs', params, { jobs: [] });

  subscribe(listener: ApiEventListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async resync(): Promise<void> {
    this.resyncs++;
  }
}

/** The desktop host's API: the same, plus native pickers. */
export class RecordingDesktopApi extends RecordingApi {
  pickDatabase = async () => {
    this.calls.push({ method: 'pickDatabase', params: undefined });
    return { path: '/home/me/chinook.sqlite' };
  };
  pickFiles = async () => {
    this.calls.push({ method: 'pickFiles', params: undefined });
    return { paths: ['/data/a.csv', '/data/b.csv'] };
  };
  pickJobFile = async () => {
    this.calls.push({ method: 'pickJobFile', params: undefined });
    return { job: { fileName: '/jobs/nightly.json', text: '{"name":"n","tasks":[{"id":"a","kind":"demo.echo"}]}', baseDir: '/jobs' } };
  };
}
