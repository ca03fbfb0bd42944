import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { SqlExecResult } from '../../workers/handlers/sql-exec.js';
import { exited, startCli } from '../support/cli.js';
import { makeEngine, tempDir, waitFor } from '../support/engine-fixture.js';
import { copyChinook, expectTaskError, runTask, sha256, sqlite3, startTask, succeeded, waitForProgress } from './kind-fixture.js';

/** A statement that keeps SQLite busy for a while inside one call. */
const BUSY_STATEMENT = 'SELECT count(*) FROM (WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 300000) SELECT i FROM n)';

function trackCount(db: string): number {
  return Number(sqlite3(db, 'SELECT count(*) FROM Track').trim());
}

function expectIntact(db: string, tracks: number): void {
  expect(sqlite3(db, 'PRAGMA integrity_check').trim()).toBe('ok');
  expect(trackCount(db)).toBe(tracks);
}

describe('sql.exec', () => {
  it('runs a script of many statements (a trigger body, strings and comments with semicolons) in one transaction', async () => {
    const dir = tempDir();
    const db = copyChinook(dir);
    const engine = makeEngine();
    const sql = `
      -- a log of renamed genres; this comment has a ; in it
      CREATE TABLE rename_log (old TEXT, new TEXT);
      CREATE TRIGGER log_rename AFTER UPDATE OF Name ON Genre BEGIN
        INSERT INTO rename_log VALUES (old.Name, new.Name);
      END;
      /* a block comment; with a semicolon */
      UPDATE Genre SET Name = Name || '; renamed' WHERE GenreId <= 3;
      INSERT INTO Genre (Name) VALUES ('it''s; "quoted"'), ('x;y');
      CREATE TABLE [odd;name] ("also;odd" INTEGER);
      INSERT INTO [odd;name] VALUES (1);
      SELECT * FROM rename_log;
      DELETE FROM Genre WHERE Name = 'x;y'`;
    const result = succeeded<SqlExecResult>(await runTask(engine, dir, { kind: 'sql.exec', db: 'chinook.sqlite', sql }));
    expect(result.statements).toBe(8);
    // 3 updates + 3 inserts by the trigger + 3 inserts + 1 delete.
    expect(result.changes).toBe(10);
    expect(sqlite3(db, 'SELECT "also;odd" FROM [odd;name]').trim()).toBe('1');
    expect(sqlite3(db, 'SELECT old, new FROM rename_log ORDER BY rowid').trim().split('\n')).toEqual([
      'Rock|Rock; renamed',
      'Jazz|Jazz; renamed',
      'Metal|Metal; renamed',
    ]);
    expect(sqlite3(db, "SELECT count(*) FROM Genre WHERE Name = 'it''s; \"quoted\"'").trim()).toBe('1');
    expect(sqlite3(db, "SELECT count(*) FROM Genre WHERE Name = 'x;y'").trim()).toBe('0');
  });

  it('rolls everything back when a statement fails, naming the statement and its line', async () => {
    const dir = tempDir();
    const db = copyChinook(dir);
    const tracks = trackCount(db);
    const engine = makeEngine();
    const sql = 'DELETE FROM PlaylistTrack;\nDELETE FROM InvoiceLine;\n\nINSERT INTO Genre (GenreId, Name) VALUES (1, \'duplicate\');\nDELETE FROM Track;';
    const before = sqlite3(db, 'SELECT count(*) FROM PlaylistTrack').trim();
    expectTaskError(await runTask(engine, dir, { kind: 'sql.exec', db: 'chinook.sqlite', sql }), 'CONSTRAINT', /^statement 3 \(line 4\): UNIQUE constraint failed: Genre\.GenreId$/);
    expectIntact(db, tracks);
    expect(sqlite3(db, 'SELECT count(*) FROM PlaylistTrack').trim()).toBe(before);
    expectTaskError(await runTask(engine, dir, { kind: 'sql.exec', db: 'chinook.sqlite', sql: 'DELETE FROM PlaylistTrack;\nUPDATE Nope SET x = 1' }), 'SQL_ERROR', /statement 2 \(line 2\): no such table: Nope/);
    expectTaskError(await runTask(engine, dir, { kind: 'sql.exec', db: 'chinook.sqlite', sql: 'DELETE FROM PlaylistTrack; SELEC 1' }), 'SQL_ERROR', /statement 2 \(line 1\): near "SELEC": syntax error/);
    // Foreign keys are enforced: Track rows are still referenced by invoice lines.
    expectTaskError(await runTask(engine, dir, { kind: 'sql.exec', db: 'chinook.sqlite', sql: 'DELETE FROM Track' }), 'CONSTRAINT', /FOREIGN KEY constraint failed/);
    expectIntact(db, tracks);
  });

  it('stops between statements at a cancel and leaves the database as it was', async () => {
    const dir = tempDir();
    const db = copyChinook(dir);
    const tracks = trackCount(db);
    const engine = makeEngine({ cancelGraceMs: 120_000 });
    const sql = ['DELETE FROM PlaylistTrack', 'DELETE FROM InvoiceLine', 'DELETE FROM Track', ...Array.from({ length: 2000 }, () => BUSY_STATEMENT)].join(';\n');
    const { key, jobId } = await startTask(engine, dir, { kind: 'sql.exec', db: 'chinook.sqlite', sql });
    await waitForProgress(engine, key);
    engine.cancelTask(key);
    await engine.waitForJob(jobId);
    expect(engine.task(key)?.state).toBe('cancelled');
    expectIntact(db, tracks);
  });

  it('leaves the database as it was when the thread is terminated mid-transaction', async () => {
    const dir = tempDir();
    const db = copyChinook(dir);
    const tracks = trackCount(db);
    // No grace: a cancel ends the thread at once, whatever it is doing.
    const engine = makeEngine({ cancelGraceMs: 0 });
    const sql = ['DELETE FROM PlaylistTrack', 'DELETE FROM InvoiceLine', 'DELETE FROM Track', ...Array.from({ length: 2000 }, () => BUSY_STATEMENT)].join(';\n');
    const { key, jobId } = await startTask(engine, dir, { kind: 'sql.exec', db: 'chinook.sqlite', sql });
    await waitForProgress(engine, key, 'a finished statement');
    const threadsBefore = engine.sampleTelemetry().workers.map((w) => w.threadId);
    engine.cancelTask(key);
    await engine.waitForJob(jobId);
    expect(engine.task(key)?.state).toBe('cancelled');
    // The thread was replaced: the task was stopped by ending it, not by its own check.
    await waitFor(() => engine.sampleTelemetry().workers.some((w) => !threadsBefore.includes(w.threadId)), 30_000, 'a new pool thread');
    expectIntact(db, tracks);
    // The write lock went with the thread: the next writer is not blocked.
    const result = succeeded<SqlExecResult>(await runTask(engine, dir, { kind: 'sql.exec', db: 'chinook.sqlite', sql: "INSERT INTO Genre (Name) VALUES ('after')" }));
    expect(result.changes).toBe(1);
  });

  it('leaves the database as it was when the whole process is killed mid-transaction', async () => {
    const dir = tempDir();
    const db = copyChinook(dir);
    const tracks = trackCount(db);
    const sql = ['DELETE FROM PlaylistTrack', 'DELETE FROM InvoiceLine', 'DELETE FROM Track', ...Array.from({ length: 5000 }, () => BUSY_STATEMENT)].join(';\n');
    writeFileSync(join(dir, 'job.json'), JSON.stringify({ name: 'kill', tasks: [{ id: 'wipe', kind: 'sql.exec', db: 'chinook.sqlite', sql }] }));
    const child = startCli(['run', join(dir, 'job.json'), '--data-dir', join(dir, 'store'), '--workers', '1']);
    try {
      // The rollback journal appears with the transaction's first change.
      await waitFor(() => existsSync(`${db}-journal`), 60_000, 'the transaction to start');
    } finally {
      child.kill('SIGKILL');
      await exited(child);
    }
    // The sqlite3 CLI finds the hot journal and rolls the transaction back.
    expectIntact(db, tracks);
  });

  it('ends a long script at its timeout, rolled back', async () => {
    const dir = tempDir();
    const db = copyChinook(dir);
    const tracks = trackCount(db);
    const engine = makeEngine({ cancelGraceMs: 120_000 });
    const sql = ['DELETE FROM PlaylistTrack', 'DELETE FROM InvoiceLine', 'DELETE FROM Track', ...Array.from({ length: 5000 }, () => BUSY_STATEMENT)].join(';\n');
    const task = await runTask(engine, dir, { kind: 'sql.exec', db: 'chinook.sqlite', sql, timeoutMs: 300 });
    expect(task.state).toBe('timed_out');
    expect(task.error?.code).toBe('TIMED_OUT');
    expectIntact(db, tracks);
  });

  it('runs read-only when asked, creates a database only when asked, and refuses its own BEGIN/COMMIT', async () => {
    const dir = tempDir();
    const db = copyChinook(dir);
    const before = sha256(db);
    const engine = makeEngine();
    const check = succeeded<SqlExecResult>(await runTask(engine, dir, { kind: 'sql.exec', db: 'chinook.sqlite', readonly: true, sql: 'SELECT count(*) FROM Track; PRAGMA integrity_check' }));
    expect(check).toMatchObject({ changes: 0, statements: 2 });
    expectTaskError(await runTask(engine, dir, { kind: 'sql.exec', db: 'chinook.sqlite', readonly: true, sql: 'DELETE FROM Track' }), 'READONLY', /readonly database/);
    expect(sha256(db)).toBe(before);

    expectTaskError(await runTask(engine, dir, { kind: 'sql.exec', db: 'new.sqlite', sql: 'CREATE TABLE t (x)' }), 'ENOENT', /no such database file: .*new\.sqlite/);
    expect(existsSync(join(dir, 'new.sqlite'))).toBe(false);
    succeeded(await runTask(engine, dir, { kind: 'sql.exec', db: 'new.sqlite', create: true, sql: 'CREATE TABLE t (x); INSERT INTO t VALUES (1), (2)' }));
    expect(sqlite3(join(dir, 'new.sqlite'), 'SELECT sum(x) FROM t').trim()).toBe('3');
    // Missing folders on the way to a database it creates are created, as for every output file.
    succeeded(await runTask(engine, dir, { kind: 'sql.exec', db: 'missing/deeper/new.sqlite', create: true, sql: 'CREATE TABLE t (x); INSERT INTO t VALUES (5)' }));
    expect(sqlite3(join(dir, 'missing/deeper/new.sqlite'), 'SELECT sum(x) FROM t').trim()).toBe('5');
    writeFileSync(join(dir, 'a-file'), '');
    expectTaskError(await runTask(engine, dir, { kind: 'sql.exec', db: 'a-file/new.sqlite', create: true, sql: 'CREATE TABLE t (x)' }), 'ENOTDIR', /a-file\/new\.sqlite: a folder in the path is not a directory/);

    expectTaskError(
      await runTask(engine, dir, { kind: 'sql.exec', db: 'chinook.sqlite', sql: 'BEGIN; DELETE FROM Track; COMMIT' }),
      'SQL_ERROR',
      /statement 1 \(line 1\): sql\.exec runs the whole script in one transaction of its own/,
    );
    expectTaskError(await runTask(engine, dir, { kind: 'sql.exec', db: 'chinook.sqlite', sql: '-- nothing here\n;;' }), 'SQL_ERROR', /no statements/);
    expect(sha256(db)).toBe(before);
  });

  it('reports a missing file, a folder and a file that is no database', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'folder'));
    writeFileSync(join(dir, 'notes.txt'), 'not a database, just some text that is long enough to have a header. '.repeat(20));
    const engine = makeEngine();
    const exec = (db: string) => runTask(engine, dir, { kind: 'sql.exec', db, sql: 'CREATE TABLE t (x)' });
    expectTaskError(await exec('missing.sqlite'), 'ENOENT', /no such database file/);
    expectTaskError(await exec('folder'), 'EISDIR', /is a directory; expected a SQLite database file/);
    expectTaskError(await exec('notes.txt'), 'NOT_A_DATABASE', /notes\.txt is not a SQLite database/);
  });
});
