import { InvalidArgumentError } from 'commander';
import { resolve } from 'node:path';
import { defaultDataDir } from '../engine/paths.js';

export function positiveInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError(`${name} must be a whole number of 1 or more (got "${value}")`);
    return n;
  };
}

export function nonNegativeInt(name: string) {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number of 0 or more (got "${value}")`);
    return n;
  };
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

export function dataDirOf(options: { dataDir?: string }): string {
  return resolve(options.dataDir ?? defaultDataDir());
}

export function portNumber(value: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || !Number.isInteger(n) || n > 65_535) {
    throw new InvalidArgumentError(`--port must be a whole number from 0 to 65535 (got "${value}"); 0 picks a free port`);
  }
  return n;
}
