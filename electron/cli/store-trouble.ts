import type { HostNotice } from '../../contract/api.js';
import type { Engine } from '../engine/engine.js';

/**
 * A batch run whose store stops taking writes (a full disk) stops at once: its job is left
 * `interrupted` for `threadline resume` once there is room, and the run exits 1 with one line
 * (`line`) that says why.
 */
export function stopOnStoreTrouble(engine: Engine): { notice(): HostNotice | null; detach(): void } {
  let seen: HostNotice | null = null;
  const stop = (notices: HostNotice[]) => {
    if (seen || notices.length === 0) return;
    seen = notices[0]!;
    void engine.shutdown();
  };
  engine.on('notices', stop);
  return {
    notice: () => seen ?? engine.notices()[0] ?? null,
    detach: () => engine.off('notices', stop),
  };
}

export function storeTroubleLine(notice: HostNotice): string {
  return `threadline: ${notice.message} [${notice.code}]; stopped: free some space, then "threadline resume" finishes the job`;
}
