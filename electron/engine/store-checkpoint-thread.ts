/**
 * The store's checkpoint thread (see `store-checkpointer.ts`): folds the write-ahead log back
 * into the database file on its own connection, so the copy and the fsync never hold the main
 * loop. `npm run build:node` compiles it to dist/electron/engine/store-checkpoint-thread.js; the
 * desktop bundle has it as out/main/store-checkpoint.js.
 */
import { statfsSync } from 'node:fs';
import { dirname } from 'node:path';
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../../shared/open-database.js';
import type { CheckpointEvent, CheckpointRequest, CheckpointThreadData } from './store-checkpoint-protocol.js';
import { RESTART_FRAMES_MIN, restartFrames } from './store-log-limit.js';

if (!parentPort) throw new Error('store-checkpoint-thread is the entry of a worker thread, not a program');
const port = parentPort;
const { file, intervalMs } = workerData as CheckpointThreadData;
const db = openDatabase(file, { fileMustExist: true });
db.pragma('busy_timeout = 5000');
const send = (event: CheckpointEvent) => port.postMessage(event);

/** How long a RESTART may hold the engine's writes while it waits for the writer or a reader. */
const RESTART_WAIT_MS = 10;

/**
 * PASSIVE copies what no reader still needs and never waits for the engine's writes. One that
 * fails (a full disk cannot take the pages) leaves the log as it was: the next one tries again.
 */
function checkpoint(mode: 'PASSIVE' | 'RESTART' | 'TRUNCATE'): { log: number } | undefined {
  let row: { busy: number; log: number; checkpointed: number } | undefined;
  try {
    [row] = db.pragma(`wal_checkpoint(${mode})`) as Array<{ busy: number; log: number; checkpointed: number }>;
  } catch {
    return undefined;
  }
  if (row && row.log > 0) send({ type: 'checkpointed', busy: row.busy !== 0, logFrames: row.log, checkpointedFrames: row.checkpointed });
  return row;
}

const pageSize = db.pragma('page_size', { simple: true }) as number;

/** The free space of the store's disk; null when it cannot be asked. */
function freeBytes(): number | null {
  try {
    const { bavail, bsize } = statfsSync(dirname(file));
    return bavail * bsize;
  } catch {
    return null;
  }
}

/**
 * The log starts over only at a write that begins after a checkpoint copied all of it. Under
 * writes that never pause (a big job), a write nearly always comes first, and the log would
 * grow without end: on a small disk it takes the room the database file needs to take a
 * checkpoint, and then neither can ever be written again. So a log past `restartFrames` gets
 * a RESTART after the PASSIVE copy, and the next write starts the log over. A RESTART holds
 * the engine's writes while it copies the frames written in between and syncs the log and the
 * file (and waits at most RESTART_WAIT_MS for a writer or a reader to finish): 5-150 ms on a
 * loaded machine, which the main thread spends asleep in SQLite's busy handler if it writes
 * meanwhile. Hence a log allowed to grow where the disk has room.
 */
function fold(): void {
  const passive = checkpoint('PASSIVE');
  if (passive === undefined || passive.log < RESTART_FRAMES_MIN || passive.log < restartFrames(freeBytes(), pageSize)) return;
  db.pragma(`busy_timeout = ${RESTART_WAIT_MS}`);
  checkpoint('RESTART');
  db.pragma('busy_timeout = 5000');
}

const timer = setInterval(fold, intervalMs);
port.on('message', (message: CheckpointRequest) => {
  if (message.type !== 'close') return;
  clearInterval(timer);
  checkpoint('TRUNCATE');
  db.close();
  port.close();
});
send({ type: 'ready' });
