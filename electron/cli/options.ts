import { InvalidArgumentError } from 'commander';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { defaultDataDir } from '../engine/paths.js';
import { CliError } from './cli-error.js';

/** The most threads `--workers` may ask for: far beyond any machine's cores, short of what would exhaust memory before the first task. */
export const MAX_WORKER_THREADS = 1024;
/** The longest wait a timer can keep (2^31 - 1 ms, about 24.8 days); a longer one would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** A whole number of `min` or more (up to `max`), written in digits only: "1e3", "0x10", "" and " 3" are typing mistakes, not numbers. */
function wholeNumber(name: string, min: number, max: number) {
  const expected = max === Number.MAX_SAFE_INTEGER ? `of ${min} or more` : `from ${min} to ${max}`;
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value) || !Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number ${expected} (got "${value}")`);
    return n;
  };
}

export function positiveInt(name: string, max = Number.MAX_SAFE_INTEGER) {
  return wholeNumber(name, 1, max);
}

export function nonNegativeInt(name: string, max = Number.MAX_SAFE_INTEGER) {
  return wholeNumber(name, 0, max);
}

/** The flags of every command that runs an engine of its own (`run`, `serve`, `resume`, `rerun`). */
export interface EngineFlags {
  dataDir?: string;
  workers?: number;
  /** `--redis URL`: tasks also run on the `threadline worker`s of that Redis. */
  redis?: string;
  grace?: number;
  loopConcurrency?: number;
  crashBudget?: number;
}

/**
 * `--data-dir`, or the per-user default, as an absolute path. One that is a file or a device, or
 * lies under one, is refused here for every command: a command that only reads would otherwise
 * find no store in it and say "no jobs yet".
 */
export function dataDirOf(options: { dataDir?: string }): string {
  const dataDir = resolve(options.dataDir ?? defaultDataDir());
  const blocker = notAFolderOnTheWay(dataDir);
  if (blocker === dataDir) throw new CliError(`the data directory ${dataDir} is not a folder`);
  if (blocker !== null) throw new CliError(`the data directory ${dataDir} cannot be made: ${blocker} is not a folder`);
  return dataDir;
}

/** The path itself, or the nearest of its parents, that exists and is no folder; null when none is (a missing folder is made when needed). */
function notAFolderOnTheWay(path: string): string | null {
  for (let at = path; ; at = dirname(at)) {
    try {
      return statSync(at).isDirectory() ? null : at;
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      // ENOTDIR: a parent is a file; look further up for it. Anything else is left to whoever opens it.
      if ((code !== 'ENOENT' && code !== 'ENOTDIR') || dirname(at) === at) return null;
    }
  }
}

/** `--host`: an empty one would make the server listen on every address, the opposite of what was meant. */
export function hostAddress(value: string): string {
  if (value.trim() === '') throw new InvalidArgumentError(`--host must be an address, such as 127.0.0.1, ::1 or 0.0.0.0 (got "${value}")`);
  return value;
}

export function portNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n) || n > 65_535) {
    throw new InvalidArgumentError(`--port must be a whole number from 0 to 65535 (got "${value}"); 0 picks a free port`);
  }
  return n;
}
