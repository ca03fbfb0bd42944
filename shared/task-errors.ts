import type { TaskError } from '../contract/records.js';
import type { TaskErrorCode } from '../contract/task-error-codes.js';

/** Thrown inside a handler when its cancel flag is up; the entry reports it as `cancelled`. */
export class TaskCancelledError extends Error {
  override name = 'TaskCancelledError';
  readonly code = 'CANCELLED';
  constructor() {
    super('task was cancelled');
  }
}

/**
 * A failure a handler reports on purpose, with a stable code and no stack worth showing: one of
 * the catalogue's (contract/task-error-codes.ts), or the system's passed on as it is (an errno,
 * a network error's code). Not the input's fault: the disk is full, a lock was held too long.
 */
export class TaskFailure extends Error {
  override name = 'TaskFailure';
  constructor(
    message: string,
    readonly code: string,
  ) {
    super(message);
  }
}

/** A failure whose cause is the task's input: its fields, its files or its query are wrong. */
export class TaskInputError extends TaskFailure {
  override name = 'TaskInputError';
  declare readonly code: TaskErrorCode;
  constructor(message: string, code: TaskErrorCode = 'BAD_INPUT') {
    super(message, code);
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
