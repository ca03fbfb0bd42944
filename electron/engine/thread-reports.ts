/** What the pool makes of what its threads report: a thread's loss, and text a user's code posted. */

/** The error of the tasks of a thread that died (or was ended for its memory). */
export function describeThreadLoss(error: unknown) {
  const code = (error as { code?: unknown })?.code;
  const message = error instanceof Error ? error.message : String(error);
  if (code === 'ERR_WORKER_OUT_OF_MEMORY') {
    return { code: 'WORKER_OUT_OF_MEMORY', message: `the worker thread ran out of memory (${message})` };
  }
  return { code: typeof code === 'string' ? code : 'WORKER_DIED', message: `the worker thread died: ${message}` };
}

/** Text of a value a user's code posted: whatever it is, never a throw. */
export function printable(value: unknown): string {
  if (typeof value === 'string') return value;
  try {
    return String(value);
  } catch {
    return `[a ${typeof value} that cannot be shown as text]`;
  }
}
