import { JobStore, storeWriteError } from './job-store.js';
import { StoreLock } from './store-lock.js';

const TELEMETRY_RETENTION_MS = 7 * 24 * 3600 * 1000;

/** A data directory an engine owns: its lock, its open store, and what the last owner left running. */
export interface OwnedStore {
  store: JobStore;
  /** The data directory is the engine's while the operating system says so. */
  lock: StoreLock;
  /** Jobs the last owner left running, now `interrupted`. */
  interrupted: string[];
}

/**
 * Takes the data directory (or throws `DATA_DIR_IN_USE`), opens its store and recovers what its
 * last owner left: whoever held it before is gone, so what it left running is interrupted.
 */
export function openOwnedStore(dataDir: string): OwnedStore {
  // Taken before the store is opened: the loser of two starts never touches it.
  const lock = StoreLock.take(dataDir);
  let store: JobStore;
  try {
    store = new JobStore(dataDir);
  } catch (error) {
    lock.release();
    throw storeWriteError(error, dataDir);
  }
  try {
    const interrupted = store.markInterrupted();
    store.pruneTelemetry(Date.now() - TELEMETRY_RETENTION_MS);
    store.claimOwnership();
    return { store, lock, interrupted };
  } catch (error) {
    store.close();
    lock.release();
    throw storeWriteError(error, dataDir);
  }
}

/** Closes the store (its owner row removed when the disk allows), then lets the directory go. */
export function closeOwnedStore({ store, lock }: OwnedStore): void {
  store.releaseOwnership();
  store.close();
  lock.release();
}
