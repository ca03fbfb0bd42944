import Database from 'better-sqlite3';
import type { TaskErrorCode } from '../../contract/task-error-codes.js';
import { TaskCancelledError, TaskFailure, TaskInputError } from '../../shared/task-errors.js';

/** SQLite's primary result codes, as the stable codes tasks report. */
const CODES: Readonly<Record<string, TaskErrorCode>> = {
  SQLITE_ERROR: 'SQL_ERROR',
  SQLITE_READONLY: 'READONLY',
  SQLITE_NOTADB: 'NOT_A_DATABASE',
  SQLITE_BUSY: 'BUSY',
  SQLITE_LOCKED: 'BUSY',
  SQLITE_CONSTRAINT: 'CONSTRAINT',
  SQLITE_CORRUPT: 'CORRUPT_DATABASE',
  SQLITE_CANTOPEN: 'CANTOPEN',
  SQLITE_FULL: 'DISK_FULL',
  SQLITE_IOERR: 'IO_ERROR',
  SQLITE_PERM: 'EACCES',
  SQLITE_AUTH: 'EACCES',
  SQLITE_MISMATCH: 'SQL_ERROR',
  SQLITE_RANGE: 'SQL_PARAMS',
  SQLITE_TOOBIG: 'SQL_ERROR',
};

/** Codes that say the statement or the file named is wrong; the rest (a full disk, a lock held) are not the input's fault. */
const INPUT_CODES: ReadonlySet<TaskErrorCode> = new Set<TaskErrorCode>(['SQL_ERROR', 'SQL_PARAMS', 'READONLY', 'NOT_A_DATABASE', 'CANTOPEN', 'CONSTRAINT', 'EACCES']);

/**
 * Turns what better-sqlite3 threw into a task error: SQLite's own message, prefixed with where
 * (a file, a statement), and a stable code. Binding mistakes (wrong parameter count, a value
 * SQLite cannot bind) come as RangeError/TypeError from better-sqlite3.
 */
export function sqlError(error: unknown, where = ''): Error {
  if (error instanceof TaskFailure || error instanceof TaskCancelledError) return error;
  const prefix = where ? `${where}: ` : '';
  if (error instanceof Database.SqliteError) {
    const code = CODES[error.code.split('_').slice(0, 2).join('_')];
    if (code && INPUT_CODES.has(code)) return new TaskInputError(`${prefix}${error.message}`, code);
    return new TaskFailure(`${prefix}${error.message}`, code ?? error.code);
  }
  if (error instanceof RangeError || error instanceof TypeError) {
    const code = /statement/i.test(error.message) ? 'SQL_ERROR' : 'SQL_PARAMS';
    return new TaskInputError(`${prefix}${error.message}`, code);
  }
  return error instanceof Error ? error : new Error(String(error));
}

/** Most positional values looked for when naming the missing one (SQLite allows up to 32,766). */
const MAX_COUNTED_PARAMS = 2000;

/**
 * better-sqlite3 says "Too few parameter values were provided" without naming any. This counts
 * the positional parameters of the statement (binding more and more values to fresh copies of
 * it) and names the first one missing; null when the count cannot be found.
 */
export function missingPositionalParams(db: Database.Database, sql: string, given: number): string | null {
  for (let n = given + 1; n <= MAX_COUNTED_PARAMS; n++) {
    try {
      db.prepare(sql).bind(...new Array<null>(n).fill(null));
    } catch (error) {
      if (error instanceof RangeError && /too few/i.test(error.message)) continue;
      return null;
    }
    const missing = n - given === 1 ? `parameter ${n}` : `parameters ${given + 1} to ${n}`;
    return `params: the statement takes ${n} positional value${n === 1 ? '' : 's'} ("?"), params gives ${given}: no value for ${missing}`;
  }
  return null;
}
