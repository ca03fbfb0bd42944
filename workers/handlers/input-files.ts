import { closeSync, constants, fstatSync, openSync, readSync, statSync, type Stats } from 'node:fs';
import { globSync } from 'tinyglobby';
import { isGlobPattern } from '../../contract/kinds/path-list.js';
import { TaskInputError } from '../../shared/task-errors.js';
import { fileError } from '../../shared/file-errors.js';
import { pageAlignedBuffer } from './read-buffer.js';

export interface InputFile {
  path: string;
  /** From the listing; the file may change before it is read. */
  size: number;
}

/**
 * The files named by a kind's `paths`: plain paths as they are (each must be a file) and glob
 * patterns expanded (each must match a file). Duplicates are dropped; glob matches are sorted.
 */
export function expandPaths(entries: readonly string[]): InputFile[] {
  const seen = new Set<string>();
  const files: InputFile[] = [];
  for (const entry of entries) {
    for (const file of expandEntry(entry)) {
      if (seen.has(file.path)) continue;
      seen.add(file.path);
      files.push(file);
    }
  }
  return files;
}

function expandEntry(entry: string): InputFile[] {
  let stat: Stats | undefined;
  try {
    stat = statSync(entry);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if ((code !== 'ENOENT' && code !== 'ENOTDIR') || !isGlobPattern(entry)) throw fileError(error, entry);
  }
  // A name that exists is taken literally, even when it looks like a glob ("report [1].txt").
  if (stat) return [{ path: entry, size: checkRegularFile(stat, entry) }];
  const matches = globSync(entry, { absolute: true, onlyFiles: true, expandDirectories: false }).sort();
  const files: InputFile[] = [];
  for (const path of matches) {
    const found = statSync(path, { throwIfNoEntry: false });
    // Sockets, pipes and devices are not data files; a glob passes over them.
    if (!found || found.isFile()) files.push({ path, size: found?.size ?? 0 });
  }
  if (files.length === 0) throw new TaskInputError(`no file matches the pattern ${entry}`, 'NO_MATCH');
  return files;
}

function checkRegularFile(stat: Stats, path: string): number {
  if (stat.isDirectory()) {
    throw new TaskInputError(`${path} is a directory; expected a file (a glob such as ${path}/**/* takes the files in it)`, 'EISDIR');
  }
  if (!stat.isFile()) throw new TaskInputError(`${path} is not a regular file`, 'NOT_A_FILE');
  return stat.size;
}

/**
 * Opens a file for reading. Non-blocking, so that a named pipe fails here instead of hanging the
 * thread until a writer shows up. Returns the descriptor and the size at opening.
 */
export function openForReading(path: string): { fd: number; size: number } {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (error) {
    throw fileError(error, path);
  }
  try {
    return { fd, size: checkRegularFile(fstatSync(fd), path) };
  } catch (error) {
    closeSync(fd);
    throw fileError(error, path);
  }
}

const CHUNK_BYTES = 1 << 20;
/** One read buffer per thread, reused by every file it reads, page-aligned for fast copies (see `pageAlignedBuffer`). */
const chunkBuffer = pageAlignedBuffer(CHUNK_BYTES);

/**
 * Reads an open file to its end in 1 MiB chunks into a reused buffer (a chunk is valid only
 * during its call). `use` returns false to stop early. Returns the bytes read.
 */
export function forEachChunk(fd: number, path: string, use: (chunk: Buffer) => boolean | void): number {
  let total = 0;
  for (;;) {
    let n: number;
    try {
      n = readSync(fd, chunkBuffer, 0, CHUNK_BYTES, null);
    } catch (error) {
      throw fileError(error, path);
    }
    if (n === 0) return total;
    total += n;
    if (use(chunkBuffer.subarray(0, n)) === false) return total;
  }
}
