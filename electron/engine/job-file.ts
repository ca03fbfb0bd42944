import { isUtf8 } from 'node:buffer';
import { open, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { JobSpec, SpecIssue } from '../../contract/job-spec.js';
import { jobFileError, ThreadlineError } from './errors.js';
import { readJobText, type JobReaderOptions } from './job-reader.js';
import { readJobTextHere } from './job-text.js';

export { pathResolver, resolveJobPaths } from './job-text.js';

export interface LoadedJob {
  spec: JobSpec;
  /** The job file's folder: relative paths in it were resolved against this. */
  baseDir: string;
  file: string;
  /** The file's text, as read (a host that owns the data directory reads it again). */
  text: string;
}

const MAX_JOB_FILE_BYTES = 256 * 1024 * 1024;

/**
 * Reads, parses and validates a job file (a big one in a thread, see `readJobText`); rejects
 * with a one-line `ThreadlineError` naming the problem.
 */
export async function loadJobFile(file: string, options: JobReaderOptions = {}): Promise<LoadedJob> {
  const path = resolve(file);
  let text: string;
  try {
    const stats = await stat(path);
    if (stats.isDirectory()) throw jobFileError(file, '', 'is a directory; expected a JSON or YAML job file');
    if (stats.size > MAX_JOB_FILE_BYTES) throw jobFileError(file, '', `is ${stats.size} bytes; the limit is ${MAX_JOB_FILE_BYTES}`);
    text = await readAtMost(path, stats.size, MAX_JOB_FILE_BYTES, file);
  } catch (error) {
    if (error instanceof ThreadlineError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot be read (${code ?? String(error)})`;
    throw jobFileError(file, '', problem);
  }
  const baseDir = dirname(path);
  const read = await readJobText(text, file, baseDir, options);
  if (!read.ok) throw issueError(file, read.issues);
  return { spec: read.spec, baseDir, file: path, text };
}

/**
 * The file's text, read until it ends or passes `limit` bytes: a device, a pipe or a file that
 * grows while read has no size to check first, and /dev/zero would fill memory for ever.
 * `sizeHint` (the size stat gave) lets a regular file be read in one go.
 */
async function readAtMost(path: string, sizeHint: number, limit: number, file: string): Promise<string> {
  const handle = await open(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(sizeHint + 1 - total, 64 * 1024), limit + 1 - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(bytesRead === chunk.length ? chunk : chunk.subarray(0, bytesRead));
      total += bytesRead;
      if (total > limit) throw jobFileError(file, '', `is more than ${limit} bytes long; the limit is ${limit}`);
    }
    return jobText(Buffer.concat(chunks, total), file);
  } finally {
    await handle.close();
  }
}

/**
 * The bytes as text. JSON and YAML files are UTF-8: a file in another encoding is refused by
 * name rather than read with its bytes replaced (a path in it would then name another file).
 */
function jobText(bytes: Buffer, file: string): string {
  if ((bytes[0] === 0xff && bytes[1] === 0xfe) || (bytes[0] === 0xfe && bytes[1] === 0xff)) {
    throw jobFileError(file, '', 'is UTF-16 text (it starts with a UTF-16 byte order mark); expected UTF-8');
  }
  if (!isUtf8(bytes)) throw jobFileError(file, '', 'holds bytes that are not UTF-8 text; expected a UTF-8 JSON or YAML job file');
  return bytes.toString('utf8');
}

/** Validates job text as if it came from `fileName` in `baseDir`, on the calling thread. */
export function jobSpecFromText(text: string, fileName: string, baseDir: string): JobSpec {
  const read = readJobTextHere(text, fileName, baseDir);
  if (!read.ok) throw issueError(fileName, read.issues);
  return read.spec;
}

/** Problems named in a refusal, one line each; beyond these a last line counts the rest. */
export const ISSUES_SHOWN = 10;

/** Every problem of a job file (up to ten), one line each, each naming the file and the field. */
export function describeIssues(file: string, issues: SpecIssue[]): string {
  const oneLine = (text: string) => text.replace(/\s*[\r\n]+\s*/g, ' ');
  const lines = issues.slice(0, ISSUES_SHOWN).map((issue) => `${file}: ${issue.path ? `${issue.path}: ` : ''}${oneLine(issue.message)}`);
  const rest = issues.length - ISSUES_SHOWN;
  if (rest > 0) lines.push(`${file}: and ${rest} more problem${rest === 1 ? '' : 's'}`);
  return lines.join('\n');
}

function issueError(file: string, issues: SpecIssue[]): ThreadlineError {
  return new ThreadlineError('JOB_FILE_INVALID', describeIssues(file, issues));
}
