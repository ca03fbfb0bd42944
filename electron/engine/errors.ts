/**
 * Errors the engine and its hosts report to people. Each has a stable code; hosts print the
 * message alone (no stack) and map `exitCode` to the process exit status.
 */
export type ThreadlineErrorCode =
  | 'JOB_FILE_INVALID'
  | 'DATA_DIR_IN_USE'
  | 'DATA_DIR_UNUSABLE'
  | 'BUILD_MISSING'
  | 'STORE_TOO_NEW'
  | 'NOT_FOUND'
  | 'ENGINE_CLOSED'
  | 'JOB_READER_FAILED'
  | 'DISK_FULL'
  | 'STORE_WRITE_FAILED';

const EXIT_CODES: Record<ThreadlineErrorCode, number> = {
  JOB_FILE_INVALID: 2,
  DATA_DIR_IN_USE: 2,
  DATA_DIR_UNUSABLE: 2,
  // A part of Threadline itself was not built: nothing can run until it is.
  BUILD_MISSING: 2,
  STORE_TOO_NEW: 2,
  NOT_FOUND: 2,
  ENGINE_CLOSED: 1,
  // Nothing ran: like a store that cannot be opened, the job could not even be looked at.
  JOB_READER_FAILED: 2,
  // The input was fine; the surroundings failed while it ran.
  DISK_FULL: 1,
  STORE_WRITE_FAILED: 1,
};

export class ThreadlineError extends Error {
  override name = 'ThreadlineError';
  constructor(
    readonly code: ThreadlineErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  get exitCode(): number {
    return EXIT_CODES[this.code];
  }
}

export function jobFileError(file: string, where: string, problem: string): ThreadlineError {
  return new ThreadlineError('JOB_FILE_INVALID', `${file}: ${where ? `${where}: ` : ''}${problem}`);
}
