import { closeSync, createReadStream, type WriteStream } from 'node:fs';
import { basename, dirname, join, relative, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { constants as zlib, createBrotliCompress, createBrotliDecompress, createGunzip, createGzip } from 'node:zlib';
import type { z } from 'zod';
import type { CompressionFormat, fileCompress as compressSpec, fileDecompress as decompressSpec } from '../../contract/kinds/files.js';
import type { TaskContext } from '../task-context.js';
import { TaskCancelledError, TaskFailure, TaskInputError } from '../../shared/task-errors.js';
import { fileError, isDiskFull } from '../../shared/file-errors.js';
import { expandPaths, openForReading, type InputFile } from './input-files.js';
import { OutputFile } from './output-file.js';

const EXTENSIONS: Readonly<Record<CompressionFormat, string>> = { gzip: '.gz', brotli: '.br' };
const DEFAULT_LEVEL = 6;
const CHUNK_BYTES = 1 << 20;

export interface TranscodedFile {
  input: string;
  output: string;
  bytesIn: number;
  bytesOut: number;
}

export interface FileCompressResult {
  format: CompressionFormat;
  files: TranscodedFile[];
  bytesIn: number;
  bytesOut: number;
}

interface Plan {
  file: InputFile;
  format: CompressionFormat;
  output: string;
  decode: boolean;
}

/** Compresses each file to `<name>.gz` / `<name>.br`, streaming. Outputs are checked before any is written. */
export async function fileCompress(input: z.infer<typeof compressSpec.input>, ctx: TaskContext): Promise<FileCompressResult> {
  const level = input.level ?? DEFAULT_LEVEL;
  if (input.format === 'gzip' && level > 9) throw new TaskInputError(`level: gzip levels go from 0 to 9 (got ${level})`, 'BAD_INPUT');
  const plans = expandPaths(input.paths).map((file) => ({
    file,
    format: input.format,
    output: '',
    decode: false,
  }));
  const folderOf = outputFolders(plans, input);
  for (const plan of plans) plan.output = join(folderOf(plan.file.path), basename(plan.file.path) + EXTENSIONS[input.format]);
  return transcodeAll(plans, input, ctx, (format) =>
    format === 'gzip'
      ? createGzip({ level, chunkSize: CHUNK_BYTES })
      : createBrotliCompress({ chunkSize: CHUNK_BYTES, params: { [zlib.BROTLI_PARAM_QUALITY]: level } }),
  );
}

/** Decompresses `.gz` / `.br` files to the name without the extension, streaming. */
export async function fileDecompress(input: z.infer<typeof decompressSpec.input>, ctx: TaskContext): Promise<FileCompressResult> {
  const folderOf = outputFolders(expandPaths(input.paths).map((file) => ({ file })), input);
  const plans = expandPaths(input.paths).map((file) => {
    const name = basename(file.path);
    const format = input.format ?? formatOfName(name);
    const extension = format ? EXTENSIONS[format] : null;
    if (!format || !extension || !name.toLowerCase().endsWith(extension) || name.length === extension.length) {
      const expected = input.format ? `a name ending in ${EXTENSIONS[input.format]}` : 'a name ending in .gz or .br';
      throw new TaskInputError(`${file.path}: expected ${expected} (the output is the name without it)`, 'BAD_EXTENSION');
    }
    return { file, format, output: join(folderOf(file.path), name.slice(0, -extension.length)), decode: true };
  });
  return transcodeAll(plans, input, ctx, (format) => (format === 'gzip' ? createGunzip({ chunkSize: CHUNK_BYTES }) : createBrotliDecompress({ chunkSize: CHUNK_BYTES })));
}

/**
 * Where each input's output goes: beside it; or in `outDir`, below it at the input's folder
 * relative to the folder all inputs share (`tree`), or in `outDir` itself (`flat`).
 */
function outputFolders(plans: Array<{ file: InputFile }>, options: { outDir?: string; layout: 'tree' | 'flat' }): (path: string) => string {
  const outDir = options.outDir;
  if (outDir === undefined) return (path) => dirname(path);
  if (options.layout === 'flat') return () => outDir;
  const base = commonFolder(plans.map((plan) => dirname(plan.file.path)));
  return (path) => join(outDir, relative(base, dirname(path)));
}

/** The deepest folder that holds every one of these absolute folders. */
function commonFolder(folders: string[]): string {
  if (folders.length === 0) return sep;
  let common = folders[0]!.split(sep);
  for (const folder of folders.slice(1)) {
    const parts = folder.split(sep);
    let n = 0;
    while (n < common.length && n < parts.length && common[n] === parts[n]) n++;
    common = common.slice(0, n);
  }
  return common.join(sep) || sep;
}

function formatOfName(name: string): CompressionFormat | null {
  const lower = name.toLowerCase();
  if (lower.endsWith('.gz')) return 'gzip';
  if (lower.endsWith('.br')) return 'brotli';
  return null;
}

async function transcodeAll(
  plans: Plan[],
  options: { outDir?: string; overwrite: boolean; format?: CompressionFormat },
  ctx: TaskContext,
  codec: (format: CompressionFormat) => Transform,
): Promise<FileCompressResult> {
  checkOutputs(plans, options);
  const total = plans.reduce((sum, plan) => sum + plan.file.size, 0);
  let done = 0;
  const files: TranscodedFile[] = [];
  for (const plan of plans) {
    ctx.throwIfCancelled();
    files.push(
      await transcode(plan, codec(plan.format), options.overwrite, ctx, (bytes) => {
        done += bytes;
        ctx.progress(total > 0 ? Math.min(1, done / total) : null, plan.file.path);
      }),
    );
  }
  const sum = (pick: (file: TranscodedFile) => number) => files.reduce((acc, file) => acc + pick(file), 0);
  return { format: plans[0]?.format ?? options.format ?? 'gzip', files, bytesIn: sum((f) => f.bytesIn), bytesOut: sum((f) => f.bytesOut) };
}

/** Nothing is written unless every output can be: no clashes, no existing file (unless overwrite). */
function checkOutputs(plans: Plan[], options: { outDir?: string; overwrite: boolean }): void {
  const taken = new Map<string, string>();
  for (const plan of plans) {
    const other = taken.get(plan.output);
    if (other) throw new TaskInputError(`${plan.file.path} and ${other} would both be written to ${plan.output}`, 'DUPLICATE_OUTPUT');
    taken.set(plan.output, plan.file.path);
    OutputFile.check(plan.output, { overwrite: options.overwrite });
  }
}

async function transcode(plan: Plan, codec: Transform, overwrite: boolean, ctx: TaskContext, onBytes: (bytes: number) => void): Promise<TranscodedFile> {
  const { fd } = openForReading(plan.file.path);
  let output: OutputFile;
  let sink: WriteStream;
  try {
    ({ output, sink } = OutputFile.streamed(plan.output, { overwrite }));
  } catch (error) {
    closeSync(fd);
    throw error;
  }
  let bytesIn = 0;
  // Counts what is read and looks at the cancel flag between chunks.
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      if (ctx.cancelled) {
        done(new TaskCancelledError());
        return;
      }
      bytesIn += chunk.length;
      onBytes(chunk.length);
      done(null, chunk);
    },
  });
  try {
    await pipeline(createReadStream('', { fd, highWaterMark: CHUNK_BYTES }), meter, codec, sink);
    output.bytes = sink.bytesWritten;
    output.commit();
  } catch (error) {
    output.discard();
    throw describeFailure(error, plan);
  }
  return { input: plan.file.path, output: plan.output, bytesIn, bytesOut: output.bytes };
}

function describeFailure(error: unknown, plan: Plan): Error {
  if (error instanceof TaskCancelledError || error instanceof TaskFailure) return error;
  // File-system errors name a system call; anything else came from the codec. A read or write on
  // an open file names no path: a full disk and any write are the output's, a read the input's.
  const errno = error as NodeJS.ErrnoException;
  if (errno?.syscall) {
    const onOutput = errno.path === `${plan.output}.partial` || (errno.path === undefined && (isDiskFull(error) || errno.syscall !== 'read'));
    return fileError(error, onOutput ? plan.output : (errno.path ?? plan.file.path));
  }
  if (!plan.decode) return error instanceof Error ? error : new Error(String(error));
  return new TaskInputError(`${plan.file.path}: not valid ${plan.format} data (${(error as Error).message})`, 'CORRUPT_INPUT');
}
