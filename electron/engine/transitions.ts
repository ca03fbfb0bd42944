import { isTerminal, type JobState, type TaskState } from '../../contract/task-states.js';

/**
 * The one table of legal state changes. Every change of a task's or a job's state goes
 * through `TaskLifeCycle.transition` / `transitionJob`, which refuse anything not listed here.
 * docs/architecture.md shows the same table (a test keeps them equal).
 */
export const TASK_TRANSITIONS: Readonly<Record<TaskState, readonly TaskState[]>> = {
  // begun; stopped or skipped before it began; cut short by a shutdown; out of crash budget at a resume
  queued: ['running', 'cancelling', 'cancelled', 'skipped', 'interrupted', 'failed'],
  // ended; asked to stop; back to the queue (a retry, or its batch never ran)
  running: ['succeeded', 'failed', 'timed_out', 'cancelling', 'cancelled', 'queued'],
  // stopped as asked; or ended by itself before it saw the request
  cancelling: ['cancelled', 'timed_out', 'interrupted', 'succeeded', 'failed', 'queued'],
  succeeded: [],
  // an explicit retry (`retryTask`)
  failed: ['queued'],
  cancelled: ['queued'],
  timed_out: ['queued'],
  skipped: ['queued'],
  // resumed; cancelled while no engine held it
  interrupted: ['queued', 'cancelled'],
};

export const JOB_TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  running: ['succeeded', 'failed', 'cancelled', 'interrupted'],
  // a task of it retried
  succeeded: ['running'],
  failed: ['running'],
  cancelled: ['running'],
  // resumed, or cancelled while no engine held it
  interrupted: ['running', 'cancelled'],
};

/** A state change the table does not allow: a bug in the engine, never a user's mistake. */
export class IllegalTransitionError extends Error {
  override name = 'IllegalTransitionError';
}

/** `of` is the task's key, or the task: its key is then made only for the message of an illegal change. */
export function assertTaskTransition(of: string | { readonly key: string }, from: TaskState, to: TaskState): void {
  if (!TASK_TRANSITIONS[from].includes(to)) throw new IllegalTransitionError(`task ${typeof of === 'string' ? of : of.key}: ${from} -> ${to} is not a legal transition`);
}

export function assertJobTransition(id: string, from: JobState, to: JobState): void {
  if (!JOB_TRANSITIONS[from].includes(to)) throw new IllegalTransitionError(`job ${id}: ${from} -> ${to} is not a legal transition`);
}

/** Ended for good, or cut short by a shutdown or a crash: either way not waiting to run here. */
export function isSettled(state: TaskState): boolean {
  return isTerminal(state) || state === 'interrupted';
}
