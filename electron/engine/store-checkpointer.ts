import { Worker } from 'node:worker_threads';
import type { JobStore } from './job-store.js';
import type { CheckpointEvent, CheckpointRequest, CheckpointResult, CheckpointThreadData } from './store-checkpoint-protocol.js';

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
  private readonly thread: Worker | null = null;
  private exited: Promise<void> = Promise.resolve();
  /** Why the thread is not checkpointing, if it is not. */
  failure: Error | null = null;
  checkpoints = 0;
  lastResult: CheckpointResult | null = null;

  constructor(
    private readonly store: JobStore,
    options: { threadFile: string | null; intervalMs: number },
  ) {
    // No thread: the main connection checkpoints, as SQLite does by default.
    if (options.threadFile === null) return;
    const data: CheckpointThreadData = { file: store.file, intervalMs: options.intervalMs };
    try {
      this.thread = new Worker(options.threadFile, { workerData: data });
    } catch (error) {
      this.failure = error as Error;
      return;
    }
    const thread = this.thread;
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
    if (!this.thread) return;
    const request: CheckpointRequest = { type: 'close' };
    this.thread.postMessage(request);
    const timer = setTimeout(() => void this.thread?.terminate(), CLOSE_TIMEOUT_MS);
    await this.exited;
    clearTimeout(timer);
  }
}
