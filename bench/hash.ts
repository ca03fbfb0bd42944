import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { basename, join } from 'node:path';
import { Piscina } from 'piscina';
import type { Engine } from '../electron/engine/engine.js';
import type { FileHashResult } from '../workers/handlers/file-hash.js';
import { BASELINE_WORKER, benchEngine, jobDocument, timeJob } from './engine-fixture.js';
import { median, type Benchmark } from './harness.js';

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

/**
 * The digests of the engine's last job against `sha256sum`'s (untimed): the figures count only
 * if the engine hashed the right bytes.
 */
function checkDigests(engine: Engine, dir: string, files: string[]): void {
  const run = spawnSync('sha256sum', ['--', ...files.map((file) => basename(file))], { cwd: dir, maxBuffer: 64 * 2 ** 20 });
  if (run.status !== 0) throw new Error(`hash: sha256sum failed: ${run.stderr.toString()}`);
  const expected = new Map(run.stdout.toString().trim().split('\n').map((line) => [join(dir, line.slice(66)), line.slice(0, 64)]));
  const job = engine.jobs().at(-1);
  const hashed = job ? engine.tasksOfJob(job.id).flatMap((task) => (task.result as FileHashResult | null)?.files ?? []) : [];
  if (hashed.length !== files.length) throw new Error(`hash: the engine's last job hashed ${hashed.length} files of ${files.length}`);
  for (const file of hashed) {
    if (file.digest !== expected.get(file.path)) throw new Error(`hash: the engine's digest of ${file.path} is ${file.digest}, sha256sum says ${expected.get(file.path)}`);
  }
}

/**
 * Runs every side once a round, `rounds` rounds, the order turned by one place each round (a
 * side first in one round is last in the next). Returns each side's median wall time and the
 * median CPU time this process spent meanwhile, all its threads together (user and system).
 */
async function inTurn<K extends string>(rounds: number, sides: Record<K, () => Promise<number>>): Promise<Record<K, { ms: number; cpuMs: number }>> {
  const names = Object.keys(sides) as K[];
  const runs = new Map<K, { ms: number[]; cpuMs: number[] }>(names.map((name) => [name, { ms: [], cpuMs: [] }]));
  for (let round = 0; round < rounds; round++) {
    for (let i = 0; i < names.length; i++) {
      const name = names[(i + round) % names.length]!;
      const cpu = process.cpuUsage();
      const ms = await sides[name]();
      const used = process.cpuUsage(cpu);
      runs.get(name)!.ms.push(ms);
      runs.get(name)!.cpuMs.push((used.user + used.system) / 1000);
    }
  }
  return Object.fromEntries(names.map((name) => [name, { ms: median(runs.get(name)!.ms), cpuMs: median(runs.get(name)!.cpuMs) }])) as Record<K, { ms: number; cpuMs: number }>;
}

/** sha256 over several hundred MB of files: the engine vs sha256sum on every core vs cores x one Node thread. */
export const hash: Benchmark = {
  name: 'hash',
  async run(ctx) {
    const cores = cpus().length;
    const dir = ctx.scratch('hash');
    const { files, bytes } = makeFiles(dir, ctx.quick ? 16 : 400);
    const sizes = new Map(files.map((f) => [f, statSync(f).size]));
    const engine = benchEngine(ctx, { poolSize: cores });
    const groups = tasksOf(files, sizes, 4 * 2 ** 20);
    const job = jobDocument(groups.map((paths, i) => ({ id: `h${i}`, kind: 'file.hash', paths, algorithm: 'sha256' })));
    const rounds = ctx.quick ? 1 : 3;
    // The same tasks on bare piscina threads, no engine: what this machine's cores give hashing
    // in parallel, logged beside the limit to tell the machine's share from the engine's.
    const bare = new Piscina({ filename: BASELINE_WORKER, name: 'hashFiles', minThreads: cores, maxThreads: cores, idleTimeout: Number.POSITIVE_INFINITY, concurrentTasksPerWorker: 1 });
    try {
      // Warm for every side: the page cache, each pool's threads with the hashing code loaded (the
      // engine loads a kind's handler on a thread's first task of that kind), the JIT.
      nodeHashAll(files);
      await timeJob(engine, job);
      await Promise.all(groups.map((group) => bare.run(group)));
      // All four in every round, each in a different place of the round each time: the limit and
      // the bare threads see the same drift of a shared machine as the engine and sha256sum.
      const times = await inTurn(rounds, {
        sha256sum: async () => {
          const start = performance.now();
          sha256sumOnAllCores(dir);
          return performance.now() - start;
        },
        engine: () => timeJob(engine, job),
        oneThread: async () => {
          const start = performance.now();
          nodeHashAll(files);
          return performance.now() - start;
        },
        bareThreads: async () => {
          const start = performance.now();
          await Promise.all(groups.map((group) => bare.run(group)));
          return performance.now() - start;
        },
      });
      if (engine.stateCounts().failed > 0) throw new Error('the engine hash failed');
      checkDigests(engine, dir, files);
      const mb = bytes / 2 ** 20;
      const engineMbPerS = mb / (times.engine.ms / 1000);
      const singleMbPerS = mb / (times.oneThread.ms / 1000);
      const bareMbPerS = mb / (times.bareThreads.ms / 1000);
      ctx.log(
        `one thread ${Math.round(singleMbPerS)} MB/s; ${cores} bare piscina threads ${Math.round(bareMbPerS)} MB/s (${(bareMbPerS / (cores * singleMbPerS)).toFixed(2)} of ${cores} x one); ` +
          `the engine ${Math.round(engineMbPerS)} MB/s (${(engineMbPerS / bareMbPerS).toFixed(2)} of the bare threads)`,
      );
      // CPU time tells the engine's own work from the wait for a busy machine's cores.
      ctx.log(`CPU time of this process: one thread ${Math.round(times.oneThread.cpuMs)} ms, bare threads ${Math.round(times.bareThreads.cpuMs)} ms, the engine ${Math.round(times.engine.cpuMs)} ms`);
      return {
        'hash.mb_per_s': engineMbPerS,
        'hash.ratio': times.sha256sum.ms / times.engine.ms,
        'hash.limit_ratio': engineMbPerS / (cores * singleMbPerS),
      };
    } finally {
      await Promise.all([engine.shutdown(), bare.destroy()]);
    }
  },
};
