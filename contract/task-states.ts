/** The life cycle of a task. See docs/architecture.md for the diagram. */
export const TASK_STATES = [
  'queued',
  'running',
  'cancelling',
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
  'skipped',
  'interrupted',
] as const;

export type TaskState = (typeof TASK_STATES)[number];

/** States a task never leaves (except by an explicit retry). */
export const TERMINAL_STATES: ReadonlySet<TaskState> = new Set<TaskState>([
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
  'skipped',
]);

export function isTerminal(state: TaskState): boolean {
  return TERMINAL_STATES.has(state);
}

/** A job's state is derived from its tasks. */
export const JOB_STATES = ['running', 'succeeded', 'failed', 'cancelled', 'interrupted'] as const;
export type JobState = (typeof JOB_STATES)[number];

/** What a job does when one of its tasks fails: run the rest anyway, or cancel them. */
export const FAILURE_POLICIES = ['continue', 'fail-fast'] as const;
export type FailurePolicy = (typeof FAILURE_POLICIES)[number];

/** Where a kind runs: on the worker pool (sync work) or on the event loop (async work). */
export type KindExecutor = 'pool' | 'loop';
