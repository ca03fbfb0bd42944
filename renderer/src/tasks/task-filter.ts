import type { TaskAttempt, TaskRecord } from '../../../contract/records';
import { isTerminal, type TaskState } from '../../../contract/task-states';
import { machineOf, workerLabel } from '../worker-names';

/** `active`: not ended yet (queued, running, cancelling, interrupted). */
export type StateFilter = 'all' | 'active' | TaskState;

export interface TaskFilter {
  state: StateFilter;
  /** A job id, or null for every job. */
  jobId: string | null;
  /**
   * A remote machine's name: only the tasks one of its threads ran or runs, and those it refused
   * before a thread took them, in any attempt; null for tasks wherever they ran.
   */
  machine: string | null;
  /** Matched case-insensitively against the task id, kind, worker, job id, and error message and code. */
  text: string;
}

export const NO_FILTER: TaskFilter = { state: 'all', jobId: null, machine: null, text: '' };

export function isFiltering(filter: TaskFilter): boolean {
  return filter.state !== 'all' || filter.jobId !== null || filter.machine !== null || filter.text.trim() !== '';
}

/** Did an attempt of the task run on `machine`, or did that machine refuse it? By name, never by prefix (`build-1` is not `build-10`). */
export function ranOnMachine(task: TaskRecord, attempts: readonly TaskAttempt[] | undefined, machine: string): boolean {
  return machineOf(task.worker) === machine || (attempts ?? []).some((attempt) => machineOf(attempt.worker) === machine);
}

export function matchesFilter(task: TaskRecord, filter: TaskFilter, needle: string, attempts?: readonly TaskAttempt[]): boolean {
  if (filter.jobId !== null && task.jobId !== filter.jobId) return false;
  if (filter.machine !== null && !ranOnMachine(task, attempts, filter.machine)) return false;
  if (filter.state === 'active') {
    if (isTerminal(task.state)) return false;
  } else if (filter.state !== 'all' && task.state !== filter.state) return false;
  if (needle === '') return true;
  return (
    task.id.toLowerCase().includes(needle) ||
    task.kind.toLowerCase().includes(needle) ||
    (task.worker !== null && workerLabel(task.worker).toLowerCase().includes(needle)) ||
    task.jobId.toLowerCase().includes(needle) ||
    (task.error !== null && (task.error.message.toLowerCase().includes(needle) || task.error.code.toLowerCase().includes(needle)))
  );
}

/** The keys of the tasks that pass, in table order. Without a filter, `order` itself (no copy). */
export function filterTaskKeys(
  order: readonly string[],
  tasks: ReadonlyMap<string, TaskRecord>,
  filter: TaskFilter,
  attempts: ReadonlyMap<string, readonly TaskAttempt[]> = new Map(),
): readonly string[] {
  if (!isFiltering(filter)) return order;
  const needle = filter.text.trim().toLowerCase();
  const out: string[] = [];
  for (const key of order) {
    const task = tasks.get(key);
    if (task && matchesFilter(task, filter, needle, attempts.get(key))) out.push(key);
  }
  return out;
}

/** Cancel applies to a task that has not ended; Retry to one that ended other than succeeded. */
export function canCancel(state: TaskState): boolean {
  return !isTerminal(state) && state !== 'interrupted';
}

export function canRetry(state: TaskState): boolean {
  return isTerminal(state) && state !== 'succeeded';
}

/** How long the task waited in the queue for its latest attempt (so far, while it still waits). */
export function waitOf(task: TaskRecord, now: number): number | null {
  if (task.startedAt !== null && task.startedAt >= task.queuedAt) return task.startedAt - task.queuedAt;
  if (task.state === 'queued') return now - task.queuedAt;
  return null;
}

/** How long its latest attempt ran (so far, while it runs). */
export function durationOf(task: TaskRecord, now: number): number | null {
  if (task.startedAt === null) return null;
  if (task.finishedAt !== null && task.finishedAt >= task.startedAt) return task.finishedAt - task.startedAt;
  return task.state === 'running' || task.state === 'cancelling' ? now - task.startedAt : null;
}
