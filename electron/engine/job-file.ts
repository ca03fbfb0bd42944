import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { escapePath } from 'tinyglobby';
import { parseJobText, validateJobSpec, type JobSpec, type SpecIssue } from '../../contract/job-spec.js';
import { findKind, type PathResolver } from '../../contract/kinds/index.js';
import { jobFileError, ThreadlineError } from './errors.js';

export interface LoadedJob {
  spec: JobSpec;
  /** The job file's folder: relative paths in it were resolved against this. */
  baseDir: string;
  file: string;
}

const MAX_JOB_FILE_BYTES = 256 * 1024 * 1024;

/** Reads, parses and validates a job file; throws a one-line `ThreadlineError` naming the problem. */
export function loadJobFile(file: string): LoadedJob {
  const path = resolve(file);
  let text: string;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw jobFileError(file, '', 'is a directory; expected a JSON or YAML job file');
    if (stat.size > MAX_JOB_FILE_BYTES) throw jobFileError(file, '', `is ${stat.size} bytes; the limit is ${MAX_JOB_FILE_BYTES}`);
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if (error instanceof ThreadlineError) throw error;
    const code = (error as NodeJS.ErrnoException).code;
    const problem = code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : `cannot be read (${code ?? String(error)})`;
    throw jobFileError(file, '', problem);
  }
  const baseDir = dirname(path);
  return { spec: jobSpecFromText(text, file, baseDir), baseDir, file: path };
}

/** Validates job text as if it came from `fileName` in `baseDir` (hosts use it for uploads too). */
export function jobSpecFromText(text: string, fileName: string, baseDir: string): JobSpec {
  const parsed = parseJobText(text, fileName);
  if (!parsed.ok) throw issueError(fileName, [parsed.issue]);
  const result = validateJobSpec(parsed.document);
  if (!result.ok) throw issueError(fileName, result.issues);
  return resolveJobPaths(result.spec, baseDir);
}

function issueError(file: string, issues: SpecIssue[]): ThreadlineError {
  const [first] = issues;
  const more = issues.length > 1 ? ` (and ${issues.length - 1} more problem${issues.length > 2 ? 's' : ''})` : '';
  return jobFileError(file, first!.path, (first!.message + more).replace(/\s*[\r\n]+\s*/g, ' '));
}

export function pathResolver(baseDir: string): PathResolver {
  return {
    file: (path) => (isAbsolute(path) ? path : resolve(baseDir, path)),
    glob: (pattern) => (isAbsolute(pattern) ? pattern : `${escapePath(baseDir.replaceAll('\\', '/'))}/${pattern}`),
  };
}

export function resolveJobPaths(spec: JobSpec, baseDir: string): JobSpec {
  const resolver = pathResolver(baseDir);
  return {
    ...spec,
    tasks: spec.tasks.map((task) => {
      const kind = findKind(task.kind);
      return kind?.resolvePaths ? { ...task, input: kind.resolvePaths(task.input as never, resolver) as Record<string, unknown> } : task;
    }),
  };
}
