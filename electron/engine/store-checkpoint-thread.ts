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

/**
 * PASSIVE copies what no reader still needs and never waits for the engine's writes. One that
 * fails (a full disk cannot take the pages) leaves the log as it was: the next one tries again.
 */
function checkpoint(mode: 'PASSIVE' | 'TRUNCATE'): void {
  let row: { busy: number; log: number; checkpointed: number } | undefined;
  try {
    [row] = db.pragma(`wal_checkpoint(${mode})`) as Array<{ busy: number; log: number; checkpointed: number }>;
  } catch {
    return;
  }
  if (row && row.log > 0) send({ type: 'checkpointed', busy: row.busy !== 0, logFrames: row.log, checkpointedFrames: row.checkpointed });
}

const timer = setInterval(() => checkpoint('PASSIVE'), intervalMs);
port.on('message', (message: CheckpointRequest) => {
  if (message.type !== 'close') return;
  clearInterval(timer);
  checkpoint('TRUNCATE');
  db.close();
  port.close();
});
send({ type: 'ready' });
