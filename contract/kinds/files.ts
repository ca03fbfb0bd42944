import { z } from 'zod';
import { defineKind } from './kind-spec.js';
import { pathListSchema, pathSchema, resolvePathList } from './path-list.js';

export const HASH_ALGORITHMS = ['sha256', 'sha1', 'sha512', 'md5'] as const;
export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

export const COMPRESSION_FORMATS = ['gzip', 'brotli'] as const;
export type CompressionFormat = (typeof COMPRESSION_FORMATS)[number];

function compiles(pattern: string, flags = ''): boolean {
  try {
    new RegExp(pattern, flags);
    return true;
  } catch {
    return false;
  }
}

export const fileHash = defineKind({
  name: 'file.hash',
  executor: 'pool',
  summary: 'Hashes files (paths or globs) in chunks; can write a manifest that sha256sum -c (or its sibling) checks.',
  input: () => z.object({
    paths: pathListSchema,
    algorithm: z.enum(HASH_ALGORITHMS).default('sha256'),
    /** A checksum file in the format of `sha256sum` (or `sha1sum`, `sha512sum`, `md5sum`). */
    manifest: pathSchema().optional(),
  }),
  resolvePaths: (input, resolve) => ({
    ...input,
    paths: resolvePathList(input.paths, resolve),
    ...(input.manifest === undefined ? {} : { manifest: resolve.file(input.manifest) }),
  }),
});

const compressionFields = {
  paths: pathListSchema,
  /** Where outputs go; default: beside each input. Created when missing. */
  outDir: pathSchema().optional(),
  /**
   * With `outDir`: `tree` keeps each file's folder below the inputs' common folder (two
   * `app-1.log` in different folders stay apart); `flat` puts every output in `outDir` itself.
   */
  layout: z.enum(['tree', 'flat']).default('tree'),
  /** Replace existing outputs; otherwise an existing output is an error and nothing is written. */
  overwrite: z.boolean().default(false),
};

export const fileCompress = defineKind({
  name: 'file.compress',
  executor: 'pool',
  summary: 'Compresses files to <name>.gz or <name>.br, streaming; never overwrites unless asked.',
  input: () => z.object({
    ...compressionFields,
    format: z.enum(COMPRESSION_FORMATS).default('gzip'),
    /** gzip: 0-9 (default 6); brotli: 0-11 (default 6). */
    level: z.number().int().min(0).max(11).optional(),
  }),
  resolvePaths: (input, resolve) => ({
    ...input,
    paths: resolvePathList(input.paths, resolve),
    ...(input.outDir === undefined ? {} : { outDir: resolve.file(input.outDir) }),
  }),
});

export const fileDecompress = defineKind({
  name: 'file.decompress',
  executor: 'pool',
  summary: 'Decompresses .gz or .br files to the name without the extension, streaming.',
  input: () => z.object({
    ...compressionFields,
    /** Default: from each file's extension (.gz or .br). */
    format: z.enum(COMPRESSION_FORMATS).optional(),
  }),
  resolvePaths: (input, resolve) => ({
    ...input,
    paths: resolvePathList(input.paths, resolve),
    ...(input.outDir === undefined ? {} : { outDir: resolve.file(input.outDir) }),
  }),
});

export const fileGrep = defineKind({
  name: 'file.grep',
  executor: 'pool',
  summary: 'Searches files line by line for a regular expression; binary files are skipped and counted.',
  input: () => z.object({
    paths: pathListSchema,
    pattern: z.string().min(1, 'expected a regular expression').refine((p) => compiles(p), 'not a valid regular expression'),
    /** JavaScript RegExp flags: i, m, s, u, v. */
    flags: z.string().regex(/^[imsuv]*$/, 'expected RegExp flags from i, m, s, u, v').default(''),
    /** Stop after this many matching lines. */
    maxMatches: z.number().int().min(1).max(100_000).default(1000),
  }),
  resolvePaths: (input, resolve) => ({ ...input, paths: resolvePathList(input.paths, resolve) }),
});

export const fileStats = defineKind({
  name: 'file.stats',
  executor: 'pool',
  summary: 'Counts lines, words and bytes per file and in total, as wc does.',
  input: () => z.object({ paths: pathListSchema }),
  resolvePaths: (input, resolve) => ({ ...input, paths: resolvePathList(input.paths, resolve) }),
});

export const fileKinds = [fileHash, fileCompress, fileDecompress, fileGrep, fileStats];
