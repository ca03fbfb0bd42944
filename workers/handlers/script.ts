import { accessSync, constants, statSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import type { z } from 'zod';
import type { script as spec } from '../../contract/kinds/script.js';
import type { TaskContext } from '../task-context.js';
import { TaskInputError } from '../../shared/task-errors.js';
import { fileError } from '../../shared/file-errors.js';

/**
 * Calls `export(args, ctx)` of the user's module on this pool thread and returns what it
 * returns (awaited when it is a promise). The module is loaded again when the file changes.
 */
export async function script(input: z.infer<typeof spec.input>, ctx: TaskContext): Promise<unknown> {
  const exports = await loadModule(input.module);
  const fn = exports[input.export];
  if (fn === undefined) {
    const names = Object.keys(exports).sort();
    const has = names.length > 0 ? `it exports ${names.map((n) => `"${n}"`).join(', ')}` : 'it exports nothing';
    throw new TaskInputError(`${input.module} has no export "${input.export}"; ${has}`, 'NO_SUCH_EXPORT');
  }
  if (typeof fn !== 'function') {
    throw new TaskInputError(`export "${input.export}" of ${input.module} is a ${typeof fn}, not a function`, 'NOT_A_FUNCTION');
  }
  let result: unknown = fn(input.args, ctx);
  if (result instanceof Promise) result = await result;
  return storable(result, input);
}

async function loadModule(path: string): Promise<Record<string, unknown>> {
  let version: string;
  try {
    const stat = statSync(path);
    if (stat.isDirectory()) throw new TaskInputError(`${path} is a directory; expected a JavaScript module file`, 'EISDIR');
    accessSync(path, constants.R_OK);
    version = `${stat.mtimeMs}-${stat.size}`;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw new TaskInputError(`script module ${path} does not exist`, 'ENOENT');
    throw fileError(error, path);
  }
  // The version in the URL makes an edited module load afresh instead of from the module cache.
  const url = pathToFileURL(path);
  url.searchParams.set('v', version);
  try {
    return (await import(url.href)) as Record<string, unknown>;
  } catch (error) {
    const message = error instanceof Error ? (error.name === 'Error' ? error.message : `${error.name}: ${error.message}`) : String(error);
    throw new TaskInputError(`cannot load script module ${path}: ${message}`, 'MODULE_LOAD_FAILED');
  }
}

/** The result as the job history stores it (JSON); refuses what JSON cannot hold instead of losing it silently. */
function storable(result: unknown, input: z.infer<typeof spec.input>): unknown {
  if (result === undefined) return null;
  try {
    return JSON.parse(JSON.stringify(result) ?? 'null') as unknown;
  } catch (error) {
    throw new TaskInputError(`the result of "${input.export}" in ${input.module} cannot be stored as JSON: ${(error as Error).message}`, 'BAD_RESULT');
  }
}
