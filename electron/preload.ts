/**
 * The bridge into the window: one API object, `window.threadline`, with the contract's
 * methods (and the desktop's own), never ipcRenderer itself. Runs sandboxed, so it is bundled
 * into one CommonJS file that requires nothing but `electron`.
 */
import { contextBridge, ipcRenderer } from 'electron';
import {
  ApiCallError,
  type ApiEvent,
  type ApiEventListener,
  type ApiMethod,
  type ApiParams,
  type ApiResults,
  type ThreadlineApi,
} from '../contract/api.js';
import type { DesktopApi, DesktopMethod, DesktopParams, DesktopResults } from '../contract/desktop-api.js';
import { IPC_CHANNELS } from './desktop/ipc-channels.js';
import type { ApiOutcome } from './hosts/api-handlers.js';

type Results = ApiResults & DesktopResults;

async function call<M extends ApiMethod | DesktopMethod>(method: M, params: unknown): Promise<Results[M]> {
  const outcome = (await ipcRenderer.invoke(IPC_CHANNELS.call, method, params ?? {})) as ApiOutcome;
  // Only the message of an error survives the context bridge, so it says everything.
  if (!outcome.ok) throw new ApiCallError(outcome.error);
  return outcome.value as Results[M];
}

function reportStreamError(error: unknown): void {
  console.error(`Threadline's event stream: ${error instanceof Error ? error.message : String(error)}`);
}

const listeners = new Set<ApiEventListener>();
ipcRenderer.on(IPC_CHANNELS.event, (_event, message: ApiEvent) => {
  for (const listener of listeners) listener(message);
});

const api = {
  snapshot: (params?: ApiParams<'snapshot'>) => call('snapshot', params),
  submitJob: (params: ApiParams<'submitJob'>) => call('submitJob', params),
  cancelTask: (params: ApiParams<'cancelTask'>) => call('cancelTask', params),
  cancelJob: (params: ApiParams<'cancelJob'>) => call('cancelJob', params),
  cancelAll: (params?: ApiParams<'cancelAll'>) => call('cancelAll', params),
  retryTask: (params: ApiParams<'retryTask'>) => call('retryTask', params),
  taskDetail: (params: ApiParams<'taskDetail'>) => call('taskDetail', params),
  runDemo: (params: ApiParams<'runDemo'>) => call('runDemo', params),
  listJobs: (params: ApiParams<'listJobs'>) => call('listJobs', params),
  jobDetail: (params: ApiParams<'jobDetail'>) => call('jobDetail', params),
  rerunJob: (params: ApiParams<'rerunJob'>) => call('rerunJob', params),
  hostInfo: (params?: ApiParams<'hostInfo'>) => call('hostInfo', params),
  listSchedules: (params?: ApiParams<'listSchedules'>) => call('listSchedules', params),
  addSchedule: (params: ApiParams<'addSchedule'>) => call('addSchedule', params),
  removeSchedule: (params: ApiParams<'removeSchedule'>) => call('removeSchedule', params),
  pauseSchedule: (params: ApiParams<'pauseSchedule'>) => call('pauseSchedule', params),
  resumeSchedule: (params: ApiParams<'resumeSchedule'>) => call('resumeSchedule', params),
  runSchedule: (params: ApiParams<'runSchedule'>) => call('runSchedule', params),
  resumeJobs: (params?: ApiParams<'resumeJobs'>) => call('resumeJobs', params),
  pickDatabase: (params?: object) => call('pickDatabase', params),
  pickFiles: (params?: object) => call('pickFiles', params),
  pickJobFile: (params?: object) => call('pickJobFile', params),
  metricsEndpoint: (params?: object) => call('metricsEndpoint', params),
  setMetricsEndpoint: (params: DesktopParams<'setMetricsEndpoint'>) => call('setMetricsEndpoint', params),
  remoteWorkers: (params?: object) => call('remoteWorkers', params),
  setRemoteWorkers: (params?: DesktopParams<'setRemoteWorkers'>) => call('setRemoteWorkers', params),

  /** Starts this window's event stream (a snapshot first); a later listener gets a fresh snapshot too. */
  subscribe(listener: ApiEventListener): () => void {
    listeners.add(listener);
    ipcRenderer.invoke(IPC_CHANNELS.subscribe).catch(reportStreamError);
    return () => {
      if (!listeners.delete(listener) || listeners.size > 0) return;
      ipcRenderer.invoke(IPC_CHANNELS.unsubscribe).catch(reportStreamError);
    };
  },
  async resync(): Promise<void> {
    await ipcRenderer.invoke(IPC_CHANNELS.resync);
  },
} satisfies ThreadlineApi & DesktopApi;

contextBridge.exposeInMainWorld('threadline', api);
