import { z } from 'zod';
import type { PathResolver } from './kind-spec.js';

/** Characters that make a job-file path a glob pattern (as tinyglobby reads it). */
const GLOB_SYNTAX = /[*?[\]{}]|[!@+]\(/;

export function isGlobPattern(path: string): boolean {
  return GLOB_SYNTAX.test(path);
}

/**
 * A path in a job file. No file can be named with a NUL character (the system's calls end a
 * path there), so one is refused with the job file, not found only when its task runs.
 */
export function pathSchema(expected = 'expected a path') {
  return z
    .string()
    .min(1, expected)
    .refine((path) => !path.includes('\0'), 'a path cannot hold a NUL character (\\u0000)');
}

/** `paths` of the file kinds: plain paths and glob patterns, relative to the job file. */
export const pathListSchema = z
  .array(pathSchema('expected a path or glob pattern'))
  .min(1, 'expected at least one path or glob pattern');

export function resolvePathList(paths: readonly string[], resolve: PathResolver): string[] {
  return paths.map((path) => (isGlobPattern(path) ? resolve.glob(path) : resolve.file(path)));
}
