/**
 * Finding the Electron build of better-sqlite3 and handing it to the engine. Under Node the
 * "Electron build" is a copy of the Node build, so a real database really opens through it.
 */
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ELECTRON_SQLITE_DIR, ELECTRON_SQLITE_STAMP, findElectronSqlite, useElectronSqlite } from '../../electron/desktop/electron-sqlite.js';
import { openDatabase } from '../../shared/open-database.js';
import { tempDir } from '../support/engine-fixture.js';
import { provideSqliteBuild } from './sqlite-build.js';

describe('the Electron build of better-sqlite3', () => {
  it('is used when it matches this ABI, and the database opens through it', () => {
    const appPath = tempDir();
    const binding = provideSqliteBuild(appPath);
    const env: NodeJS.ProcessEnv = {};
    expect(useElectronSqlite(appPath, false, env)).toBeNull();
    expect(env.THREADLINE_SQLITE_BINDING).toBe(binding);

    const before = process.env.THREADLINE_SQLITE_BINDING;
    process.env.THREADLINE_SQLITE_BINDING = binding;
    try {
      const db = openDatabase(join(tempDir(), 'x.db'));
      expect(db.prepare('SELECT 6 * 7 AS answer').get()).toEqual({ answer: 42 });
      db.close();
      // The variable is what decides: a binding that is not there cannot be loaded.
      process.env.THREADLINE_SQLITE_BINDING = join(appPath, 'missing.node');
      expect(() => openDatabase(join(tempDir(), 'y.db'))).toThrow(/missing\.node/);
    } finally {
      if (before === undefined) delete process.env.THREADLINE_SQLITE_BINDING;
      else process.env.THREADLINE_SQLITE_BINDING = before;
    }
  });

  it('is refused, with the reason and the fix, when missing, unstamped or built for another ABI', () => {
    const appPath = tempDir();
    expect(findElectronSqlite(appPath).problem).toMatch(/^no Electron build of better-sqlite3 at .*; run "npm start" to fetch one$/);

    provideSqliteBuild(appPath);
    const stamp = join(appPath, ELECTRON_SQLITE_DIR, ELECTRON_SQLITE_STAMP);
    writeFileSync(stamp, JSON.stringify({ electron: '45.4.1', modules: '150', betterSqlite3: '12.11.1' }));
    expect(findElectronSqlite(appPath, '115').problem).toMatch(/was built for ABI 150 \(Electron 45\.4\.1\), this Electron has ABI 115; run "npm start" to rebuild it$/);
    expect(findElectronSqlite(appPath, '150')).toEqual({ binding: join(appPath, ELECTRON_SQLITE_DIR, 'better_sqlite3.node'), problem: null });

    writeFileSync(stamp, '{not json');
    expect(findElectronSqlite(appPath).problem).toMatch(/has no readable build\.json/);
    rmSync(stamp);
    expect(findElectronSqlite(appPath).problem).toMatch(/has no readable build\.json/);

    const env: NodeJS.ProcessEnv = {};
    expect(useElectronSqlite(appPath, false, env)).toMatch(/build\.json/);
    expect(env.THREADLINE_SQLITE_BINDING).toBeUndefined();
  });

  it('is not looked for in a packaged app (its node_modules is rebuilt for Electron) or when one is given', () => {
    const env: NodeJS.ProcessEnv = {};
    expect(useElectronSqlite('/nowhere', true, env)).toBeNull();
    expect(env.THREADLINE_SQLITE_BINDING).toBeUndefined();
    const given: NodeJS.ProcessEnv = { THREADLINE_SQLITE_BINDING: '/opt/sqlite/better_sqlite3.node' };
    expect(useElectronSqlite('/nowhere', false, given)).toBeNull();
    expect(given.THREADLINE_SQLITE_BINDING).toBe('/opt/sqlite/better_sqlite3.node');
  });
});
