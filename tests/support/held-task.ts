import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tempDir } from './engine-fixture.js';

/** A script whose default export holds its thread until the file `args.file` exists. */
export const WAITS_FOR_FILE = fileURLToPath(new URL('../reliability/fixtures/waits-for-file.mjs', import.meta.url));

/** The same, but it also ends (as stopped) as soon as it is told to stop. */
export const WAITS_FOR_FILE_OR_STOP = fileURLToPath(new URL('../reliability/fixtures/waits-for-file-or-stop.mjs', import.meta.url));

/**
 * A task that holds its pool thread until `release()`: running (and whatever waits behind it,
 * waiting) for as long as the test needs, however slow the machine, where a task of a fixed
 * length could end first.
 */
export function heldTask(id: string): { task: Record<string, unknown>; release: () => void } {
  const file = join(tempDir(), 'release');
  return { task: { id, kind: 'script', module: WAITS_FOR_FILE, args: { file } }, release: () => writeFileSync(file, '') };
}

/** `heldTask`, but one that stops at once when it is cancelled or its engine shuts down. */
export function heldStoppableTask(id: string): { task: Record<string, unknown>; release: () => void } {
  const file = join(tempDir(), 'release');
  return { task: { id, kind: 'script', module: WAITS_FOR_FILE_OR_STOP, args: { file } }, release: () => writeFileSync(file, '') };
}
