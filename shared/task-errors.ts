import type { TaskError } from '../contract/records.js';

/** Thrown inside a handler when its cancel flag is up; the entry reports it as `cancelled`. */
export class TaskCancelledError extends Error {
  override name = 'TaskCancelledError';
  readonly code = 'CANCELLED';
  constructor() {
    super('task was cancelled');
  }
}

/** A failure a handler reports on purpose, with a stable code and no stack worth showing. */
export class TaskInputError extends Error {
  override name = 'TaskInputError';
  constructor(
    message: string,
    readonly code: string = 'BAD_INPUT',
  ) {
    super(message);
  }
}

/** Turns anything a handler threw into the `{message, code, stack}` that crosses threads. */
export function toTaskError(thrown: unknown): TaskError {
  if (thrown instanceof Error) {
    const code = (thrown as { code?: unknown }).code;
    return {
      message: thrown.message || thrown.name,
      code: typeof code === 'string' && code ? code : thrown.name === 'Error' ? 'TASK_ERROR' : thrown.name,
      stack: thrown.stack,
    };
  }
  let shown: string;
  try {
    shown = typeof thrown === 'string' ? JSON.stringify(thrown) : (JSON.stringify(thrown) ?? String(thrown));
  } catch {
    shown = String(thrown);
  }
  return { message: `the task threw a non-Error value: ${shown}`, code: 'NON_ERROR_THROWN' };
}
