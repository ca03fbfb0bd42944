import { TaskCancelledError, TaskInputError } from '../task-errors.js';

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
  EROFS: 'the file system is read-only',
  EMFILE: 'too many open files',
  EIO: 'input/output error',
};

/** Turns a file-system error about `path` into a task error with the errno code and a plain message. */
export function fileError(error: unknown, path: string): Error {
  if (error instanceof TaskInputError || error instanceof TaskCancelledError) return error;
  const code = (error as NodeJS.ErrnoException | null)?.code;
  if (typeof code !== 'string') return error instanceof Error ? error : new Error(String(error));
  return new TaskInputError(`${path}: ${PROBLEMS[code] ?? (error as Error).message}`, code);
}

/** The `{code, message}` a per-file failure is reported with in a result. */
export function fileProblem(error: unknown, path: string): { code: string; message: string } {
  const described = fileError(error, path);
  const code = (described as { code?: unknown }).code;
  return { code: typeof code === 'string' ? code : 'TASK_ERROR', message: described.message };
}
