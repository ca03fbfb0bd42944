/**
 * The job reader thread (see `job-reader.ts`): reads the one text in its `workerData` with the
 * same steps as the main thread, answers once and ends. `npm run build:node` compiles it to
 * dist/electron/engine/job-reader-thread.js; the desktop bundle has it as out/main/job-reader.js.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { encodeReply, type ReaderRequest } from './job-reader-protocol.js';
import { readJobTextHere } from './job-text.js';

if (!parentPort) throw new Error('job-reader-thread is the entry of a worker thread, not a program');
const { text, fileName, baseDir } = workerData as ReaderRequest;
const { reply, transfer } = encodeReply(readJobTextHere(text, fileName, baseDir));
parentPort.postMessage(reply, transfer);
