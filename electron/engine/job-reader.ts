/**
 * Where job text is read. A small text is read at once on the calling thread; a big one in a
 * thread of its own, so that parsing, validating and resolving 100,000 tasks (about a second)
 * never holds the event loop. Not on the pool: its threads may all be busy with people's tasks.
 */
import { existsSync } from 'node:fs';
import { Worker } from 'node:worker_threads';
import { ThreadlineError } from './errors.js';
import { decodeReply, type ReaderReply, type ReaderRequest } from './job-reader-protocol.js';
import { readJobTextHere, type JobReadResult } from './job-text.js';
import { defaultJobReaderFile } from './paths.js';
import { threadExecArgv } from '../../shared/thread-exec-argv.js';

export type { JobReadResult } from './job-text.js';

/**
 * Longer texts are read in a thread. Validation costs ~8 µs a task, so at most ~1,300 tasks
 * (~10 ms) are read on the loop, half the loop-delay budget; a thread costs ~30 ms more to
 * answer, none of it on the loop.
 */
export const THREAD_ABOVE_CHARS = 64 * 1024;

export interface JobReaderOptions {
  /** The compiled thread entry; default: the one beside the compiled engine, else in `dist/`. */
  threadFile?: string;
}

/**
 * Parses, validates and resolves the paths of job text, exactly as `jobSpecFromText` does.
 * Rejects only when the thread cannot do its work (a `ThreadlineError` naming its file).
 */
export async function readJobText(text: string, fileName: string, baseDir: string, options: JobReaderOptions = {}): Promise<JobReadResult> {
  if (text.length <= THREAD_ABOVE_CHARS) return readJobTextHere(text, fileName, baseDir);
  const reply = await askThread(options.threadFile ?? defaultJobReaderFile(), { text, fileName, baseDir });
  return decodeReply(reply);
}

/** One thread per text: it answers once, then is terminated. Settles on every way a thread can end. */
function askThread(file: string, request: ReaderRequest): Promise<ReaderReply> {
  // A missing file would otherwise surface as a module-loader error from inside the thread.
  if (!existsSync(file)) return Promise.reject(readerError(file, 'no such file'));
  return new Promise((resolve, reject) => {
    let worker: Worker;
    try {
      // Kept referenced while it reads: a CLI has nothing else keeping its loop alive yet.
      worker = new Worker(file, { workerData: request, execArgv: threadExecArgv() });
    } catch (error) {
      reject(readerError(file, firstLine(error), error));
      return;
    }
    worker.once('message', (reply: ReaderReply) => {
      resolve(reply);
      void worker.terminate();
    });
    worker.on('messageerror', (error) => {
      reject(readerError(file, `its answer could not be received (${firstLine(error)})`, error));
      void worker.terminate();
    });
    worker.on('error', (error) => reject(readerError(file, firstLine(error), error)));
    // After 'message' or 'error' this changes nothing; alone, the thread ended without a word.
    worker.once('exit', (code) => reject(readerError(file, `the thread ended (exit code ${code}) before it answered`)));
  });
}

function readerError(file: string, problem: string, cause?: unknown): ThreadlineError {
  return new ThreadlineError('JOB_READER_FAILED', `cannot read the job in a thread (${file}): ${problem}`, { cause });
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!;
}
