import Database from 'better-sqlite3';

/**
 * The one place better-sqlite3 is opened, on the main thread and in pool threads alike.
 * Under Electron the Node build of the native module has the wrong ABI; the desktop host sets
 * THREADLINE_SQLITE_BINDING to an Electron build before the engine starts, and threads inherit it.
 */
export function openDatabase(file: string, options: Database.Options = {}): Database.Database {
  const nativeBinding = process.env.THREADLINE_SQLITE_BINDING;
  return new Database(file, nativeBinding ? { ...options, nativeBinding } : options);
}
