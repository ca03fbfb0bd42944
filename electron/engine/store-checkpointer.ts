import { Worker } from 'node:worker_threads';
import type { JobStore } from './job-store.js';
import type { CheckpointEvent, CheckpointRequest, CheckpointResult, CheckpointThreadData } from './store-checkpoint-protocol.js';
import { threadExecArgv } from '../../shared/thread-exec-argv.js';

/** SQLite's own default: a checkpoint once the log holds this many pages. */
const SQLITE_AUTOCHECKPOINT_PAGES = 1000;
const CLOSE_TIMEOUT_MS = 5000;

/**
 * Moves the job store's WAL checkpoints to a thread of their own. A checkpoint copies the log
 * into the database file and syncs it: tens of milliseconds that SQLite would otherwise spend
 * inside whichever write of the engine crossed the threshold. Once the thread is up, the main
 * connection stops checkpointing; if the thread cannot start or dies, it takes over again.
 */
export class StoreCheckpointer {
  private thread: Worker | null = null;
  private readonly starting: NodeJS.Timeout | null = null;
  private exited: Promise<void> = Promise.resolve();
  /** Why the thread is not checkpointing, if it is not. */
  failure: Error | null = null;
  checkpoints = 0;
  lastResult: CheckpointResult | null = null;

  constructor(
    private readonly store: JobStore,
    options: { threadFile: string | null; intervalMs: number; startAfterMs?: number },
  ) {
    // No thread: the main connection checkpoints, as SQLite does by default.
    if (options.threadFile === null) return;
    const { threadFile, intervalMs, startAfterMs = 0 } = options;
    if (startAfterMs <= 0) {
      this.start(threadFile, intervalMs);
      return;
    }
    // A late start: a short run (a CLI job of a few tasks) never pays for a thread, nor shares the
    // cores with one while its pool starts. Until then the main connection checkpoints.
    this.starting = setTimeout(() => this.start(threadFile, intervalMs), startAfterMs);
    this.starting.unref();
  }

  private start(threadFile: string, intervalMs: number): void {
    if (!this.store.db.open) return;
    const data: CheckpointThreadData = { file: this.store.file, intervalMs };
    let thread: Worker;
    try {
      thread = new Worker(threadFile, { workerData: data, execArgv: threadExecArgv() });
    } catch (error) {
      this.failure = error as Error;
      return;
    }
    this.thread = thread;
    thread.unref();
    thread.on('message', (event: CheckpointEvent) => this.onEvent(event));
    thread.on('error', (error) => {
      this.failure ??= error;
    });
    this.exited = new Promise((resolve) =>
      thread.once('exit', () => {
        this.checkpointOnMainConnection();
        resolve();
      }),
    );
  }

  private onEvent(event: CheckpointEvent): void {
    if (event.type === 'ready') {
      if (this.store.db.open && this.failure === null) this.store.db.pragma('wal_autocheckpoint = 0');
      return;
    }
    this.checkpoints++;
    const { busy, logFrames, checkpointedFrames } = event;
    this.lastResult = { busy, logFrames, checkpointedFrames };
  }

  private checkpointOnMainConnection(): void {
    if (this.store.db.open) this.store.db.pragma(`wal_autocheckpoint = ${SQLITE_AUTOCHECKPOINT_PAGES}`);
  }

  /** A last full checkpoint, then the thread ends; the main connection checkpoints from then on. */
  async close(): Promise<void> {
    if (this.starting) clearTimeout(this.starting);
    if (!this.thread) return;
    const request: CheckpointRequest = { type: 'close' };
    this.thread.postMessage(request);
    const timer = setTimeout(() => void this.thread?.terminate(), CLOSE_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}
