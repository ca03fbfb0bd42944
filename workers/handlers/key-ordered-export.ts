/**
 * A key-ordered export: `SELECT <columns or *> FROM <table> ORDER BY <key>` over a rowid table,
 * <key> its rowid (or the INTEGER PRIMARY KEY that names it), read in batches of key ranges and,
 * when large, split into ranges exported by helper threads and joined in order.
 *
 * Most of an export's time goes into better-sqlite3 turning each value into a JavaScript value:
 * stepping alone costs more than the sqlite3 shell's whole export. Batches of a few hundred rows
 * read with `all()` cost about a third less than one `iterate()` step per row, and ranges on
 * several threads put every core to that work. Only the one shape above is read this way, and
 * only when SQLite's own query plans show that the statement is a plain scan of the table in
 * rowid order and a key range a rowid range search: the rows of the ranges one after the other
 * are then the statement's rows in the statement's order, and every row is encoded by the same
 * code, so the file is byte for byte the one a single `iterate()` writes. Any other statement,
 * and statements with parameters, run as one `iterate()` as before.
 *
 * One snapshot: the task's connection reads every batch and counts the rows inside one read
 * transaction, kept until every helper is done. In rollback-journal mode that read lock keeps
 * any writer from committing, so a helper that starts later reads the same data. In WAL mode a
 * writer can commit while a reader reads, so a helper could see newer rows: WAL databases are
 * read in batches but never split. A helper that fails (a writer waiting to commit makes a new
 * read lock wait) or stalls is not an error: the task's thread exports that range itself, still
 * inside its own snapshot.
 */
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isMainThread, MessageChannel, receiveMessageOnPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { QueryOutputFormat } from '../../contract/kinds/sql.js';
import { openDatabase } from '../../shared/open-database.js';
import type { PoolWorkerData } from '../../shared/pool-protocol.js';
import { ChunkWriter } from './chunk-writer.js';
import { rowEncoder, type RowEncoder } from './row-encoders.js';
import { threadExecArgv } from '../../shared/thread-exec-argv.js';

/** Below this many rows a helper thread's start costs about what it saves. */
export const SPLIT_MIN_ROWS = 200_000;
/** Ranges (threads) at most, whatever the cores. */
const MAX_PARTS = 4;
/**
 * Keys a batch spans (rows, where no key is missing). Small: a batch's rows stay alive while it
 * is encoded, and bigger batches cost no less CPU here but grow the heap (about 20 MB more rss
 * at 4,096 rows than at 256 in one thread).
 */
export const BATCH_ROWS = 256;
/** A helper whose heartbeat has not moved for this long is given up and its range exported here. */
const STALL_MS = 30_000;
/**
 * A helper not started after this long is given up too: a thread that cannot start reports it
 * only on this thread's event loop, which does not run while the task does.
 */
const START_MS = 10_000;
/** How long a helper waits for its read lock before giving its range back. */
const HELPER_BUSY_MS = 2_000;
/** The young generation of a helper's heap, in MB (V8's default is several times more). */
const HELPER_YOUNG_MB = 4;
const MAX_ROWID = 9223372036854775807n;
const MIN_ROWID = -9223372036854775808n;

/**
 * The helpers' thread entry (`workers/key-range-thread.ts`), which every build puts beside the
 * pool's entry and the engine names in the pool's workerData; without one, nothing is split.
 */
const HELPER_ENTRY = isMainThread ? null : ((workerData as Partial<PoolWorkerData> | null)?.keyRangeThreadFile ?? null);

/** Control words shared with a helper. */
const STATE = 0;
const CANCEL = 1;
const BEAT = 2;
const RUNNING = 0;
const DONE = 1;
const FAILED = 2;

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
/** The one shape read by key: plain column names (or `*`), one table, ordered by one name, ascending. */
const SHAPE = new RegExp(`^\\s*SELECT\\s+(\\*|${IDENT}(?:\\s*,\\s*${IDENT})*)\\s+FROM\\s+(${IDENT})\\s+ORDER\\s+BY\\s+(${IDENT})(?:\\s+ASC)?\\s*;?\\s*$`, 'i');

/** A key range, both ends included; `first` for the task thread's own, which comes first. */
interface Range {
  low: bigint;
  high: bigint;
  first: boolean;
}

/** The statements that read a range of a key-ordered table, batch by batch. */
interface RangeReader {
  /** The rows with keys in [low, high], in key order. */
  rows: Database.Statement;
  /** The key `BATCH_ROWS` keys on from a given one (or none). */
  nextKey: Database.Statement;
}

interface Shape {
  list: string;
  table: string;
  key: string;
  rowsSql: string;
  nextKeySql: string;
}

export interface PartJob {
  db: string;
  shape: Shape;
  range: Range;
  format: QueryOutputFormat;
  columns: string[];
  file: string;
  control: SharedArrayBuffer;
  port: MessagePort;
}

type PartReport = { rows: number } | { error: string };

interface Helper {
  /** 2 for the second range, and so on. */
  number: number;
  startedAt: number;
  range: Range;
  file: string;
  control: Int32Array;
  port: MessagePort;
  worker: Worker;
}

/** A key-ordered export under way: the first range is the task thread's own. */
export interface KeyOrderedExport {
  /** Key ranges, each on a thread of its own: 1 when the export is not split. */
  readonly ranges: number;
  /** Hands the rows of the first range to `onBatch`, batch by batch, in order. */
  readFirst(onBatch: (rows: unknown[][]) => void): void;
  /**
   * After the first range is written: appends each helper's range in order (exporting a failed
   * helper's range on this thread) and returns the rows they held. `onWait` may throw to cancel.
   */
  joinHelpers(write: (bytes: Buffer) => void, encoder: RowEncoder, onWait: (rowsSoFar: number) => void, warn: (message: string) => void): number;
  /**
   * The first `limit` rows after the first range, in key order (for a preview longer than the
   * first range, which can hold few rows where keys are uneven). Before `close`.
   */
  rowsAfterFirst(limit: number): unknown[][];
  /** Ends the helpers and the read transaction; removes the helpers' files. Always called. */
  close(): void;
}

/** What a key-ordered export needs to know. */
export interface ExportTarget {
  dbPath: string;
  sql: string;
  params: readonly unknown[];
  format: QueryOutputFormat;
  columns: string[];
  /** Helper files are named after it: `<partial>.2`, `<partial>.3`... */
  partialPath: string;
}

/**
 * Starts a key-ordered export, or returns null when the statement is not of that shape (see the
 * top of this file): then nothing was changed and the export runs as one `iterate()`.
 */
export function startKeyOrderedExport(db: Database.Database, target: ExportTarget): KeyOrderedExport | null {
  if (target.params.length > 0 || db.inTransaction) return null;
  const shape = shapeOf(target.sql);
  if (!shape || !scansRowidOrder(db, target.sql, shape)) return null;
  const rows = db.prepare(shape.rowsSql).raw(true).safeIntegers(true);
  if (!sameColumns(rows, target.columns)) return null;

  db.exec('BEGIN');
  let started = false;
  const helpers: Helper[] = [];
  try {
    const parts = splittable(db, target.format) ? Math.min(availableParallelism(), MAX_PARTS) : 1;
    const ranges = splitRanges(db, shape, parts);
    const reader: RangeReader = { rows, nextKey: db.prepare(shape.nextKeySql).pluck().safeIntegers(true) };
    for (let i = 1; i < ranges.length; i++) helpers.push(startHelper(target, shape, ranges[i]!, i + 1));
    started = true;
    return {
      ranges: ranges.length,
      readFirst: (onBatch) => readRange(reader, ranges[0]!, onBatch),
      joinHelpers: (write, encoder, onWait, warn) => joinHelpers(reader, helpers, write, encoder, onWait, warn),
      rowsAfterFirst: (limit) => firstRows(reader, { low: ranges[0]!.high + 1n, high: ranges.at(-1)!.high }, limit),
      close: () => closeExport(db, helpers),
    };
  } finally {
    if (!started) closeExport(db, helpers);
  }
}

/**
 * Whether helper threads may take ranges: where this module can be a thread's entry (above), not
 * in WAL mode (see the top of this file), and not for JSON, whose first row is written unlike the
 * others (ranges of equal key spans can leave the first range empty).
 */
function splittable(db: Database.Database, format: QueryOutputFormat): boolean {
  return HELPER_ENTRY !== null && format !== 'json' && String(db.pragma('journal_mode', { simple: true })).toLowerCase() !== 'wal';
}

function shapeOf(sql: string): Shape | null {
  const match = SHAPE.exec(sql);
  if (!match) return null;
  const [, list, table, key] = match as unknown as [string, string, string, string];
  return {
    list,
    table,
    key,
    rowsSql: `SELECT ${list} FROM ${table} WHERE ${key} BETWEEN ? AND ? ORDER BY ${key}`,
    nextKeySql: `SELECT ${key} FROM ${table} WHERE ${key} >= ? ORDER BY ${key} LIMIT 1 OFFSET ${BATCH_ROWS}`,
  };
}

/**
 * Whether SQLite runs the statement as a plain scan of the table (rowid order, no sort, no
 * index) and the range statement as a rowid range search of it: then the key is the rowid.
 */
function scansRowidOrder(db: Database.Database, sql: string, shape: Shape): boolean {
  const plan = (text: string, params: unknown[]) => {
    try {
      return (db.prepare(`EXPLAIN QUERY PLAN ${text}`).all(...params) as Array<{ detail: string }>).map((row) => row.detail.toLowerCase());
    } catch {
      return [];
    }
  };
  const name = shape.table.toLowerCase();
  const whole = plan(sql, []);
  const range = plan(shape.rowsSql, [0, 0]);
  return whole.length === 1 && whole[0] === `scan ${name}` && range.length === 1 && range[0] === `search ${name} using integer primary key (rowid>? and rowid<?)`;
}

function sameColumns(statement: Database.Statement, columns: readonly string[]): boolean {
  const names = statement.columns().map((c) => c.name);
  return names.length === columns.length && names.every((name, i) => name === columns[i]);
}

/**
 * The key ranges: one, or `parts` spans of equal width when the table has SPLIT_MIN_ROWS rows or
 * more. Without counting the rows (a count reads the whole table): the smallest and largest keys
 * come from the rowid b-tree's ends, and the threshold from one probe SPLIT_MIN_ROWS keys in.
 */
function splitRanges(db: Database.Database, shape: Shape, parts: number): Range[] {
  const { table, key } = shape;
  const ends = db.prepare(`SELECT (SELECT min(${key}) FROM ${table}), (SELECT max(${key}) FROM ${table})`).raw(true).safeIntegers(true).get() as [bigint | null, bigint | null];
  const [min, max] = ends;
  if (min === null || max === null) return [{ low: MIN_ROWID, high: MAX_ROWID, first: true }];
  const large =
    parts >= 2 &&
    max - min + 1n >= BigInt(SPLIT_MIN_ROWS) &&
    db.prepare(`SELECT ${key} FROM ${table} WHERE ${key} >= ? ORDER BY ${key} LIMIT 1 OFFSET ${SPLIT_MIN_ROWS - 1}`).pluck().safeIntegers(true).get(min) !== undefined;
  if (!large) return [{ low: min, high: max, first: true }];
  const ranges: Range[] = [];
  const width = (max - min + 1n) / BigInt(parts);
  let low = min;
  for (let part = 1; part < parts; part++) {
    ranges.push({ low, high: low + width - 1n, first: part === 1 });
    low += width;
  }
  ranges.push({ low, high: max, first: false });
  return ranges;
}

/**
 * Reads a range in batches, in key order: spans of BATCH_ROWS keys while they come back about
 * full, then (where keys are sparse) up to the key BATCH_ROWS further on, found by a probe.
 */
function readRange(reader: RangeReader, range: Range, onBatch: (rows: unknown[][]) => void): void {
  const span = BigInt(BATCH_ROWS);
  let probe = false;
  let low = range.low;
  for (;;) {
    let next: bigint | undefined;
    if (probe) next = reader.nextKey.get(low) as bigint | undefined;
    else if (range.high - low >= span) next = low + span;
    if (next !== undefined && next > range.high) next = undefined;
    const rows = reader.rows.all(low, next === undefined ? range.high : next - 1n) as unknown[][];
    if (rows.length > 0) onBatch(rows);
    if (next === undefined) return;
    if (rows.length < BATCH_ROWS / 2) probe = true;
    low = next;
  }
}

/** The first `limit` rows of a range (none when the range is empty or reversed). */
function firstRows(reader: RangeReader, range: { low: bigint; high: bigint }, limit: number): unknown[][] {
  const rows: unknown[][] = [];
  if (limit <= 0 || range.low > range.high) return rows;
  for (const row of reader.rows.iterate(range.low, range.high) as IterableIterator<unknown[]>) {
    rows.push(row);
    if (rows.length >= limit) break;
  }
  return rows;
}

function startHelper(target: ExportTarget, shape: Shape, range: Range, number: number): Helper {
  const file = `${target.partialPath}.${number}`;
  const control = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
  const { port1, port2 } = new MessageChannel();
  const job: PartJob = { db: target.dbPath, shape, range, format: target.format, columns: target.columns, file, control, port: port2 };
  const worker = new Worker(HELPER_ENTRY!, {
    workerData: { keyOrderedExportPart: job },
    execArgv: threadExecArgv(),
    transferList: [port2],
    // Its rows die young, batch by batch: a small young generation keeps the process's memory
    // down at no cost a scan can measure.
    resourceLimits: { maxYoungGenerationSizeMb: HELPER_YOUNG_MB },
  });
  // A thread that fails to start is given up by its silence (START_MS); its error event must not
  // end the task's thread as an unhandled one.
  worker.on('error', () => {});
  return { number, startedAt: performance.now(), range, file, control: new Int32Array(control), port: port1, worker };
}

function joinHelpers(
  reader: RangeReader,
  helpers: readonly Helper[],
  write: (bytes: Buffer) => void,
  encoder: RowEncoder,
  onWait: (rowsSoFar: number) => void,
  warn: (message: string) => void,
): number {
  let rows = 0;
  for (const helper of helpers) {
    const report = waitFor(helper, (batches) => onWait(rows + batches * BATCH_ROWS));
    if ('rows' in report) {
      appendFile(helper.file, write);
      rows += report.rows;
    } else {
      // Given back: exported here, inside the snapshot the helper would have read.
      warn(`key range ${helper.number} of ${helpers.length + 1} was exported on the task's own thread: its thread ${report.error}`);
      Atomics.store(helper.control, CANCEL, 1);
      void helper.worker.terminate();
      const out = new ChunkWriter(write);
      rows += encodeRange(reader, helper.range, encoder, out, () => onWait(rows));
      out.flush();
    }
    rmSync(helper.file, { force: true });
  }
  return rows;
}

/** The helper's report once it has finished, failed, or been given up. */
function waitFor(helper: Helper, onWait: (batches: number) => void): PartReport {
  let beats = 0;
  let lastBeat = helper.startedAt;
  for (;;) {
    Atomics.wait(helper.control, STATE, RUNNING, 100);
    const state = Atomics.load(helper.control, STATE);
    if (state !== RUNNING) {
      const message = receiveMessageOnPort(helper.port)?.message as PartReport | undefined;
      return message ?? { error: 'ended without a report' };
    }
    const now = Atomics.load(helper.control, BEAT);
    if (now !== beats) {
      beats = now;
      lastBeat = performance.now();
    } else if (beats === 0 && performance.now() - lastBeat > START_MS) {
      return { error: `did not start within ${START_MS / 1000} s` };
    } else if (performance.now() - lastBeat > STALL_MS) {
      return { error: `made no progress for ${STALL_MS / 1000} s` };
    }
    // Throws when the task is cancelled; `close` then ends the helpers.
    onWait(beats);
  }
}

function appendFile(file: string, write: (bytes: Buffer) => void): void {
  const fd = openSync(file, 'r');
  try {
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (let read = readSync(fd, buffer); read > 0; read = readSync(fd, buffer)) write(buffer.subarray(0, read));
  } finally {
    closeSync(fd);
  }
}

function closeExport(db: Database.Database, helpers: readonly Helper[]): void {
  for (const helper of helpers) {
    Atomics.store(helper.control, CANCEL, 1);
    void helper.worker.terminate();
    helper.port.close();
    rmSync(helper.file, { force: true });
  }
  if (db.inTransaction) db.exec('ROLLBACK');
}

/** Encodes the rows of one range, calling `afterBatch` after each batch; the number of rows. */
function encodeRange(reader: RangeReader, range: Range, encoder: RowEncoder, out: ChunkWriter, afterBatch: () => void): number {
  // Split exports are CSV or JSON Lines, whose rows do not depend on their index.
  let rows = 0;
  readRange(reader, range, (batch) => {
    for (const row of batch) encoder.row(row, rows++, out);
    afterBatch();
  });
  return rows;
}

/** A helper thread (`workers/key-range-thread.ts`): exports its range to its file, then reports the rows or the error. */
export function exportPart(job: PartJob): void {
  const control = new Int32Array(job.control);
  let report: PartReport;
  let db: Database.Database | null = null;
  // Started: from here on the task thread waits for progress rather than for the start.
  Atomics.add(control, BEAT, 1);
  try {
    db = openDatabase(job.db, { readonly: true, fileMustExist: true, timeout: HELPER_BUSY_MS });
    db.pragma('query_only = ON');
    // One read transaction: every batch from the same snapshot, the one the task thread reads.
    db.exec('BEGIN');
    const reader: RangeReader = {
      rows: db.prepare(job.shape.rowsSql).raw(true).safeIntegers(true),
      nextKey: db.prepare(job.shape.nextKeySql).pluck().safeIntegers(true),
    };
    const fd = openSync(job.file, 'w');
    try {
      const out = new ChunkWriter((bytes) => {
        for (let at = 0; at < bytes.length; ) at += writeSync(fd, bytes, at, bytes.length - at);
      });
      const rows = encodeRange(reader, job.range, rowEncoder(job.format, job.columns), out, () => {
        if (Atomics.load(control, CANCEL) !== 0) throw new Error('cancelled');
        Atomics.add(control, BEAT, 1);
      });
      out.flush();
      report = { rows };
    } finally {
      closeSync(fd);
    }
  } catch (error) {
    report = { error: `failed: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    db?.close();
  }
  job.port.postMessage(report);
  job.port.close();
  Atomics.store(control, STATE, 'rows' in report ? DONE : FAILED);
  Atomics.notify(control, STATE);
}
