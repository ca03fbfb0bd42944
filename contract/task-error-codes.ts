/**
 * Every code Threadline itself gives a failed, cancelled or skipped task: what it means, and
 * whether running the task again as it is can help (it cannot when the input or the files are
 * wrong; it may when the cause was the moment: a lock, a lost thread, a network). A code not
 * listed here comes from elsewhere: the operating system (`ENOSPC`, `ECONNREFUSED`...) or a
 * script's own error. docs/task-kinds.md shows this table (a test keeps them equal).
 */
import type { TaskError } from './records.js';

export interface TaskErrorCodeInfo {
  meaning: string;
  /** Running the task again as it is may succeed. */
  retryHelps: boolean;
}

export const TASK_ERROR_CODES = {
  // The life cycle
  CANCELLED: { meaning: 'Cancelled by a person, or by fail-fast after another task of the job failed', retryHelps: true },
  TIMED_OUT: { meaning: 'Ran longer than its timeoutMs (time Threadline was stopped or asleep not counted)', retryHelps: true },
  INTERRUPTED: { meaning: 'Stopped by a shutdown; resume runs it again', retryHelps: true },
  DEPENDENCY_NOT_MET: { meaning: 'A task it depends on did not succeed', retryHelps: false },
  PROCESS_CRASHED: { meaning: 'The whole process died while it ran, as many times as the crash budget allows', retryHelps: false },
  // Threads
  WORKER_OUT_OF_MEMORY: { meaning: 'Its worker thread went over its heap limit', retryHelps: false },
  WORKER_DIED: { meaning: 'Its worker thread ended while it ran', retryHelps: true },
  RESULT_LOST: { meaning: 'It failed, and its thread died before the error reached the engine', retryHelps: true },
  UNKNOWN_KIND: { meaning: 'No handler for its kind where it ran', retryHelps: false },
  TASK_ERROR: { meaning: 'The handler threw an Error with no code of its own', retryHelps: false },
  NON_ERROR_THROWN: { meaning: 'The handler threw something that is not an Error', retryHelps: false },
  BAD_INPUT: { meaning: 'A field of the task is out of range or does not fit the others', retryHelps: false },
  // Files
  ENOENT: { meaning: 'A named file or folder does not exist', retryHelps: false },
  EISDIR: { meaning: 'A folder where a file is expected', retryHelps: false },
  ENOTDIR: { meaning: 'A file where a folder is expected', retryHelps: false },
  EACCES: { meaning: 'Permission denied, reading a file or writing into a folder', retryHelps: false },
  EEXIST: { meaning: 'An output exists and overwrite is not set', retryHelps: false },
  NOT_A_FILE: { meaning: 'A named path is a pipe, socket or device', retryHelps: false },
  NO_MATCH: { meaning: 'A glob pattern matches no file', retryHelps: false },
  DUPLICATE_OUTPUT: { meaning: 'Two inputs would be written to the same output', retryHelps: false },
  BAD_EXTENSION: { meaning: 'A file to decompress does not end in the format\'s extension', retryHelps: false },
  CORRUPT_INPUT: { meaning: 'A file is not valid data of the format named', retryHelps: false },
  BAD_PATTERN: { meaning: 'The regular expression does not compile', retryHelps: false },
  // SQLite
  SQL_ERROR: { meaning: 'SQLite refused the statement (syntax, a missing table or column)', retryHelps: false },
  SQL_PARAMS: { meaning: 'The parameters do not fit the statement', retryHelps: false },
  NOT_A_QUERY: { meaning: 'sql.query was given a statement that returns no rows', retryHelps: false },
  READONLY: { meaning: 'A write where only reading is allowed', retryHelps: false },
  NOT_A_DATABASE: { meaning: 'The file is not a SQLite database', retryHelps: false },
  CANTOPEN: { meaning: 'The database file cannot be opened', retryHelps: false },
  CONSTRAINT: { meaning: 'A row breaks a constraint (unique, not null, foreign key, check)', retryHelps: false },
  BUSY: { meaning: 'Another connection held the database\'s lock for more than 10 s', retryHelps: true },
  DISK_FULL: { meaning: 'The disk is full', retryHelps: true },
  IO_ERROR: { meaning: 'The operating system failed a read or a write', retryHelps: true },
  CORRUPT_DATABASE: { meaning: 'The database file is damaged', retryHelps: false },
  // CSV import
  EMPTY_CSV: { meaning: 'The CSV file has no header row, or nothing at all', retryHelps: false },
  BAD_HEADER: { meaning: 'A header column has no name, or a name twice', retryHelps: false },
  BAD_CSV: { meaning: 'The CSV text cannot be parsed', retryHelps: false },
  RAGGED_CSV: { meaning: 'A row has more or fewer fields than the header', retryHelps: false },
  UNKNOWN_COLUMN: { meaning: 'A column named in columns is not in the header', retryHelps: false },
  TABLE_EXISTS: { meaning: 'The table exists and ifExists is fail', retryHelps: false },
  COLUMN_MISMATCH: { meaning: 'The existing table\'s columns do not match the file\'s', retryHelps: false },
  TYPE_MISMATCH: { meaning: 'A later value would not stay as written in the type inferred from the first rows', retryHelps: false },
  // Scripts and ctx.call
  MODULE_LOAD_FAILED: { meaning: 'The script module cannot be loaded', retryHelps: false },
  NO_SUCH_EXPORT: { meaning: 'The module has no export of that name', retryHelps: false },
  NOT_A_FUNCTION: { meaning: 'The export is not a function', retryHelps: false },
  BAD_RESULT: { meaning: 'The function\'s result cannot be stored as JSON', retryHelps: false },
  BAD_CALL: { meaning: 'ctx.call was given no service name', retryHelps: false },
  BAD_ARGUMENT: { meaning: 'A service was given an argument it does not take', retryHelps: false },
  UNKNOWN_SERVICE: { meaning: 'ctx.call named a service the engine does not offer', retryHelps: false },
  DATA_CLONE: { meaning: 'The arguments or the answer of ctx.call cannot cross between threads', retryHelps: false },
  NO_CALL_SERVICES: { meaning: 'ctx.call used where it is not available (off the worker pool)', retryHelps: false },
  CALL_FAILED: { meaning: 'A service failed with no code of its own', retryHelps: true },
  // HTTP
  HTTP_STATUS: { meaning: 'The server answered with a status outside 200-299', retryHelps: true },
  FETCH_FAILED: { meaning: 'The request failed with no code from the network', retryHelps: true },
  // Remote workers
  WORKER_CRASHED: { meaning: 'The remote workers running it were lost twice while it ran (killed, out of memory, cut off from Redis): it is taken for the cause', retryHelps: false },
  RESULT_TOO_BIG: { meaning: 'Its result is over the 1 MB a remote task may send back as JSON', retryHelps: false },
  PATH_OUTSIDE_ROOT: { meaning: "A path of the task leads outside the remote worker's --root", retryHelps: false },
  KIND_NOT_OFFERED: { meaning: 'A remote worker was handed a kind it does not run (only built-in pool kinds)', retryHelps: false },
  NO_LOCAL_POOL: { meaning: 'runOn: local, on an orchestrator with no pool of its own (--workers 0)', retryHelps: false },
  REMOTE_ERROR: { meaning: 'A remote worker could not run the task (BullMQ failed its job)', retryHelps: true },
  REMOTE_BAD_REPLY: { meaning: 'A remote worker sent back an outcome that is not one (another Threadline version?)', retryHelps: false },
  REMOTE_BAD_TASK: { meaning: 'A remote worker could not read the task from the queue (another Threadline version?)', retryHelps: false },
  REMOTE_QUEUE_ERROR: { meaning: 'The task could not be put on the Redis queue', retryHelps: true },
  // Demos
  DEMO_FAILURE: { meaning: 'demo.fail failed, as asked', retryHelps: false },
} as const satisfies Record<string, TaskErrorCodeInfo>;

export type TaskErrorCode = keyof typeof TASK_ERROR_CODES;

/** What Threadline says of a code, or null for one that came from elsewhere. */
export function describeTaskErrorCode(code: string): TaskErrorCodeInfo | null {
  return Object.hasOwn(TASK_ERROR_CODES, code) ? TASK_ERROR_CODES[code as TaskErrorCode] : null;
}

/** A task error with one of the catalogue's codes. */
export function taskError(code: TaskErrorCode, message: string): TaskError {
  return { code, message };
}
