import { machineOfWorker } from '../../contract/machine-names';

/**
 * How the dashboard reads a task's worker. The strings cannot be mistaken for one another because
 * a remote machine's name may be none of this machine's own (`loop`, `pool`, `remote`, `w3`, `3`)
 * and has no `/` (`contract/machine-names.ts`, enforced by `threadline worker --name` and by the
 * orchestrator where a worker announces itself and reports).
 */

/** The machine a task's worker names (`build-07` for `build-07/3` and for `build-07` alone); null for local workers. */
export function machineOf(worker: string | number | null): string | null {
  return typeof worker === 'string' ? machineOfWorker(worker) : null;
}

/**
 * One name per executor for lanes and labels. Attempts name a pool thread `w<threadId>` (or by
 * its bare id) while telemetry lists thread ids as numbers; both become the bare id here. A
 * thread of a remote worker machine is `<machine>/<thread>` (for example `build-07/3`) and
 * stays so.
 */
export function workerId(worker: string | number | null): string | null {
  if (worker === null) return null;
  const name = String(worker);
  const thread = /^w(\d+)$/.exec(name);
  return thread ? thread[1]! : name;
}

/** A remote worker's thread: its machine (the worker's `--name`) and its thread there. */
export interface RemoteThread {
  machine: string;
  thread: string;
}

/** The machine and thread of a remote worker's name, or null for the loop and local threads. */
export function remoteThread(worker: string | number | null): RemoteThread | null {
  if (worker === null || typeof worker === 'number') return null;
  const slash = worker.lastIndexOf('/');
  if (slash <= 0 || slash === worker.length - 1) return null;
  return { machine: worker.slice(0, slash), thread: worker.slice(slash + 1) };
}

/**
 * The timeline lane of the thread an attempt ran on: `loop`, a local thread's id, or
 * `<machine>/<thread>`. Null for a worker that names no thread: a remote machine alone (a task
 * it refused, or stopped, before any of its threads took it) or an executor's fallback when no
 * thread was known. Such an attempt never ran on a thread, so it has no lane.
 */
export function threadLaneOf(worker: string): string | null {
  const id = workerId(worker)!;
  return id === 'loop' || /^\d+$/.test(id) || remoteThread(id) !== null ? id : null;
}

/** How a worker is named on screen: `loop`, `thread 7`, or what the engine said (`build-07/3`). */
export function workerLabel(worker: string | number | null): string {
  const id = workerId(worker);
  if (id === null) return '–';
  if (id === 'loop') return 'event loop';
  return /^\d+$/.test(id) ? `thread ${id}` : id;
}

/** A thread's name under its machine's header: `thread 3`. */
export function remoteThreadLabel(remote: RemoteThread): string {
  return /^\d+$/.test(remote.thread) ? `thread ${remote.thread}` : remote.thread;
}
