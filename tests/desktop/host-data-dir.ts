/**
 * What a desktop app hosting a data directory leaves there, read as a command beside it would:
 * serve.json as plain JSON, and the store through the sqlite3 shell, not through Threadline's code.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { STORE_FILE } from '../../electron/engine/job-store.js';
import { SERVE_INFO_FILE } from '../../electron/serve/serve-info.js';

/** The line the CLI prints when it hands a job to the desktop app; its group is the job's id. */
export const HOST_LINE = /^running on the Threadline desktop app of this data directory as job (j-\S+)$/m;

/** serve.json's fields, as the tests expect them. */
export interface ServeFile {
  url: string;
  host: string;
  port: number;
  token: string;
  pid: number;
  startedAt: number;
  app: string;
}

export function serveFileOf(dataDir: string): ServeFile {
  return JSON.parse(readFileSync(join(dataDir, SERVE_INFO_FILE), 'utf8')) as ServeFile;
}

/** A read-only query on the data directory's store, by the sqlite3 shell. */
export function sql(dataDir: string, query: string): string {
  return execFileSync('sqlite3', ['-readonly', '-cmd', '.timeout 5000', join(dataDir, STORE_FILE), query], { encoding: 'utf8' }).trim();
}
