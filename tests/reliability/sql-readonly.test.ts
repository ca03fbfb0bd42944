/**
 * Read-only SQL stays read-only: `sql.query`, and `sql.exec` with `readonly: true`, cannot
 * change a database, through ATTACH, PRAGMA, temp objects or a URI either. The files are
 * checked with sha256sum and the sqlite3 shell, and the folder for files that should not be.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../contract/records.js';
import type { Engine } from '../../electron/engine/engine.js';
import { copyChinook, runJob } from '../kinds/kind-fixture.js';
import { makeEngine, tempDir } from '../support/engine-fixture.js';
import { dumpChecksum } from './sqlite-cli.js';

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
