/**
 * Job text to a runnable JobSpec: parse, validate, resolve relative paths. No I/O and no thread
 * of its own, so the main thread (small texts, sync callers) and the job reader thread (big
 * texts) run exactly the same steps.
 */
import { isAbsolute, resolve } from 'node:path';
import { escapePath } from 'tinyglobby';
import { parseJobText, validateJobSpec, type JobSpec, type SpecIssue } from '../../contract/job-spec.js';
import { findKind, type PathResolver } from '../../contract/kinds/index.js';
import { TOO_DEEP, tooDeepAt } from '../../shared/nesting.js';

export type JobReadResult = { ok: true; spec: JobSpec } | { ok: false; issues: SpecIssue[] };

/** Reads job text as if it came from `fileName` in `baseDir`, on the calling thread. */
export function readJobTextHere(text: string, fileName: string, baseDir: string): JobReadResult {
  // A UTF-8 byte order mark, as some editors write at the start of a file, is no part of the text.
  const parsed = parseJobText(text.charCodeAt(0) === 0xfeff ? text.slice(1) : text, fileName);
  if (!parsed.ok) return { ok: false, issues: [parsed.issue] };
  // Before anything walks it: validation, the store and the pool's threads all recurse per level.
  const deep = tooDeepAt(parsed.document);
  if (deep !== null) return { ok: false, issues: [{ path: deep.replace(/^\./, ''), message: TOO_DEEP }] };
  const result = validateJobSpec(parsed.document);
  if (!result.ok) return result;
  return { ok: true, spec: resolveJobPaths(result.spec, baseDir) };
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
