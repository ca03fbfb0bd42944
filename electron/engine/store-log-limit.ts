/** The log a RESTART allows on any disk: 64 frames (256 KB of 4 KB pages). */
export const RESTART_FRAMES_MIN = 64;
/** The most it allows: 1024 frames (4 MB of 4 KB pages, about SQLite's own threshold of 1000 pages). */
export const RESTART_FRAMES_MAX = 1024;
/** The share of the free space on the store's disk the log may take, between the two. */
const LOG_SHARE_OF_FREE = 1 / 64;

/**
 * How many frames the store's write-ahead log may reach before the checkpoint thread takes a
 * RESTART (see `store-checkpoint-thread.ts`): the least on a small disk (the 2-4 MB of
 * `disk-full.test.ts`), up to 4 MB where the disk has room, so that writes that never pause meet
 * a RESTART once in several checkpoint intervals rather than in each. `freeBytes` null (the disk
 * could not be asked): the least.
 */
export function restartFrames(freeBytes: number | null, pageSize: number): number {
  if (freeBytes === null || !(pageSize > 0)) return RESTART_FRAMES_MIN;
  const frames = Math.floor((freeBytes * LOG_SHARE_OF_FREE) / pageSize);
  return Math.min(RESTART_FRAMES_MAX, Math.max(RESTART_FRAMES_MIN, frames));
}
