import { createHash } from 'node:crypto';
import { closeSync } from 'node:fs';
import { dirname, isAbsolute, relative } from 'node:path';
import type { z } from 'zod';
import type { fileHash as spec, HashAlgorithm } from '../../contract/kinds/files.js';
import type { TaskContext } from '../task-context.js';
import { TaskCancelledError } from '../../shared/task-errors.js';
import { fileProblem } from '../../shared/file-errors.js';
import { expandPaths, forEachChunk, openForReading } from './input-files.js';
import { OutputFile } from './output-file.js';

export interface HashedFile {
  path: string;
  size: number | null;
  digest: string | null;
  /** Why this file could not be hashed; the others were hashed all the same. */
  error?: { code: string; message: string };
}

export interface FileHashResult {
  algorithm: HashAlgorithm;
  files: HashedFile[];
  hashed: number;
  failed: number;
  bytes: number;
  manifest: string | null;
}

/**
 * Hashes each file in 1 MiB chunks, reporting progress by bytes. A file that cannot be read is
 * reported in its entry (and logged); the rest are still hashed. The manifest lists the hashed files.
 */
export function fileHash(input: z.infer<typeof spec.input>, ctx: TaskContext): FileHashResult {
  // A manifest never lists itself (from an earlier run): it could not check out.
  const files = expandPaths(input.paths).filter((file) => file.path !== input.manifest && file.path !== `${input.manifest}.partial`);
  if (input.manifest) OutputFile.check(input.manifest, { overwrite: true });
  const total = files.reduce((sum, file) => sum + file.size, 0);
  let done = 0;
  const results: HashedFile[] = [];
  for (const file of files) {
    ctx.throwIfCancelled();
    try {
      const { fd } = openForReading(file.path);
      try {
        const hash = createHash(input.algorithm);
        const size = forEachChunk(fd, file.path, (chunk) => {
          hash.update(chunk);
          done += chunk.length;
          ctx.throwIfCancelled();
          // Nothing is reported once the listed bytes are read: the task's end says it is done, a
          // message sooner says it again, and a file that grew since the listing would send one a chunk.
          if (done < total) ctx.progress(done / total, file.path);
        });
        results.push({ path: file.path, size, digest: hash.digest('hex') });
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      if (error instanceof TaskCancelledError) throw error;
      const problem = fileProblem(error, file.path);
      results.push({ path: file.path, size: null, digest: null, error: problem });
      ctx.log(`not hashed: ${problem.message}`, 'warn');
    }
  }
  if (input.manifest) writeManifest(input.manifest, results);
  const hashed = results.filter((file) => file.digest !== null).length;
  return { algorithm: input.algorithm, files: results, hashed, failed: results.length - hashed, bytes: done, manifest: input.manifest ?? null };
}

/**
 * The `sha256sum` format: `<digest>  <path>`, paths relative to the manifest's folder when
 * inside it (run the check from there). A name with a backslash or a line break is escaped the
 * way coreutils does it: the line starts with a backslash.
 */
function writeManifest(path: string, files: HashedFile[]): void {
  const folder = dirname(path);
  let text = '';
  for (const file of files) {
    if (file.digest === null) continue;
    const inside = relative(folder, file.path);
    const name = inside.startsWith('..') || isAbsolute(inside) ? file.path : inside;
    text += /[\\\n]/.test(name)
      ? `\\${file.digest}  ${name.replaceAll('\\', '\\\\').replaceAll('\n', '\\n')}\n`
      : `${file.digest}  ${name}\n`;
  }
  const output = OutputFile.open(path, { overwrite: true });
  try {
    output.write(text);
    output.commit();
  } catch (error) {
    output.discard();
    throw error;
  }
}
