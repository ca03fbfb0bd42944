/** The baselines' piscina worker: the same trivial, CPU-bound and hashing functions, without the engine. */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync } from 'node:fs';

export function echo(value: unknown): unknown {
  return value;
}

/** The same 64-task batches the engine sends, answered the way the engine's worker answers them. */
export function echoBatch(values: unknown[]): unknown[] {
  return values.map((value) => echo(value));
}

/** `rounds` rounds of the same 10,000 steps `demo.cpu` takes: a fixed amount of work, whatever the time. */
export function crunch(rounds: number): number {
  let x = 0;
  for (let round = 0; round < rounds; round++) for (let i = 0; i < 10_000; i++) x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
  return x;
}

/** Hashes files with sha256 in 1 MB reads, as `bench/hash.ts` does on the main thread. */
export function hashFiles(files: string[]): number {
  const buffer = Buffer.allocUnsafe(2 ** 20);
  let bytes = 0;
  for (const file of files) {
    const hash = createHash('sha256');
    const fd = openSync(file, 'r');
    try {
      for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0; bytes += n) hash.update(buffer.subarray(0, n));
    } finally {
      closeSync(fd);
    }
    hash.digest('hex');
  }
  return bytes;
}

export default echo;
