import { describe, expect, it } from 'vitest';
import { RESTART_FRAMES_MAX, RESTART_FRAMES_MIN, restartFrames } from '../../electron/engine/store-log-limit.js';

const MB = 2 ** 20;
const PAGE = 4096;

describe('how long the store log may grow before a RESTART', () => {
  it('a small disk keeps the least: 64 frames, as on the 2-4 MB disks of the full-disk cases', () => {
    expect(RESTART_FRAMES_MIN).toBe(64);
    for (const free of [0, 1.5 * MB, 4 * MB, 16 * MB]) expect(restartFrames(free, PAGE)).toBe(64);
  });

  it('the log may take a 64th of the free space, up to 4 MB of pages', () => {
    expect(restartFrames(64 * MB, PAGE)).toBe(256);
    expect(RESTART_FRAMES_MAX * PAGE).toBe(4 * MB);
    expect(restartFrames(256 * MB, PAGE)).toBe(1024);
    expect(restartFrames(70 * 2 ** 30, PAGE)).toBe(1024);
    // Larger pages: the same bytes are fewer frames.
    expect(restartFrames(128 * MB, 8192)).toBe(256);
  });

  it('a disk that cannot be asked, or no page size, gets the least', () => {
    expect(restartFrames(null, PAGE)).toBe(64);
    expect(restartFrames(256 * MB, 0)).toBe(64);
    expect(restartFrames(256 * MB, Number.NaN)).toBe(64);
  });
});
