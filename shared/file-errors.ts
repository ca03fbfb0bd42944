import type { TaskErrorCode } from '../contract/task-error-codes.js';
import { TaskCancelledError, TaskFailure, TaskInputError } from './task-errors.js';

const PROBLEMS: Readonly<Record<string, string>> = {
  ENOENT: 'no such file or directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EISDIR: 'is a directory; expected a file',
  ENOTDIR: 'a folder in the path is not a directory',
  ELOOP: 'too many levels of symbolic links',
  ENAMETOOLONG: 'the name is too long',
  EEXIST: 'already exists',
  ENOSPC: 'no space left on the device',
  EDQUOT: 'the disk quota is exhausted',
  EROFS: 'the file system is read-only',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/** Errno codes reported under the code SQLite's "database or disk is full" has too, so one code means a full disk. */
const CODES: Readonly<Record<string, string>> = { ENOSPC: 'DISK_FULL', EDQUOT: 'DISK_FULL' };

/** Errnos that say the path named is wrong; the others (a full disk, too many open files) are the system's. */
const INPUT_ERRNOS: ReadonlySet<string> = new Set<TaskErrorCode>(['ENOENT', 'EACCES', 'EISDIR', 'ENOTDIR', 'EEXIST']);

/** Turns a file-system error about `path` into a task error with the errno code (or `DISK_FULL`) and a plain message. */
export function fileError(error: unknown, path: string): Error {
  if (error instanceof TaskFailure || error instanceof TaskCancelledError) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return error instanceof Error ? error : new Error(String(error));
  const message = `${path}: ${PROBLEMS[code] ?? (error as Error).message}`;
  return INPUT_ERRNOS.has(code) ? new TaskInputError(message, code as TaskErrorCode) : new TaskFailure(message, CODES[code] ?? code);
}

/** Whether a file-system error says the disk (or the user's quota on it) is full. */
export function isDiskFull(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | null)?.code;
  return typeof code === 'string' && code in CODES;
}

/** The `{code, message}` a per-file failure is reported with in a result. */
export function fileProblem(error: unknown, path: string): { code: string; message: string } {
  const described = fileError(error, path);
  const code = (described as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : 'TASK_ERROR', message: described.message };
}
