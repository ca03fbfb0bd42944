import type Database from 'better-sqlite3';
import { mkdirSync, readFileSync, statSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { openDatabase } from '../../shared/open-database.js';
import { ThreadlineError } from './errors.js';
import { isDiskFull, STORE_FILE, storeWriteError } from './job-store.js';

/**
 * The file whose lock says a data directory is owned. It stays empty: only SQLite's locks on it
 * matter. Nothing but SQLite may open it in an engine's process: closing any other descriptor
 * of it would drop the process's POSIX locks.
 */
export const LOCK_FILE = 'threadline.lock';

/** How long a starting engine waits for readers (`threadline jobs` marking a dead owner's tasks) to let go. */
const READERS_WAIT_MS = 10_000;

/**
 * Ownership of a data directory, held by the operating system rather than written down: an
 * exclusive SQLite lock on `threadline.lock`, kept by an open `BEGIN EXCLUSIVE` transaction for
 * the engine's life. The kernel drops it the moment the process dies (SIGKILL, a crash, a pid
 * namespace torn down, before any reaping), whatever its pid or host name; within one process,
 * SQLite keeps two connections from both holding it.
 *
 * Readers take the same file's shared lock for a moment (`whileUnowned`), which an owner's
 * exclusive lock refuses at once; so a starting engine first asks for the shared lock too: if it
 * is refused, an owner holds (or is taking) the directory and the engine is refused without
 * waiting. Otherwise it asks for the exclusive lock, and waits only while readers hold theirs.
 */
export class StoreLock {
  private constructor(
    private readonly db: Database.Database,
    readonly dataDir: string,
  ) {}

  /** Takes the data directory, or throws `DATA_DIR_IN_USE` naming the live owner. */
  static take(dataDir: string): StoreLock {
    const db = openLock(dataDir, true);
    try {
      const deadline = Date.now() + READERS_WAIT_MS;
      let noJournal = false;
      for (;;) {
        if (!tryShared(db, () => undefined)) throw inUse(dataDir);
        noJournal ||= memoryJournal(db);
        if (noJournal && tryExclusive(db)) return new StoreLock(db, dataDir);
        // An owner took it in between (the next shared try says so), or readers hold it.
        if (Date.now() > deadline) throw inUse(dataDir);
        sleep(2 + Math.random() * 8);
      }
    } catch (error) {
      db.close();
      throw error;
    }
  }

  release(): void {
    if (!this.db.open) return;
    if (this.db.inTransaction) this.db.exec('ROLLBACK');
    this.db.close();
  }
}

/**
 * Runs `work` only if no engine owns the data directory, and keeps engines from taking it until
 * `work` returns. Returns whether it ran. Never waits: an owner's lock answers at once.
 */
export function whileUnowned(dataDir: string, work: () => void): boolean {
  const db = openLock(dataDir, false);
  try {
    return tryShared(db, work);
  } finally {
    db.close();
  }
}

function openLock(dataDir: string, create: boolean): Database.Database {
  try {
    if (create) mkdirSync(dataDir, { recursive: true });
    const db = openDatabase(join(dataDir, LOCK_FILE));
    // Waiting is decided here, not inside SQLite, whose busy handler cannot tell an owner from a reader.
    db.pragma('busy_timeout = 0');
    return db;
  } catch (error) {
    // mkdir's EEXIST (or SQLite's ENOTDIR) would not say what is wrong with it.
    if (isSomethingElse(dataDir)) {
      throw new ThreadlineError('DATA_DIR_UNUSABLE', `the data directory ${dataDir} is not a folder`, { cause: error });
    }
    throw new ThreadlineError('DATA_DIR_UNUSABLE', `cannot open the lock of the data directory ${dataDir}: ${(error as Error).message}`, { cause: error });
  }
}

/** Whether `path` is there but is no folder (a file, a device). */
function isSomethingElse(path: string): boolean {
  try {
    return !statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Holds the shared lock while `work` runs; false, without running it, if an owner holds or takes the exclusive one. */
function tryShared(db: Database.Database, work: () => void): boolean {
  db.exec('BEGIN');
  try {
    db.prepare('SELECT count(*) FROM sqlite_master').get();
  } catch (error) {
    db.exec('ROLLBACK');
    if (isBusy(error)) return false;
    throw unusable(db, error);
  }
  try {
    work();
    return true;
  } finally {
    if (db.inTransaction) db.exec('ROLLBACK');
  }
}

/**
 * Nothing is ever written to the lock file: with the journal in memory no journal file is made,
 * so the lock is taken even on a full disk. Setting it reads the file, so it too can find it busy.
 */
function memoryJournal(db: Database.Database): boolean {
  try {
    db.pragma('journal_mode = MEMORY');
    return true;
  } catch (error) {
    if (isBusy(error)) return false;
    throw unusable(db, error);
  }
}

function tryExclusive(db: Database.Database): boolean {
  try {
    db.exec('BEGIN EXCLUSIVE');
    return true;
  } catch (error) {
    if (isBusy(error)) return false;
    throw unusable(db, error);
  }
}

function isBusy(error: unknown): boolean {
  return (error as { code?: string }).code === 'SQLITE_BUSY';
}

function unusable(db: Database.Database, error: unknown): ThreadlineError {
  if (isDiskFull(error)) return storeWriteError(error, dirname(db.name));
  return new ThreadlineError('DATA_DIR_UNUSABLE', `cannot lock ${db.name}: ${(error as Error).message}`, { cause: error });
}

function inUse(dataDir: string): ThreadlineError {
  const owner = readOwner(dataDir);
  const here = owner?.host === hostname();
  const stopped = here && isStopped(owner.pid) ? `, stopped: \`kill -CONT ${owner.pid}\` or \`fg\` in its terminal lets it go on` : '';
  const who = owner ? ` (pid ${owner.pid}${here ? '' : ` on ${owner.host}`}${stopped})` : '';
  return new ThreadlineError('DATA_DIR_IN_USE', `the data directory ${dataDir} is in use by another Threadline${who}; stop it or pass another --data-dir`);
}

/**
 * Whether a process of this machine is stopped (Ctrl-Z, SIGSTOP): it holds the lock but does
 * nothing, and "stop it" alone would not tell the user why the data directory is still taken.
 * Read from /proc; where there is none, not said.
 */
function isStopped(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // "pid (name) state ...": the name may hold spaces and parentheses; the state follows the last ')'.
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'T';
  } catch {
    return false;
  }
}

/** Who the owner says it is, for the message only: the lock, not this row, decides. */
function readOwner(dataDir: string): { pid: number; host: string } | null {
  let db: Database.Database | null = null;
  try {
    db = openDatabase(join(dataDir, STORE_FILE), { readonly: true, fileMustExist: true });
    db.pragma('busy_timeout = 1000');
    return (db.prepare('SELECT pid, host FROM owner WHERE id = 1').get() as { pid: number; host: string } | undefined) ?? null;
  } catch {
    // A store still being created by the owner: no name to give.
    return null;
  } finally {
    db?.close();
  }
}

const sleeper = new Int32Array(new SharedArrayBuffer(4));
/** Ownership is taken in the engine's constructor, which is synchronous. */
function sleep(ms: number): void {
  try {
    Atomics.wait(sleeper, 0, 0, ms);
  } catch {
    // A main thread that may not block on Atomics (as in some embedders): spin for these few ms.
    const until = performance.now() + ms;
    while (performance.now() < until);
  }
}
