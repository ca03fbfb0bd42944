/**
 * better-sqlite3 for Electron's ABI. node_modules holds the Node build (the CLI and the tests
 * use it); `npm start` puts an Electron build in native/electron/ (scripts/start-desktop.mjs),
 * and a packaged app has node_modules rebuilt for Electron by electron-builder.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export const ELECTRON_SQLITE_DIR = join('native', 'electron');
export const ELECTRON_SQLITE_BINARY = 'better_sqlite3.node';
/** Written next to the binary: which Electron and ABI it was built for. */
export const ELECTRON_SQLITE_STAMP = 'build.json';

export interface ElectronSqliteStamp {
  electron: string;
  /** NODE_MODULE_VERSION of that Electron. */
  modules: string;
  betterSqlite3: string;
}

/**
 * The Electron build under `appPath` if it matches this process's ABI, else null (with why).
 */
export function findElectronSqlite(appPath: string, modules = process.versions.modules): { binding: string | null; problem: string | null } {
  const dir = join(appPath, ELECTRON_SQLITE_DIR);
  const binding = join(dir, ELECTRON_SQLITE_BINARY);
  if (!existsSync(binding)) {
    return { binding: null, problem: `no Electron build of better-sqlite3 at ${binding}; run "npm start" to fetch one` };
  }
  let stamp: Partial<ElectronSqliteStamp>;
  try {
    stamp = JSON.parse(readFileSync(join(dir, ELECTRON_SQLITE_STAMP), 'utf8')) as Partial<ElectronSqliteStamp>;
  } catch {
    return { binding: null, problem: `${binding} has no readable ${ELECTRON_SQLITE_STAMP}; run "npm start" to rebuild it` };
  }
  if (stamp.modules !== modules) {
    return { binding: null, problem: `${binding} was built for ABI ${stamp.modules ?? '?'} (Electron ${stamp.electron ?? '?'}), this Electron has ABI ${modules}; run "npm start" to rebuild it` };
  }
  return { binding, problem: null };
}

/**
 * Points shared/open-database.ts at the Electron build. Packaged apps need nothing: their
 * node_modules copy is the Electron build. Returns a warning when SQLite kinds will not load.
 */
export function useElectronSqlite(appPath: string, isPackaged: boolean, env: NodeJS.ProcessEnv = process.env): string | null {
  if (isPackaged || env.THREADLINE_SQLITE_BINDING) return null;
  const found = findElectronSqlite(appPath);
  if (found.binding) {
    env.THREADLINE_SQLITE_BINDING = found.binding;
    return null;
  }
  return found.problem;
}
