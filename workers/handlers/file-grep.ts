import { closeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import type { z } from 'zod';
import type { fileGrep as spec } from '../../contract/kinds/files.js';
import type { TaskContext } from '../task-context.js';
import { TaskCancelledError, TaskInputError } from '../../shared/task-errors.js';
import { fileProblem } from '../../shared/file-errors.js';
import { expandPaths, forEachChunk, openForReading } from './input-files.js';

/** A file with a NUL byte in its first 8 KiB is binary (grep's rule of thumb). */
const BINARY_SNIFF_BYTES = 8192;
/** Matched lines are clipped to this many characters in the result. */
const MAX_LINE_CHARS = 1000;

export interface GrepMatch {
  path: string;
  /** 1-based. */
  line: number;
  /** 1-based, in UTF-16 code units, where the first match on the line starts. */
  column: number;
  text: string;
}

export interface FileGrepResult {
  matches: GrepMatch[];
  /** Matching lines found (at most maxMatches). */
  matchCount: number;
  filesSearched: number;
  filesMatched: number;
  binaryFilesSkipped: number;
  /** True when the search stopped at maxMatches. */
  truncated: boolean;
  errors: Array<{ path: string; code: string; message: string }>;
}

/** Searches text files line by line (UTF-8), reading in chunks; stops at `maxMatches` matching lines. */
export function fileGrep(input: z.infer<typeof spec.input>, ctx: TaskContext): FileGrepResult {
  let regex: RegExp;
  try {
    regex = new RegExp(input.pattern, input.flags);
  } catch (error) {
    throw new TaskInputError(`pattern: ${(error as Error).message}`, 'BAD_PATTERN');
  }
  const files = expandPaths(input.paths);
  const totalSize = files.reduce((sum, file) => sum + file.size, 0);
  const result: FileGrepResult = {
    matches: [],
    matchCount: 0,
    filesSearched: 0,
    filesMatched: 0,
    binaryFilesSkipped: 0,
    truncated: false,
    errors: [],
  };
  let done = 0;
  for (const file of files) {
    if (result.truncated) break;
    ctx.throwIfCancelled();
    let fd: number;
    try {
      fd = openForReading(file.path).fd;
    } catch (error) {
      result.errors.push({ path: file.path, ...fileProblem(error, file.path) });
      continue;
    }
    try {
      const before = result.matchCount;
      const outcome = searchFile(fd, file.path, regex, input.maxMatches, result, (bytes) => {
        done += bytes;
        ctx.throwIfCancelled();
        ctx.progress(totalSize > 0 ? Math.min(1, done / totalSize) : null, file.path);
      });
      if (outcome === 'binary') result.binaryFilesSkipped++;
      else result.filesSearched++;
      if (result.matchCount > before) result.filesMatched++;
    } catch (error) {
      if (error instanceof TaskCancelledError) throw error;
      result.errors.push({ path: file.path, ...fileProblem(error, file.path) });
    } finally {
      closeSync(fd);
    }
  }
  for (const error of result.errors) ctx.log(`not searched: ${error.message}`, 'warn');
  return result;
}

function searchFile(
  fd: number,
  path: string,
  regex: RegExp,
  maxMatches: number,
  result: FileGrepResult,
  onChunk: (bytes: number) => void,
): 'text' | 'binary' {
  const decoder = new StringDecoder('utf8');
  let carry = '';
  let lineNumber = 0;
  let first = true;
  let binary = false;
  const test = (line: string): boolean => {
    lineNumber++;
    const text = line.endsWith('\r') ? line.slice(0, -1) : line;
    const found = regex.exec(text);
    if (!found) return true;
    result.matchCount++;
    result.matches.push({
      path,
      line: lineNumber,
      column: found.index + 1,
      text: text.length > MAX_LINE_CHARS ? `${text.slice(0, MAX_LINE_CHARS)}…` : text,
    });
    if (result.matchCount < maxMatches) return true;
    result.truncated = true;
    return false;
  };
  forEachChunk(fd, path, (chunk) => {
    if (first) {
      first = false;
      if (chunk.subarray(0, BINARY_SNIFF_BYTES).includes(0)) {
        binary = true;
        return false;
      }
    }
    const lines = (carry + decoder.write(chunk)).split('\n');
    carry = lines.pop()!;
    for (const line of lines) if (!test(line)) return false;
    onChunk(chunk.length);
  });
  if (binary) return 'binary';
  if (!result.truncated) {
    const rest = carry + decoder.end();
    if (rest.length > 0) test(rest);
  }
  return 'text';
}
