/**
 * Read-only SQL stays read-only: `sql.query`, and `sql.exec` with `readonly: true`, cannot
 * change a database, through ATTACH, PRAGMA, temp objects or a URI either. The files are
 * checked with sha256sum and the sqlite3 shell, and the folder for files that should not be.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../contract/records.js';
import type { Engine } from '../../electron/engine/engine.js';
import { copyChinook, runJob, runTask } from '../kinds/kind-fixture.js';
import { makeEngine, tempDir } from '../support/engine-fixture.js';
import { dumpChecksum, sqlite3 } from './sqlite-cli.js';

function sha256sum(files: string[]): string {
  return execFileSync('sha256sum', files, { encoding: 'utf8' });
}

/** A folder with the sample database and a second one to attach; one pool thread, so tasks share its connections. */
function setUp(): { engine: Engine; dir: string; db: string; other: string; before: () => void } {
  const dir = tempDir();
  const db = copyChinook(dir, 'music.sqlite');
  const other = copyChinook(dir, 'other.sqlite');
  const sums = sha256sum([db, other]);
  const dumps = [dumpChecksum(db), dumpChecksum(other)];
  const listing = readdirSync(dir).sort();
  const engine = makeEngine({ poolSize: 1 });
  // Unchanged: the same bytes, the same content, no file more or less in the folder.
  const before = () => {
    expect(sha256sum([db, other])).toBe(sums);
    expect([dumpChecksum(db), dumpChecksum(other)]).toEqual(dumps);
    expect(readdirSync(dir).sort()).toEqual(listing);
  };
  return { engine, dir, db, other, before };
}

function expectRefused(tasks: TaskRecord[], codes: string[]): void {
  for (const task of tasks) {
    expect({ id: task.id, state: task.state }).toEqual({ id: task.id, state: 'failed' });
    expect({ id: task.id, code: codes.includes(task.error!.code) }).toEqual({ id: task.id, code: true });
    expect(task.error!.message).not.toContain('\n');
  }
}

describe('sql.query cannot write', () => {
  it('refuses every statement that would change the database, named by why; the files are unchanged', async () => {
    const { engine, dir, db, other, before } = setUp();
    const statements: Record<string, string> = {
      insert: "INSERT INTO Genre (Name) VALUES ('x')",
      returning: "INSERT INTO Genre (Name) VALUES ('x') RETURNING GenreId",
      'cte-delete': 'WITH doomed AS (SELECT 1) DELETE FROM Genre',
      update: "UPDATE Track SET Name = 'x'",
      create: 'CREATE TABLE t (x)',
      'create-temp': 'CREATE TEMP TABLE t (x)',
      drop: 'DROP TABLE Genre',
      'attach-new': `ATTACH DATABASE '${join(dir, 'created.sqlite')}' AS c`,
      'attach-existing': `ATTACH DATABASE '${other}' AS o`,
      'pragma-user-version': 'PRAGMA user_version = 7',
      'pragma-journal-mode': 'PRAGMA journal_mode = WAL',
      'pragma-query-only': 'PRAGMA query_only = OFF',
      'pragma-writable-schema': 'PRAGMA writable_schema = ON',
      'vacuum-into': `VACUUM INTO '${join(dir, 'copy.sqlite')}'`,
      reindex: 'REINDEX',
      analyze: 'ANALYZE',
      'load-extension': "SELECT load_extension('/nonexistent/extension')",
      'second-statement': 'SELECT 1; DROP TABLE Genre',
    };
    const tasks = await runJob(engine, dir, Object.entries(statements).map(([id, sql]) => ({ id, kind: 'sql.query', db, sql })));
    expectRefused(tasks, ['READONLY', 'NOT_A_QUERY', 'SQL_ERROR']);
    expect(tasks.find((t) => t.id === 'insert')!.error!.message).toMatch(/read-only .* use sql\.exec to write/);
    before();
  });
});

describe('sql.exec with readonly: true cannot write', () => {
  it('not after turning query_only off, nor through ATTACH (a path, a URI asking for rw, a new file, :memory:), temp tables or the schema', async () => {
    const { engine, dir, db, other, before } = setUp();
    const scripts: Record<string, string> = {
      insert: "INSERT INTO Genre (Name) VALUES ('x')",
      'query-only-off': "PRAGMA query_only = OFF; INSERT INTO Genre (Name) VALUES ('x')",
      'attach-existing': `ATTACH '${other}' AS o1; INSERT INTO o1.Genre (Name) VALUES ('x')`,
      'attach-uri-rw': `ATTACH 'file:${other}?mode=rw' AS o2; INSERT INTO o2.Genre (Name) VALUES ('x')`,
      'attach-uri-rwc': `ATTACH 'file:${join(dir, 'made.sqlite')}?mode=rwc' AS o3; CREATE TABLE o3.t (x)`,
      'attach-new': `ATTACH '${join(dir, 'created.sqlite')}' AS o4; CREATE TABLE o4.t (x)`,
      'attach-memory': "ATTACH ':memory:' AS m; CREATE TABLE m.t (x)",
      temp: 'CREATE TEMP TABLE t (x); INSERT INTO t VALUES (1)',
      'writable-schema': "PRAGMA writable_schema = ON; UPDATE sqlite_schema SET sql = 'x' WHERE name = 'Genre'",
      'user-version': 'PRAGMA user_version = 9',
      'journal-mode': 'PRAGMA journal_mode = WAL',
      'vacuum-into': `VACUUM INTO '${join(dir, 'copy.sqlite')}'`,
    };
    const tasks = await runJob(engine, dir, Object.entries(scripts).map(([id, sql]) => ({ id, kind: 'sql.exec', readonly: true, db, sql })));
    expectRefused(tasks, ['READONLY', 'CANTOPEN', 'SQL_ERROR']);
    expect(tasks.find((t) => t.id === 'query-only-off')!.error!.message).toBe('statement 2 (line 1): attempt to write a readonly database');
    before();

    // The thread's read-only connection, reused after all that, is read-only still.
    const [again] = await runJob(engine, dir, [{ id: 'again', kind: 'sql.exec', readonly: true, db, sql: "INSERT INTO Genre (Name) VALUES ('x')" }]);
    expectRefused([again!], ['READONLY']);
    before();
  });

  it('a database one task attached is not there for the next task on the same connection', async () => {
    const { engine, dir, db, other } = setUp();
    const [attach] = await runJob(engine, dir, [{ id: 'attach', kind: 'sql.exec', readonly: true, db, sql: `ATTACH '${other}' AS leaked; SELECT count(*) FROM leaked.Genre` }]);
    expect(attach!.state).toBe('succeeded');
    const [later] = await runJob(engine, dir, [{ id: 'later', kind: 'sql.query', db, sql: 'SELECT count(*) FROM leaked.Genre' }]);
    expect(later).toMatchObject({ state: 'failed', error: { message: expect.stringContaining('no such table: leaked.Genre') } });
  });
});

describe('no task leaves a lock or a setting behind on a reused connection', () => {
  it('sql.query refuses every pragma form that sets something, before SQLite prepares it, naming the pragma', async () => {
    const { engine, dir, db, before } = setUp();
    const refused: Record<string, [string, string]> = {
      'locking-mode': ['PRAGMA locking_mode = EXCLUSIVE', 'locking_mode'],
      'locking-mode-call': ['pragma Locking_Mode(exclusive)', 'locking_mode'],
      'locking-mode-schema': ['PRAGMA main.locking_mode=EXCLUSIVE', 'locking_mode'],
      'busy-timeout-quoted': ['/* a comment */ PRAGMA "busy_timeout" = 0', 'busy_timeout'],
      'mmap-size-bracketed': ['PRAGMA [mmap_size] = 268435456', 'mmap_size'],
      'cache-size-string': ["PRAGMA 'cache_size' = -5", 'cache_size'],
      'explain-busy-timeout': ['EXPLAIN PRAGMA busy_timeout = 0', 'busy_timeout'],
      'explain-plan-locking': ['EXPLAIN QUERY PLAN PRAGMA locking_mode = EXCLUSIVE', 'locking_mode'],
      'query-only': ['PRAGMA query_only = 0', 'query_only'],
      'case-sensitive-like': ['PRAGMA case_sensitive_like = 1', 'case_sensitive_like'],
      'then-a-second': ['PRAGMA busy_timeout = 0; SELECT 1', 'busy_timeout'],
      optimize: ['PRAGMA optimize', 'optimize'],
      'wal-checkpoint': ['PRAGMA wal_checkpoint', 'wal_checkpoint'],
      'shrink-memory': ['PRAGMA shrink_memory', 'shrink_memory'],
    };
    const tasks = await runJob(engine, dir, Object.entries(refused).map(([id, [sql]]) => ({ id, kind: 'sql.query', db, sql })));
    expectRefused(tasks, ['READONLY']);
    for (const task of tasks) expect({ id: task.id, message: task.error!.message }).toEqual({ id: task.id, message: expect.stringContaining(`PRAGMA ${refused[task.id]![1]} `) });
    expect(tasks.find((t) => t.id === 'locking-mode')!.error!.message).toBe('sql.query is read-only, and PRAGMA locking_mode with a value changes a setting; use sql.exec');

    // The thread's connection kept none of them: SQLite would have applied them while preparing.
    const settings = await runJob(engine, dir, [
      { id: 'busy-timeout', kind: 'sql.query', db, sql: 'PRAGMA busy_timeout' },
      { id: 'locking-mode', kind: 'sql.query', db, sql: 'pragma locking_mode;' },
      { id: 'cache-size', kind: 'sql.query', db, sql: 'PRAGMA main.cache_size' },
      { id: 'table-info', kind: 'sql.query', db, sql: 'PRAGMA table_info("Genre")' },
      { id: 'index-list', kind: 'sql.query', db, sql: 'PRAGMA main.index_list(Track)' },
      { id: 'function', kind: 'sql.query', db, sql: "SELECT name FROM pragma_table_info('Genre') ORDER BY cid" },
    ]);
    const preview = (id: string) => (settings.find((t) => t.id === id)!.result as { preview: unknown[][] }).preview;
    expect(settings.map((t) => t.state)).toEqual(settings.map(() => 'succeeded'));
    expect(preview('busy-timeout')).toEqual([[10_000]]);
    expect(preview('locking-mode')).toEqual([['normal']]);
    expect(preview('cache-size')).toEqual([[-2000]]);
    expect(preview('table-info').map((row) => row[1])).toEqual(['GenreId', 'Name']);
    expect(preview('index-list').length).toBeGreaterThan(0);
    expect(preview('function')).toEqual([['GenreId'], ['Name']]);
    before();
  });

  it('an outside writer (the sqlite3 shell, without a busy timeout) gets through between every task, on the same pool thread', async () => {
    const { engine, dir, db } = setUp();
    const tasks: Array<Record<string, unknown>> = [
      { kind: 'sql.query', db, sql: 'PRAGMA locking_mode = EXCLUSIVE' },
      { kind: 'sql.query', db, sql: 'SELECT count(*) FROM Genre' },
      { kind: 'sql.exec', db, sql: "PRAGMA locking_mode = EXCLUSIVE; INSERT INTO Genre (Name) VALUES ('inside')" },
      { kind: 'sql.exec', db, sql: "INSERT INTO Genre (Name) VALUES ('inside again')" },
      { kind: 'sql.exec', db, readonly: true, sql: 'PRAGMA locking_mode = EXCLUSIVE; SELECT count(*) FROM Genre' },
      { kind: 'sql.query', db, sql: 'SELECT count(*) FROM Genre' },
      { kind: 'sql.exec', db, readonly: true, sql: 'PRAGMA busy_timeout = 0; PRAGMA mmap_size = 1048576; PRAGMA locking_mode(EXCLUSIVE); SELECT 1' },
      { kind: 'sql.exec', db, sql: 'PRAGMA busy_timeout = 0; PRAGMA cache_size = 10' },
      { kind: 'csv.import', file: join(dir, 'genres.csv'), db, table: 'Imported' },
      { kind: 'sql.query', db, sql: 'SELECT * FROM Genre' },
    ];
    writeFileSync(join(dir, 'genres.csv'), 'name\nfolk\n');
    const defaults = await runTask(engine, dir, { kind: 'sql.query', db, sql: 'SELECT * FROM pragma_busy_timeout, pragma_locking_mode' });
    const workers = new Set<string | null>(engine.attemptsOf(defaults.key).map((a) => a.worker));
    let outside = 0;
    for (const [index, task] of tasks.entries()) {
      const record = await runTask(engine, dir, task);
      workers.add(engine.attemptsOf(record.key)[0]!.worker);
      // No busy timeout: any lock a connection still holds makes this fail with "database is locked".
      sqlite3(db, `INSERT INTO Genre (Name) VALUES ('outside ${index}')`);
      outside++;
      const after = await runTask(engine, dir, { kind: 'sql.query', db, sql: 'SELECT * FROM pragma_busy_timeout, pragma_locking_mode' });
      expect({ index, settings: (after.result as { preview: unknown[][] }).preview }).toEqual({ index, settings: (defaults.result as { preview: unknown[][] }).preview });
    }
    expect(sqlite3(db, "SELECT count(*) FROM Genre WHERE Name LIKE 'outside %'")).toBe(String(outside));
    expect(sqlite3(db, "SELECT count(*) FROM Genre WHERE Name LIKE 'inside%'")).toBe('2');
    expect(sqlite3(db, 'PRAGMA integrity_check')).toBe('ok');
    // One thread ran them all: the fix is not a fresh thread.
    expect(workers.size).toBe(1);
  });
});
