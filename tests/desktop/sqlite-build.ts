import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ELECTRON_SQLITE_BINARY, ELECTRON_SQLITE_DIR, ELECTRON_SQLITE_STAMP } from '../../electron/desktop/electron-sqlite.js';

/** A stand-in for the Electron build of better-sqlite3: under Node, the Node build is the right ABI. */
export function provideSqliteBuild(appPath: string): string {
  const dir = join(appPath, ELECTRON_SQLITE_DIR);
  mkdirSync(dir, { recursive: true });
  const nodeBuild = join(dirname(createRequire(import.meta.url).resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node');
  copyFileSync(nodeBuild, join(dir, ELECTRON_SQLITE_BINARY));
  const stamp = { electron: 'stand-in', modules: process.versions.modules, betterSqlite3: 'node build' };
  writeFileSync(join(dir, ELECTRON_SQLITE_STAMP), JSON.stringify(stamp));
  return join(dir, ELECTRON_SQLITE_BINARY);
}

