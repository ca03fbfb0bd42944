/** What the main thread and the store's checkpoint thread say to each other. */
export interface CheckpointThreadData {
  /** The job store's database file. */
  file: string;
  /** How often the write-ahead log is folded back into the file. */
  intervalMs: number;
}

export type CheckpointRequest = { type: 'close' };

/** `PRAGMA wal_checkpoint`'s answer: frames in the log, and how many of them are in the file now. */
export interface CheckpointResult {
  busy: boolean;
  logFrames: number;
  checkpointedFrames: number;
}

export type CheckpointEvent = { type: 'ready' } | ({ type: 'checkpointed' } & CheckpointResult);
