import { closeSync } from 'node:fs';
import type { z } from 'zod';
import type { fileStats as spec } from '../../contract/kinds/files.js';
import type { TaskContext } from '../task-context.js';
import { TaskCancelledError } from '../../shared/task-errors.js';
import { fileProblem } from '../../shared/file-errors.js';
import { expandPaths, forEachChunk, openForReading } from './input-files.js';

export interface Counts {
  lines: number;
  words: number;
  bytes: number;
}

export interface FileStatsResult {
  files: Array<({ path: string } & Counts) | { path: string; error: { code: string; message: string } }>;
  total: Counts;
  failed: number;
}

/**
 * Byte classes as `LC_ALL=C wc` sees them: white space separates words, printable characters
 * make them, and other bytes (control characters, bytes above 0x7e) neither start nor end one.
 */
const SEPARATOR = 1;
const WORD = 2;
const BYTE_CLASS = new Uint8Array(256);
for (let b = 0x21; b <= 0x7e; b++) BYTE_CLASS[b] = WORD;
for (const b of [0x09, 0x0a, 0x0b, 0x0c, 0x0d, 0x20]) BYTE_CLASS[b] = SEPARATOR;

/** Lines (newline bytes), words and bytes per file and in total, as `wc` counts them. */
export function fileStats(input: z.infer<typeof spec.input>, ctx: TaskContext): FileStatsResult {
  const files = expandPaths(input.paths);
  const total: Counts = { lines: 0, words: 0, bytes: 0 };
  const totalSize = files.reduce((sum, file) => sum + file.size, 0);
  let done = 0;
  const results: FileStatsResult['files'] = [];
  for (const file of files) {
    ctx.throwIfCancelled();
    try {
      const { fd } = openForReading(file.path);
      try {
        const counts: Counts = { lines: 0, words: 0, bytes: 0 };
        let inWord = false;
        counts.bytes = forEachChunk(fd, file.path, (chunk) => {
          let { lines, words } = counts;
          for (let i = 0; i < chunk.length; i++) {
            const byte = chunk[i]!;
            const kind = BYTE_CLASS[byte];
            if (kind === WORD) {
              if (!inWord) {
                inWord = true;
                words++;
              }
            } else if (kind === SEPARATOR) {
              inWord = false;
              if (byte === 0x0a) lines++;
            }
          }
          counts.lines = lines;
          counts.words = words;
          done += chunk.length;
          ctx.throwIfCancelled();
          ctx.progress(totalSize > 0 ? Math.min(1, done / totalSize) : null, file.path);
        });
        results.push({ path: file.path, ...counts });
        total.lines += counts.lines;
        total.words += counts.words;
        total.bytes += counts.bytes;
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      if (error instanceof TaskCancelledError) throw error;
      const problem = fileProblem(error, file.path);
      results.push({ path: file.path, error: problem });
      ctx.log(`not counted: ${problem.message}`, 'warn');
    }
  }
  return { files: results, total, failed: results.filter((file) => 'error' in file).length };
}
