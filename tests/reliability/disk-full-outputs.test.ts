/**
 * Kinds that write files, on a full disk: each fails with DISK_FULL and a message naming the file
 * it could not write, and leaves nothing behind: no partial output, no empty database it created.
 * A database that was there before the task keeps its content. The disk is a 1 MiB tmpfs this
 * test mounts (as root, which CI and these machines are); files are checked with ls and sqlite3.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../contract/records.js';
import type { Engine } from '../../electron/engine/engine.js';
import { assertBuilt } from '../cli/bin.js';
import { copyChinook, expectTaskError, runTask } from '../kinds/kind-fixture.js';
import { makeEngine } from '../support/engine-fixture.js';
import { dumpChecksum, integrityCheck, sqlite3 } from './sqlite-cli.js';

beforeAll(assertBuilt);

let outside: string;
let disk: string;
let server: Server;
let url: string;

beforeAll(async () => {
  // Not the fixture's tempDir: that one goes after each test, and this one holds the mount.
  outside = mkdtempSync(join(tmpdir(), 'threadline-disk-full-'));
  disk = join(outside, 'small-disk');
  mkdirSync(disk);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', disk]);
  // Two MiB of bytes that do not compress, for downloads and compression.
  const body = randomBytes(2 * 1024 * 1024);
  writeFileSync(join(outside, 'rand.bin'), body);
  server = createServer((_request, response) => response.end(body));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/rand.bin`;
});

afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (disk) execFileSync('umount', [disk]);
  if (outside) rmSync(outside, { recursive: true, force: true });
});

beforeEach(() => {
  for (const name of readdirSync(disk)) rmSync(join(disk, name), { recursive: true, force: true });
});

/** What is on the small disk, as ls shows it. */
function onDisk(): string[] {
  const out = execFileSync('ls', ['-A', disk], { encoding: 'utf8' }).trim();
  return out === '' ? [] : out.split('\n');
}

/** Fills the disk to its last byte with a file named `filler`. */
function fillDisk(): void {
  try {
    execFileSync('sh', ['-c', 'head -c 2000000 /dev/zero > "$1"', 'sh', join(disk, 'filler')], { stdio: 'ignore' });
  } catch {
    // head stops with "No space left on device": the disk is full, as wanted.
  }
}

function engine(): Engine {
  return makeEngine({ poolSize: 1 });
}

function csvOf(rows: number): string {
  const lines = ['id,name,note'];
  for (let i = 0; i < rows; i++) lines.push(`${i},name ${i},${'a note that takes some room '.repeat(2)}${i}`);
  return `${lines.join('\n')}\n`;
}

function expectDiskFull(task: TaskRecord, file: string): void {
  expectTaskError(task, 'DISK_FULL');
  expect(task.error!.message).toContain(file);
}

describe('a full disk under an output', () => {
  it('file.compress names the output it could not write, not the input, and leaves no partial file', async () => {
    const output = join(disk, 'rand.bin.gz');
    const task = await runTask(engine(), outside, { kind: 'file.compress', paths: [join(outside, 'rand.bin')], outDir: disk });
    expectDiskFull(task, output);
    expect(task.error!.message).toBe(`${output}: no space left on the device`);
    expect(onDisk()).toEqual([]);
  });

  it('sql.query names its output file and leaves no partial file', async () => {
    const db = copyChinook(outside, 'query.sqlite');
    const output = join(disk, 'tracks.csv');
    const task = await runTask(engine(), outside, { kind: 'sql.query', db, sql: 'SELECT t.*, a.* FROM Track t, Album a LIMIT 20000', output: { path: output } });
    expectDiskFull(task, output);
    expect(onDisk()).toEqual([]);
  });

  it('file.hash names its manifest and leaves no partial file', async () => {
    fillDisk();
    const manifest = join(disk, 'SHA256SUMS');
    const task = await runTask(engine(), outside, { kind: 'file.hash', paths: [join(outside, 'rand.bin')], manifest });
    expectDiskFull(task, manifest);
    expect(onDisk()).toEqual(['filler']);
  });

  it('http.fetch names its output file and leaves no partial file', async () => {
    const output = join(disk, 'download.bin');
    const task = await runTask(engine(), outside, { kind: 'http.fetch', url, output });
    expectDiskFull(task, output);
    expect(onDisk()).toEqual([]);
  });
});

describe('a full disk under a database', () => {
  it('csv.import into a new database removes the file it created', async () => {
    const csv = join(outside, 'big.csv');
    writeFileSync(csv, csvOf(30_000));
    const db = join(disk, 'new.sqlite');
    const task = await runTask(engine(), outside, { kind: 'csv.import', file: csv, db, table: 'people' });
    expectDiskFull(task, db);
    expect(onDisk()).toEqual([]);
  });

  it('csv.import into a new database that fails for another reason removes it too', async () => {
    const csv = join(outside, 'ragged.csv');
    writeFileSync(csv, 'a,b\n1,2\n3\n');
    const db = join(disk, 'new.sqlite');
    const task = await runTask(engine(), outside, { kind: 'csv.import', file: csv, db, table: 't' });
    expectTaskError(task, 'RAGGED_CSV');
    expect(onDisk()).toEqual([]);
  });

  it('sql.exec with create: true removes the database it created', async () => {
    const db = join(disk, 'new.sqlite');
    const sql = "CREATE TABLE t (x TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) INSERT INTO t SELECT printf('%0100d', i) FROM n;";
    const task = await runTask(engine(), outside, { kind: 'sql.exec', db, sql, create: true });
    expectDiskFull(task, db);
    expect(onDisk()).toEqual([]);
  });

  it('a database that was there before keeps its content, with csv.import and sql.exec', async () => {
    const db = join(disk, 'kept.sqlite');
    sqlite3(db, "CREATE TABLE people (id INTEGER, name TEXT, note TEXT); INSERT INTO people VALUES (1, 'first', 'kept');");
    const before = dumpChecksum(db);
    const csv = join(outside, 'big.csv');
    writeFileSync(csv, csvOf(30_000));
    const run = engine();
    expectDiskFull(await runTask(run, outside, { kind: 'csv.import', file: csv, db, table: 'people' }), db);
    const sql = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 20000) INSERT INTO people SELECT i, 'x', printf('%0100d', i) FROM n;";
    expectDiskFull(await runTask(run, outside, { kind: 'sql.exec', db, sql, create: true }), db);
    await run.shutdown({ deadlineMs: 1000 });
    expect(onDisk()).toEqual(['kept.sqlite']);
    expect(integrityCheck(db)).toBe('ok');
    expect(dumpChecksum(db)).toBe(before);
    expect(sqlite3(db, 'SELECT count(*) FROM people')).toBe('1');
  });
});
