import type Database from 'better-sqlite3';
import { accessSync, constants, rmSync, statSync, type Stats } from 'node:fs';
import { openDatabase } from '../../shared/open-database.js';
import { TaskInputError } from '../../shared/task-errors.js';
import { fileError } from '../../shared/file-errors.js';
import { createFolderOf } from '../../shared/output-folder.js';
import { sqlError } from './sqlite-errors.js';

/** How long a statement waits for another connection's lock before failing with BUSY. */
const BUSY_TIMEOUT_MS = 10_000;
/**
 * Page cache of a read connection, in KiB (SQLite's own default). Reads are mostly scans that
 * the OS already caches; better-sqlite3's default of 16 MB per connection would let each thread
 * keep MAX_OPEN times that after one large export, for no speed a scan can measure.
 */
const READ_CACHE_KIB = 2000;
/** Connections a thread keeps open; the least recently used beyond this are closed. */
const MAX_OPEN = 8;

export type ConnectionMode = 'read' | 'write';

/** This thread's connections by mode and file identity (device and inode), most recently used last. */
const open = new Map<string, Database.Database>();

/**
 * This thread's connection to a database file, opened on first use and reused by later tasks:
 * at most one per file and mode, whatever path names the file. `read` connections are
 * read-only twice over: opened SQLITE_OPEN_READONLY, and `query_only`.
 */
export function connection(path: string, mode: ConnectionMode, options: { create?: boolean } = {}): Database.Database {
  return openConnection(path, mode, options).db;
}

/** `connection`, and whether this call created the database file (see `discardCreatedDatabase`). */
export function openConnection(path: string, mode: ConnectionMode, options: { create?: boolean } = {}): { db: Database.Database; created: boolean } {
  const existing = checkDatabaseFile(path, mode, options.create ?? false);
  const cached = existing ? take(keyOf(mode, existing)) : undefined;
  if (cached && leftClean(cached)) {
    if (mode === 'read') cached.pragma('query_only = ON');
    open.set(keyOf(mode, existing!), cached);
    return { db: cached, created: false };
  }
  if (cached) closeQuietly(cached);
  const db = openChecked(path, mode);
  open.set(keyOf(mode, statSync(path)), db);
  while (open.size > MAX_OPEN) {
    const [oldest, evicted] = open.entries().next().value as [string, Database.Database];
    open.delete(oldest);
    closeQuietly(evicted);
  }
  return { db, created: existing === null };
}

/**
 * After a failed task that created the database file (and rolled back): closes the connection and
 * removes the file and its journals, unless something in it says another writer has used it
 * since. A database that existed before the task is never passed here.
 */
export function discardCreatedDatabase(path: string, db: Database.Database): void {
  let empty: boolean;
  try {
    if (db.inTransaction) db.exec('ROLLBACK');
    empty = (db.prepare('SELECT count(*) AS n FROM sqlite_master').get() as { n: number }).n === 0;
  } catch {
    // A file that cannot even be read back (a full disk can leave it 0 bytes) holds nothing.
    empty = true;
  }
  for (const [key, cached] of open) if (cached === db) open.delete(key);
  closeQuietly(db);
  if (!empty) return;
  for (const suffix of ['', '-journal', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true });
}

/** Closes a connection that must not serve another task (its settings were changed). */
export function discardConnection(db: Database.Database): void {
  for (const [key, cached] of open) {
    if (cached === db) open.delete(key);
  }
  closeQuietly(db);
}

/**
 * Whether an earlier task left the connection as it was opened: no open transaction, nothing
 * attached, no temporary objects. One task's state must not leak into the next; a connection
 * that carries any is closed and opened anew.
 */
function leftClean(db: Database.Database): boolean {
  try {
    // A task that failed mid-way rolled back, but never hand out an open transaction.
    if (db.inTransaction) db.exec('ROLLBACK');
    const databases = db.pragma('database_list') as Array<{ name: string }>;
    if (databases.some((d) => d.name !== 'main' && d.name !== 'temp')) return false;
    return (db.prepare('SELECT count(*) AS n FROM temp.sqlite_master').get() as { n: number }).n === 0;
  } catch {
    return false;
  }
}

function keyOf(mode: ConnectionMode, stat: Stats): string {
  return `${mode}:${stat.dev}:${stat.ino}`;
}

function take(key: string): Database.Database | undefined {
  const db = open.get(key);
  open.delete(key);
  return db?.open ? db : undefined;
}

/** Null when the file does not exist yet (and may be created). */
function checkDatabaseFile(path: string, mode: ConnectionMode, create: boolean): Stats | null {
  let stat: Stats;
  try {
    stat = statSync(path);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && create && mode === 'write') {
      // Like every output file, a new database gets the folders on its way.
      createFolderOf(path);
      return null;
    }
    if (code === 'ENOENT') throw new TaskInputError(`no such database file: ${path}`, 'ENOENT');
    throw fileError(error, path);
  }
  if (stat.isDirectory()) throw new TaskInputError(`${path} is a directory; expected a SQLite database file`, 'EISDIR');
  if (!stat.isFile()) throw new TaskInputError(`${path} is not a regular file; expected a SQLite database file`, 'NOT_A_FILE');
  try {
    accessSync(path, mode === 'read' ? constants.R_OK : constants.R_OK | constants.W_OK);
  } catch (error) {
    throw fileError(error, path);
  }
  return stat;
}

function openChecked(path: string, mode: ConnectionMode): Database.Database {
  let db: Database.Database;
  try {
    db = openDatabase(path, { readonly: mode === 'read', fileMustExist: mode === 'read', timeout: BUSY_TIMEOUT_MS });
  } catch (error) {
    throw sqlError(error, path);
  }
  try {
    // SQLite reads the header lazily; ask now, so a file that is no database fails here, clearly.
    db.pragma('schema_version', { simple: true });
    if (mode === 'read') {
      db.pragma('query_only = ON');
      db.pragma(`cache_size = -${READ_CACHE_KIB}`);
    }
  } catch (error) {
    closeQuietly(db);
    const described = sqlError(error, path);
    if ((described as { code?: string }).code === 'NOT_A_DATABASE') {
      throw new TaskInputError(`${path} is not a SQLite database`, 'NOT_A_DATABASE');
    }
    throw described;
  }
  return db;
}

function closeQuietly(db: Database.Database): void {
  try {
    if (db.open) db.close();
  } catch {
    // A connection that cannot close cleanly is dropped all the same.
  }
}
