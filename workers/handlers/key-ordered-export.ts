/**
 * A key-ordered export: `SELECT <columns or *> FROM <table> ORDER BY <key>` over a rowid table,
 * <key> its rowid (or the INTEGER PRIMARY KEY that names it), read in batches of key ranges and,
 * when large, read by several threads at once and joined in order.
 *
 * Most of an export's time goes into better-sqlite3 turning each value into a JavaScript value:
 * stepping alone costs more than the sqlite3 shell's whole export. Batches of a few hundred rows
 * read with `all()` cost about a third less than one `iterate()` step per row, and threads
 * reading ranges at once put every core to that work. Only the one shape above is read this way,
 * and only when SQLite's own query plans show that the statement is a plain scan of the table in
 * rowid order and a key range a rowid range search: the rows of the ranges one after the other
 * are then the statement's rows in the statement's order, and every row is encoded by the same
 * code, so the file is byte for byte the one a single `iterate()` writes. Any other statement,
 * and statements with parameters, run as one `iterate()` as before.
 *
 * A large export's keys are cut into many ranges of equal key spans (about RANGE_KEYS keys each).
 * The task's thread takes them from the front and writes them to the output as it goes; range
 * threads take them from the back into files of their own, until the two ends meet (see
 * `key-range-board.ts`); then the task's thread appends the back ranges in key order. No thread
 * waits for another's share: one that starts late, or gets less of a busy machine, reads fewer
 * ranges. A range thread's start (about 50 to 100 ms, loading better-sqlite3 into a new thread)
 * is work the task's thread goes on with meanwhile.
 *
 * One snapshot: the task's connection reads every batch and the table's ends inside one read
 * transaction, kept until every range thread is done. In rollback-journal mode that read lock
 * keeps any writer from committing, so a range thread that starts later reads the same data. In
 * WAL mode a writer can commit while a reader reads, so a range thread could see newer rows: WAL
 * databases are read in batches but never split. A range thread that fails (a writer waiting to
 * commit makes a new read lock wait) or stalls is not an error: the task's thread writes the
 * ranges it had claimed but not finished itself, still inside its own snapshot.
 */
import { closeSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isMainThread, MessageChannel, receiveMessageOnPort, Worker, workerData, type MessagePort } from 'node:worker_threads';
import type Database from 'better-sqlite3';
import type { QueryOutputFormat } from '../../contract/kinds/sql.js';
import { openDatabase } from '../../shared/open-database.js';
import type { PoolWorkerData } from '../../shared/pool-protocol.js';
import { threadExecArgv } from '../../shared/thread-exec-argv.js';
import { ChunkWriter } from './chunk-writer.js';
import { KeyRangeBoard } from './key-range-board.js';
import { rowEncoder, type RowEncoder } from './row-encoders.js';

/** Below this many rows a range thread's start costs about what it saves. */
export const SPLIT_MIN_ROWS = 200_000;
/** Threads at most, the task's included, whatever the cores. */
const MAX_THREADS = 4;
/**
 * Keys a batch spans (rows, where no key is missing). Small: a batch's rows stay alive while it
 * is encoded, and bigger batches cost no less CPU here but grow the heap (about 20 MB more rss
 * at 4,096 rows than at 256 in one thread).
 */
export const BATCH_ROWS = 256;
/**
 * Keys a range of a split export spans: some 10 ms of one thread's work on a dense table, so
 * that the threads end within about that of each other, and few enough ranges (about 60 for a
 * million rows) that claiming one and recording where its bytes lie cost nothing measurable.
 */
const RANGE_KEYS = 16_384;
/** Ranges at most: on a sparse table a range spans more keys rather than there being more ranges. */
const MAX_RANGES = 1_024;
/** A range thread whose heartbeat has not moved for this long is given up and its claimed range written here. */
const STALL_MS = 30_000;
/** How long a range thread waits for its read lock before giving up (it then claims nothing). */
const HELPER_BUSY_MS = 2_000;
/** The young generation of a range thread's heap, in MB (V8's default is several times more). */
const HELPER_YOUNG_MB = 4;
/**
 * A range thread's page cache, in KiB: what the pool threads' read connections keep (SQLite's own
 * default). Its ranges are read once, from pages the OS already caches; better-sqlite3's default
 * of 16 MB would fill as it scans and stay in the process's memory until the thread ends.
 */
const HELPER_CACHE_KIB = 2000;
const MAX_ROWID = 9223372036854775807n;
const MIN_ROWID = -9223372036854775808n;

/**
 * The range threads' entry (`workers/key-range-thread.ts`), which every build puts beside the
 * pool's entry and the engine names in the pool's workerData; without one, nothing is split.
 */
const HELPER_ENTRY = isMainThread ? null : ((workerData as Partial<PoolWorkerData> | null)?.keyRangeThreadFile ?? null);

/** Control words shared with a range thread. */
const STATE = 0;
const CANCEL = 1;
const BEAT = 2;
const RUNNING = 0;
const DONE = 1;
const FAILED = 2;

const IDENT = '[A-Za-z_][A-Za-z0-9_]*';
/** The one shape read by key: plain column names (or `*`), one table, ordered by one name, ascending. */
const SHAPE = new RegExp(`^\\s*SELECT\\s+(\\*|${IDENT}(?:\\s*,\\s*${IDENT})*)\\s+FROM\\s+(${IDENT})\\s+ORDER\\s+BY\\s+(${IDENT})(?:\\s+ASC)?\\s*;?\\s*$`, 'i');

/** A key range, both ends included. */
interface Range {
  low: bigint;
  high: bigint;
}

/** The ranges of an export: `count` spans of `width` keys from `min`, the last ending at `max`. */
export interface RangePlan {
  min: bigint;
  max: bigint;
  width: bigint;
  count: number;
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

/** What a range thread is handed. */
export interface PartJob {
  db: string;
  shape: Shape;
  plan: RangePlan;
  /** The ranges' shared board (`KeyRangeBoard`). */
  board: SharedArrayBuffer;
  /** 2 for the first range thread, and so on (the task's thread is 1). */
  thread: number;
  format: QueryOutputFormat;
  columns: string[];
  file: string;
  control: SharedArrayBuffer;
  port: MessagePort;
}

type PartReport = { ranges: number } | { error: string };

interface Helper {
  number: number;
  file: string;
  control: Int32Array;
  port: MessagePort;
  worker: Worker;
  /** Its heartbeat when last looked at, and when it last moved. */
  beats: number;
  beatAt: number;
  /** Why it was given up (its claimed ranges are then written by the task's thread). */
  givenUp: string | null;
  /** Its file, open for reading while the back ranges are joined. */
  fd: number | null;
}

/** A key-ordered export under way. */
export interface KeyOrderedExport {
  /** Threads reading ranges, the task's included: 1 when the export is not split. */
  readonly threads: number;
  /** Key ranges the keys are cut into: 1 when the export is not split. */
  readonly ranges: number;
  /** Hands the rows of the ranges the task's thread takes from the front to `onBatch`, batch by batch, in order. */
  readFront(onBatch: (rows: unknown[][]) => void): void;
  /** Ranges the task's thread read in `readFront`. */
  readonly frontRanges: number;
  /** Rows the range threads have read so far (for progress). */
  helperRows(): number;
  /**
   * After the front is written: appends the other ranges in key order, each from its thread's
   * file (or read here where its thread failed), and returns their rows. `onWait` may throw to cancel.
   */
  joinBack(write: (bytes: Buffer) => void, encoder: RowEncoder, onWait: () => void, warn: (message: string) => void): number;
  /** The first `limit` rows after the front, in key order (for a preview longer than the front). Before `close`. */
  rowsAfterFront(limit: number): unknown[][];
  /** Ends the range threads and the read transaction; removes their files. Always called. */
  close(): void;
}

/** What a key-ordered export needs to know. */
export interface ExportTarget {
  dbPath: string;
  sql: string;
  params: readonly unknown[];
  format: QueryOutputFormat;
  columns: string[];
  /** Range threads' files are named after it: `<partial>.2`, `<partial>.3`... */
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
    const threads = splittable(db, target.format) ? Math.min(availableParallelism(), MAX_THREADS) : 1;
    const plan = planRanges(db, shape, threads);
    const board = new KeyRangeBoard(plan.count);
    const reader: RangeReader = { rows, nextKey: db.prepare(shape.nextKeySql).pluck().safeIntegers(true) };
    if (plan.count > 1) for (let number = 2; number <= threads; number++) helpers.push(startHelper(target, shape, plan, board, number));
    started = true;
    return {
      threads: helpers.length + 1,
      ranges: plan.count,
      readFront: (onBatch) => {
        for (let index = board.claimFront(); index !== null; index = board.claimFront()) readRange(reader, rangeOf(plan, index), onBatch);
      },
      get frontRanges() {
        return board.frontCount;
      },
      helperRows: () => board.helperRows(),
      joinBack: (write, encoder, onWait, warn) => joinBack(reader, plan, board, helpers, write, encoder, onWait, warn),
      rowsAfterFront: (limit) => (board.frontCount < plan.count ? firstRows(reader, { low: rangeOf(plan, board.frontCount).low, high: plan.max }, limit) : []),
      close: () => closeExport(db, helpers),
    };
  } finally {
    if (!started) closeExport(db, helpers);
  }
}

/**
 * Whether range threads may take ranges: where this module can be a thread's entry (above), not
 * in WAL mode (see the top of this file), and not for JSON, whose first row is written unlike the
 * others (the front's ranges can be empty, leaving the first row to a range thread).
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
 * The key ranges: one, or spans of RANGE_KEYS keys (at most MAX_RANGES of them) when the export
 * may be split and the table has SPLIT_MIN_ROWS rows or more. Without counting the rows (a count
 * reads the whole table): the smallest and largest keys come from the rowid b-tree's ends, and
 * the threshold from one probe SPLIT_MIN_ROWS keys in.
 */
function planRanges(db: Database.Database, shape: Shape, threads: number): RangePlan {
  const { table, key } = shape;
  const ends = db.prepare(`SELECT (SELECT min(${key}) FROM ${table}), (SELECT max(${key}) FROM ${table})`).raw(true).safeIntegers(true).get() as [bigint | null, bigint | null];
  const [min, max] = ends;
  if (min === null || max === null) return { min: MIN_ROWID, max: MAX_ROWID, width: MAX_ROWID, count: 1 };
  const span = max - min + 1n;
  const whole = { min, max, width: span, count: 1 };
  const large =
    threads >= 2 &&
    span >= BigInt(SPLIT_MIN_ROWS) &&
    db.prepare(`SELECT ${key} FROM ${table} WHERE ${key} >= ? ORDER BY ${key} LIMIT 1 OFFSET ${SPLIT_MIN_ROWS - 1}`).pluck().safeIntegers(true).get(min) !== undefined;
  if (!large) return whole;
  const wanted = span / BigInt(RANGE_KEYS) + 1n;
  const count = wanted > BigInt(MAX_RANGES) ? BigInt(MAX_RANGES) : wanted;
  // Rounded up, so that `count` spans reach `max`; the last may then be shorter or, rarely, past it and empty.
  const width = (span + count - 1n) / count;
  return { min, max, width, count: Number(count) };
}

/** The `index`th range of a plan. */
function rangeOf(plan: RangePlan, index: number): Range {
  const low = plan.min + plan.width * BigInt(index);
  const high = low + plan.width - 1n;
  return { low, high: index === plan.count - 1 || high > plan.max ? plan.max : high };
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

function startHelper(target: ExportTarget, shape: Shape, plan: RangePlan, board: KeyRangeBoard, number: number): Helper {
  const file = `${target.partialPath}.${number}`;
  const control = new SharedArrayBuffer(3 * Int32Array.BYTES_PER_ELEMENT);
  const { port1, port2 } = new MessageChannel();
  const job: PartJob = { db: target.dbPath, shape, plan, board: board.memory, thread: number, format: target.format, columns: target.columns, file, control, port: port2 };
  const worker = new Worker(HELPER_ENTRY!, {
    workerData: { keyOrderedExportPart: job },
    execArgv: threadExecArgv(),
    transferList: [port2],
    // Its rows die young, batch by batch: a small young generation keeps the process's memory
    // down at no cost a scan can measure.
    resourceLimits: { maxYoungGenerationSizeMb: HELPER_YOUNG_MB },
  });
  // A thread that fails to start claims no range, and the task's thread reads them all; its
  // error event must not end the task's thread as an unhandled one.
  worker.on('error', () => {});
  return { number, file, control: new Int32Array(control), port: port1, worker, beats: 0, beatAt: performance.now(), givenUp: null, fd: null };
}

function joinBack(
  reader: RangeReader,
  plan: RangePlan,
  board: KeyRangeBoard,
  helpers: readonly Helper[],
  write: (bytes: Buffer) => void,
  encoder: RowEncoder,
  onWait: () => void,
  warn: (message: string) => void,
): number {
  let rows = 0;
  let here: ChunkWriter | null = null;
  const buffer = Buffer.allocUnsafe(1 << 20);
  const threads = helpers.length + 1;
  const giveUp = (helper: Helper, why: string) => {
    if (helper.givenUp !== null) return;
    helper.givenUp = why;
    Atomics.store(helper.control, CANCEL, 1);
    void helper.worker.terminate();
    warn(`key range thread ${helper.number} of ${threads} ${why}: the task's thread wrote the ranges it had claimed`);
  };
  try {
    for (let index = board.frontCount; index < plan.count; index++) {
      if (awaitRange(board, index, helpers, giveUp, onWait)) {
        const figures = board.figuresOf(index);
        const owner = helpers.find((helper) => helper.number === figures.thread)!;
        owner.fd ??= openSync(owner.file, 'r');
        copyRange(owner.fd, figures.offset, figures.bytes, buffer, write);
        rows += figures.rows;
      } else {
        // Taken back: written here, inside the snapshot its thread would have read.
        here ??= new ChunkWriter(write);
        rows += encodeRange(reader, rangeOf(plan, index), encoder, here, () => onWait());
        here.flush();
      }
    }
    for (const helper of helpers) {
      if (helper.givenUp === null && Atomics.load(helper.control, STATE) === FAILED) {
        const report = receiveMessageOnPort(helper.port)?.message as PartReport | undefined;
        warn(`key range thread ${helper.number} of ${threads} ${report && 'error' in report ? report.error : 'failed'}: the other threads read its share`);
      }
    }
  } finally {
    for (const helper of helpers) {
      if (helper.fd !== null) closeSync(helper.fd);
      helper.fd = null;
    }
  }
  return rows;
}

/**
 * Waits until a back range is done by its thread (true), or takes it back to be written on the
 * task's thread (false): when its thread has ended without finishing it, or stalled.
 */
function awaitRange(board: KeyRangeBoard, index: number, helpers: readonly Helper[], giveUp: (helper: Helper, why: string) => void, onWait: () => void): boolean {
  let freeSince: number | null = null;
  for (;;) {
    const state = board.state(index);
    if ('done' in state) return true;
    if ('takenBack' in state) return false;
    const now = performance.now();
    let trouble = false;
    if ('claimedBy' in state) {
      freeSince = null;
      const helper = helpers.find((h) => h.number === state.claimedBy)!;
      const why = helper.givenUp ?? troubleOf(helper, now);
      if (why !== null) {
        giveUp(helper, why);
        trouble = true;
      }
    } else {
      // Free, though claimed: its thread is between the claim's two steps, or ended in between.
      freeSince ??= now;
      trouble = helpers.every((helper) => helper.givenUp !== null || Atomics.load(helper.control, STATE) !== RUNNING) || now - freeSince > STALL_MS;
    }
    if (trouble) {
      if (board.takeBack(index)) return false;
      continue;
    }
    // Throws when the task is cancelled; `close` then ends the range threads.
    onWait();
    board.wait(index, 100);
  }
}

/** Why a range thread that holds a claimed range will not finish it, or null while it goes on. */
function troubleOf(helper: Helper, now: number): string | null {
  const state = Atomics.load(helper.control, STATE);
  if (state !== RUNNING) {
    const report = receiveMessageOnPort(helper.port)?.message as PartReport | undefined;
    return report && 'error' in report ? report.error : 'ended without finishing its range';
  }
  const beats = Atomics.load(helper.control, BEAT);
  if (beats !== helper.beats) {
    helper.beats = beats;
    helper.beatAt = now;
  } else if (now - helper.beatAt > STALL_MS) return `made no progress for ${STALL_MS / 1000} s`;
  return null;
}

/** Writes `bytes` bytes of a file from `offset`, a megabyte at a time. */
function copyRange(fd: number, offset: number, bytes: number, buffer: Buffer, write: (bytes: Buffer) => void): void {
  let at = offset;
  const end = offset + bytes;
  while (at < end) {
    const read = readSync(fd, buffer, 0, Math.min(buffer.length, end - at), at);
    if (read === 0) throw new Error('a key range thread\'s file is shorter than it reported');
    write(buffer.subarray(0, read));
    at += read;
  }
}

function closeExport(db: Database.Database, helpers: readonly Helper[]): void {
  for (const helper of helpers) {
    Atomics.store(helper.control, CANCEL, 1);
    void helper.worker.terminate();
    helper.port.close();
    try {
      rmSync(helper.file, { force: true });
    } catch {
      // Not a file of ours (a folder in the way, which also kept the thread from writing).
    }
  }
  if (db.inTransaction) db.exec('ROLLBACK');
}

/** Encodes the rows of one range, calling `afterBatch` with each batch's rows; the number of rows. */
function encodeRange(reader: RangeReader, range: Range, encoder: RowEncoder, out: ChunkWriter, afterBatch: (rows: number) => void): number {
  // Split exports are CSV or JSON Lines, whose rows do not depend on their index.
  let rows = 0;
  readRange(reader, range, (batch) => {
    for (const row of batch) encoder.row(row, rows++, out);
    afterBatch(batch.length);
  });
  return rows;
}

/**
 * A range thread (`workers/key-range-thread.ts`): claims ranges from the back and writes each to
 * its file until none is left, then reports how many it wrote, or its error.
 */
export function exportPart(job: PartJob): void {
  const control = new Int32Array(job.control);
  const board = new KeyRangeBoard(job.plan.count, job.board);
  let report: PartReport;
  let db: Database.Database | null = null;
  let fd: number | null = null;
  // Started: from here on the task's thread watches its progress.
  Atomics.add(control, BEAT, 1);
  try {
    db = openDatabase(job.db, { readonly: true, fileMustExist: true, timeout: HELPER_BUSY_MS });
    db.pragma('query_only = ON');
    db.pragma(`cache_size = -${HELPER_CACHE_KIB}`);
    // One read transaction, its read lock taken before any range is claimed: every batch from
    // the snapshot the task's thread reads, and a lock that cannot be had fails the thread while
    // it holds no range.
    db.exec('BEGIN');
    db.prepare(`SELECT max(${job.shape.key}) FROM ${job.shape.table}`).get();
    const reader: RangeReader = {
      rows: db.prepare(job.shape.rowsSql).raw(true).safeIntegers(true),
      nextKey: db.prepare(job.shape.nextKeySql).pluck().safeIntegers(true),
    };
    const file = openSync(job.file, 'w');
    fd = file;
    // Ended before it got here (the export is over): its file must not outlive the removal of
    // the range threads' files, which may have come first.
    if (Atomics.load(control, CANCEL) !== 0) {
      rmSync(job.file, { force: true });
      throw new Error('cancelled');
    }
    let written = 0;
    const out = new ChunkWriter((bytes) => {
      for (let at = 0; at < bytes.length; ) at += writeSync(file, bytes, at, bytes.length - at);
      written += bytes.length;
    });
    const encoder = rowEncoder(job.format, job.columns);
    let ranges = 0;
    for (let index = board.claimBack(job.thread); index !== null; index = board.claimBack(job.thread)) {
      const offset = written;
      const rows = encodeRange(reader, rangeOf(job.plan, index), encoder, out, (batch) => {
        if (Atomics.load(control, CANCEL) !== 0) throw new Error('cancelled');
        board.addHelperRows(batch);
        Atomics.add(control, BEAT, 1);
      });
      out.flush();
      if (!board.finish(index, job.thread, rows, offset, written - offset)) break;
      ranges++;
    }
    report = { ranges };
  } catch (error) {
    report = { error: `failed: ${error instanceof Error ? error.message : String(error)}` };
  } finally {
    if (fd !== null) closeSync(fd);
    db?.close();
  }
  job.port.postMessage(report);
  job.port.close();
  Atomics.store(control, STATE, 'ranges' in report ? DONE : FAILED);
}
