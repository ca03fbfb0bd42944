/**
 * The store's checkpoint thread (see `store-checkpointer.ts`): folds the write-ahead log back
 * into the database file on its own connection, so the copy and the fsync never hold the main
 * loop. `npm run build:node` compiles it to dist/electron/engine/store-checkpoint-thread.js; the
 * desktop bundle has it as out/main/store-checkpoint.js.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../../shared/open-database.js';
import type { CheckpointEvent, CheckpointRequest, CheckpointThreadData } from './store-checkpoint-protocol.js';

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

/** A log of this many frames (256 KB) is started over at the next write, not left to grow. */
const RESTART_FRAMES = 64;

/**
 * The log starts over only at a write that begins after a checkpoint copied all of it. Under
 * writes that never pause (a big job), a write nearly always comes first, and the log would
 * grow without end: on a small disk it takes the room the database file needs to take a
 * checkpoint, and then neither can ever be written again. So a log past RESTART_FRAMES gets a
 * RESTART after the PASSIVE copy: it holds the engine's writes only while it copies the frames
 * written in between (and waits at most RESTART_WAIT_MS for a writer or a reader to finish),
 * and the next write starts the log over.
 */
function fold(): void {
  const passive = checkpoint('PASSIVE');
  if (passive === undefined || passive.log < RESTART_FRAMES) return;
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
