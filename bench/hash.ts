import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { BASELINE_WORKER, benchEngine, jobDocument, timeJob } from './engine-fixture.js';
import { alternate, type Benchmark } from './harness.js';

/** Files of mixed sizes: a few large, some medium, many small. */
function makeFiles(dir: string, totalMb: number): { files: string[]; bytes: number } {
  const sizes: number[] = [];
  let left = totalMb * 2 ** 20;
  const plan = [
    [64 * 2 ** 20, 0.5],
    [4 * 2 ** 20, 0.3],
    [64 * 1024, 0.2],
  ] as const;
  for (const [size, share] of plan) {
    const count = Math.max(1, Math.floor((totalMb * 2 ** 20 * share) / size));
    for (let i = 0; i < count && left > 0; i++, left -= size) sizes.push(Math.min(size, left));
  }
  const block = Buffer.alloc(2 ** 20);
  for (let i = 0; i < block.length; i++) block[i] = (i * 2_654_435_761) >>> 24;
  let bytes = 0;
  const files = sizes.map((size, n) => {
    const file = join(dir, `f${String(n).padStart(4, '0')}.bin`);
    const data = Buffer.alloc(size);
    for (let at = 0; at < size; at += block.length) block.copy(data, at, 0, Math.min(block.length, size - at));
    data.writeUInt32LE(n, 0); // every file different
    writeFileSync(file, data);
    bytes += size;
    return file;
  });
  return { files, bytes };
}

/** One thread of Node's own hash over the same bytes, read the same way. */
function nodeHashAll(files: string[]): void {
  const buffer = Buffer.allocUnsafe(2 ** 20);
  for (const file of files) {
    const hash = createHash('sha256');
    const fd = openSync(file, 'r');
    try {
      for (let n; (n = readSync(fd, buffer, 0, buffer.length, null)) > 0; ) hash.update(buffer.subarray(0, n));
    } finally {
      closeSync(fd);
    }
    hash.digest('hex');
  }
}

/**
 * What a shell user runs on all cores: `sha256sum` in `nproc` processes at once through
 * `xargs -P`, fed the files largest first, a few per process, so a process that finishes early
 * takes the next ones (as balanced as xargs gets).
 */
export const SHA256SUM_COMMAND = `ls -S | xargs -d '\\n' -P "$(nproc)" -n 4 sha256sum`;

function sha256sumOnAllCores(dir: string): void {
  const result = spawnSync('sh', ['-c', SHA256SUM_COMMAND], { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  if (result.status !== 0) throw new Error(`hash: ${SHA256SUM_COMMAND} failed: ${result.stderr.toString()}`);
}

/**
 * The files as tasks, largest first: a file of `unit` bytes or more is a task of its own, smaller
 * ones are gathered into tasks of about `unit` bytes. The pool hands each task to the next thread
 * that frees up, so threads end together within about one task's time.
 */
function tasksOf(files: string[], sizes: Map<string, number>, unit: number): string[][] {
  const out: string[][] = [];
  let open: { files: string[]; bytes: number } | null = null;
  for (const file of [...files].sort((a, b) => sizes.get(b)! - sizes.get(a)!)) {
    const size = sizes.get(file)!;
    if (size >= unit) {
      out.push([file]);
      continue;
    }
    open ??= { files: [], bytes: 0 };
    open.files.push(file);
    open.bytes += size;
    if (open.bytes >= unit) {
      out.push(open.files);
      open = null;
    }
  }
  if (open) out.push(open.files);
  return out;
}

/** sha256 over several hundred MB of files: the engine vs sha256sum on every core vs cores x one Node thread. */
export const hash: Benchmark = {
  name: 'hash',
  async run(ctx) {
    const cores = cpus().length;
    const dir = ctx.scratch('hash');
    const { files, bytes } = makeFiles(dir, ctx.quick ? 16 : 400);
    const sizes = new Map(files.map((f) => [f, 0]));
    for (const f of files) sizes.set(f, Number(spawnSync('stat', ['-c', '%s', f]).stdout.toString()));
    const engine = benchEngine(ctx, { poolSize: cores });
    const groups = tasksOf(files, sizes, 4 * 2 ** 20);
    const job = jobDocument(groups.map((paths, i) => ({ id: `h${i}`, kind: 'file.hash', paths, algorithm: 'sha256' })));
    const rounds = ctx.quick ? 1 : 3;
    // The same tasks on bare piscina threads, no engine: what this machine's cores give hashing
    // in parallel, logged beside the limit to tell the machine's share from the engine's.
    const bare = new Piscina({ filename: BASELINE_WORKER, name: 'hashFiles', minThreads: cores, maxThreads: cores, idleTimeout: Number.POSITIVE_INFINITY, concurrentTasksPerWorker: 1 });
    try {
      nodeHashAll(files); // warm the page cache
      const engineVsCli = await alternate(
        rounds,
        async () => {
          const start = performance.now();
          sha256sumOnAllCores(dir);
          return performance.now() - start;
        },
        () => timeJob(engine, job),
      );
      if (engine.stateCounts().failed > 0) throw new Error('the engine hash failed');
      const references = await alternate(
        rounds,
        async () => {
          const start = performance.now();
          nodeHashAll(files);
          return performance.now() - start;
        },
        async () => {
          const start = performance.now();
          await Promise.all(groups.map((group) => bare.run(group)));
          return performance.now() - start;
        },
      );
      const mb = bytes / 2 ** 20;
      const engineMbPerS = mb / (engineVsCli.candidate / 1000);
      const singleMbPerS = mb / (references.baseline / 1000);
      const bareMbPerS = mb / (references.candidate / 1000);
      ctx.log(`one thread ${Math.round(singleMbPerS)} MB/s; ${cores} bare piscina threads ${Math.round(bareMbPerS)} MB/s (${(bareMbPerS / (cores * singleMbPerS)).toFixed(2)} of ${cores} x one); the engine ${Math.round(engineMbPerS)} MB/s`);
      return {
        'hash.mb_per_s': engineMbPerS,
        'hash.ratio': engineVsCli.baseline / engineVsCli.candidate,
        'hash.limit_ratio': engineMbPerS / (cores * singleMbPerS),
      };
    } finally {
      await Promise.all([engine.shutdown(), bare.destroy()]);
    }
  },
};
