import type { HostNotice } from '../../contract/api.js';
import type { Engine } from '../engine/engine.js';
import { oneLine } from './terminal-text.js';

/**
 * A batch run whose store stops taking writes (a full disk) stops at once: its job is left
 * `interrupted` for `threadline resume` once there is room, and the run exits 1 with one line
 * (`line`) that says why.
 */
export function stopOnStoreTrouble(engine: Engine): { notice(): HostNotice | null; detach(): void } {
  let seen: HostNotice | null = null;
  const stop = (notices: HostNotice[]) => {
    const trouble = notices.find(isStoreNotice);
    if (seen || !trouble) return;
    seen = trouble;
    void engine.shutdown();
  };
  engine.on('notices', stop);
  return {
    notice: () => seen ?? engine.notices().find(isStoreNotice) ?? null,
    detach: () => engine.off('notices', stop),
  };
}

/** A notice of the job store (a full disk, a write that failed), as opposed to one of the remote workers. */
export function isStoreNotice(notice: HostNotice): boolean {
  return notice.code === 'DISK_FULL' || notice.code === 'STORE_WRITE_FAILED';
}

export function storeTroubleLine(notice: HostNotice): string {
  return `threadline: ${oneLine(notice.message)} [${notice.code}]; stopped: free some space, then "threadline resume" finishes the job`;
}
