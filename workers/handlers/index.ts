import { csvImport } from './csv-import.js';
import * as demo from './demo.js';
import { fileCompress, fileDecompress } from './file-compress.js';
import { fileGrep } from './file-grep.js';
import { fileHash } from './file-hash.js';
import { fileStats } from './file-stats.js';
import type { KindInput, KindNameOn } from '../../contract/kinds/index.js';
import type { TaskHandler } from './handler.js';
import { script } from './script.js';
import { sqlExec } from './sql-exec.js';
import { sqlQuery } from './sql-query.js';

/** The handler of every pool kind, by the name job files use: a pool kind without one is a type error. */
export const HANDLERS: { readonly [Name in KindNameOn<'pool'>]: TaskHandler<KindInput<Name>> } = {
  'sql.query': sqlQuery,
  'sql.exec': sqlExec,
  'csv.import': csvImport,
  'file.hash': fileHash,
  'file.compress': fileCompress,
  'file.decompress': fileDecompress,
  'file.grep': fileGrep,
  'file.stats': fileStats,
  script,
  'demo.echo': demo.echo,
  'demo.cpu': demo.cpu,
  'demo.block': demo.block,
  'demo.alloc': demo.alloc,
  'demo.fail': demo.fail,
};

/**
 * The handler of a pool kind, or undefined. Its input was validated against the kind's schema
 * when the engine admitted the task, which is what lets it be called with any kind's input here.
 */
export function poolHandler(kind: string): TaskHandler<unknown> | undefined {
  return Object.hasOwn(HANDLERS, kind) ? (HANDLERS[kind as KindNameOn<'pool'>] as TaskHandler<unknown>) : undefined;
}
