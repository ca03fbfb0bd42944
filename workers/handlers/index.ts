import { csvImport } from './csv-import.js';
import * as demo from './demo.js';
import { fileCompress, fileDecompress } from './file-compress.js';
import { fileGrep } from './file-grep.js';
import { fileHash } from './file-hash.js';
import { fileStats } from './file-stats.js';
import type { TaskHandler } from './handler.js';
import { script } from './script.js';
import { sqlExec } from './sql-exec.js';
import { sqlQuery } from './sql-query.js';

/** The pool kinds this worker can run, by the name job files use. */
export const HANDLERS: Readonly<Record<string, TaskHandler<never>>> = {
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
