import { cpus, totalmem } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface BenchContext {
  quick: boolean;
  /** Fresh scratch folders, removed when the run ends. */
  scratch(prefix: string): string;
  log(line: string): void;
}

export type Metrics = Record<string, number>;

export interface Benchmark {
  name: string;
  run(ctx: BenchContext): Promise<Metrics>;
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/**
 * Runs baseline and candidate alternately, `rounds` times each, so that drift in the machine
 * (other load, thermal state) hits both alike; returns the median of each.
 */
export async function alternate(rounds: number, baseline: () => Promise<number>, candidate: () => Promise<number>): Promise<{ baseline: number; candidate: number }> {
  const b: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      b.push(await baseline());
      c.push(await candidate());
    } else {
      c.push(await candidate());
      b.push(await baseline());
    }
  }
  return { baseline: median(b), candidate: median(c) };
}

export function machine() {
  return { cores: cpus().length, cpu: cpus()[0]?.model ?? 'unknown', memoryGb: Math.round(totalmem() / 2 ** 30), node: process.version, platform: process.platform };
}

export function makeContext(quick: boolean): BenchContext & { cleanup(): void } {
  const dirs: string[] = [];
  return {
    quick,
    scratch(prefix) {
      const dir = mkdtempSync(join(tmpdir(), `threadline-bench-${prefix}-`));
      dirs.push(dir);
      return dir;
    },
    log: (line) => process.stderr.write(`  ${line}\n`),
    cleanup() {
      for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    },
  };
}
