import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { fileError } from './file-errors.js';
import { TaskInputError } from './task-errors.js';

/** Creates the missing folders on the way to an output file (`mkdir -p` of its folder). */
export function createFolderOf(path: string): void {
  try {
    mkdirSync(dirname(path), { recursive: true });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST' || code === 'ENOTDIR') throw new TaskInputError(`the folder of ${path} cannot be created: a part of its path is a file`, 'ENOTDIR');
    throw fileError(error, dirname(path));
  }
}
