import { execFileSync } from 'node:child_process';

/**
 * The sqlite3 command-line shell: an independent reader of the files Threadline writes, so a
 * check does not go through the code it checks.
 */
export function sqlite3(db: string, sql: string, options: { readonly?: boolean } = {}): string {
  const args = ['-batch', ...(options.readonly ? ['-readonly'] : []), db, sql];
  return execFileSync('sqlite3', args, { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 }).trim();
}

/** Rows as objects (the shell's `-json` mode); no rows is an empty list. */
export function sqlite3Json<Row>(db: string, sql: string, options: { readonly?: boolean } = {}): Row[] {
  const args = ['-batch', '-json', ...(options.readonly ? ['-readonly'] : []), db, sql];
  const out = execFileSync('sqlite3', args, { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024 }).trim();
  return out === '' ? [] : (JSON.parse(out) as Row[]);
}

export function integrityCheck(db: string): string {
  return sqlite3(db, 'PRAGMA integrity_check');
}

/** `sqlite3 db .dump | sha256sum`: one value for a database's whole content and schema. */
export function dumpChecksum(db: string): string {
  const out = execFileSync('sh', ['-c', 'sqlite3 -batch "$1" .dump | sha256sum', 'sh', db], { encoding: 'utf8' });
  return out.split(' ', 1)[0]!;
}

/** Task counts by state in a job store, read by the shell. */
export function storeStateCounts(db: string, jobId?: string): Record<string, number> {
  // Rows of a job still being admitted are not the job's yet: readers of the store skip them.
  const admitted = 'job_id IN (SELECT id FROM jobs WHERE admitted = 1)';
  const where = jobId === undefined ? ` WHERE ${admitted}` : ` WHERE job_id = '${jobId.replaceAll("'", "''")}' AND ${admitted}`;
  const rows = sqlite3Json<{ state: string; n: number }>(db, `SELECT state, count(*) AS n FROM tasks${where} GROUP BY state`, { readonly: true });
  return Object.fromEntries(rows.map((row) => [row.state, row.n]));
}
