/**
 * The pool keeps spare threads, booted ahead of need: a hard cancel hands the work queued behind
 * the stuck task to one rather than to a thread started after the cancel, and the spares never
 * run work beside the pool's `poolSize` lanes. When a spare is ready for that work, the next
 * spare starts only once the ended thread has exited. While a task told to stop runs out its grace
 * period, the work queued behind it runs on a spare.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, constants, existsSync, openSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { defaultWorkerFile } from '../../electron/engine/paths.js';
import { SPARE_THREADS } from '../../electron/engine/pool-lanes.js';
import { jobSpec, makeEngine, onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';

/**
 * A script whose result is when its thread was started, wall clock: a thread shares the process's
 * `timeOrigin`, and `nodeTiming.environment` is when its own Node environment was set up.
 */
function bornScript(dir: string): string {
  const file = join(dir, 'born.mjs');
  writeFileSync(file, 'export function run() { return performance.timeOrigin + performance.nodeTiming.environment; }\n');
  return file;
}

/**
 * A script that writes the kernel id of its thread to `args.tidFile`, then reads the FIFO
 * `args.fifo`: the thread blocks in the kernel, where ending it cannot reach it, until the FIFO's
 * writer closes it.
 */
function blockedScript(dir: string): string {
  const file = join(dir, 'blocked.mjs');
  writeFileSync(
    file,
    [
      "import { readFileSync, readlinkSync, writeFileSync } from 'node:fs';",
      'export function run(args) {',
      "  writeFileSync(args.tidFile, readlinkSync('/proc/thread-self').split('/').pop());",
      '  return readFileSync(args.fifo).length;',
      '}',
    ].join('\n'),
  );
  return file;
}

/**
 * A pool worker file whose threads hold their boot until the test lets them go: each writes
 * `booting-<threadId>` in `dir` as it starts, and says it is ready (the real entry loaded) only
 * once `release-<threadId>` exists there.
 */
function heldBootEntry(dir: string): string {
  const file = join(dir, 'held-boot.cjs');
  writeFileSync(
    file,
    [
      "const { existsSync, writeFileSync } = require('node:fs');",
      "const { join } = require('node:path');",
      "const { threadId } = require('node:worker_threads');",
      `const dir = ${JSON.stringify(dir)};`,
      'writeFileSync(join(dir, `booting-${threadId}`), "");',
      `const entry = require(${JSON.stringify(defaultWorkerFile())}).default;`,
      'const released = new Promise((resolve) => {',
      '  const look = () => (existsSync(join(dir, `release-${threadId}`)) ? resolve(entry) : setTimeout(look, 5));',
      '  look();',
      '});',
      'module.exports = { __esModule: true, default: released };',
    ].join('\n'),
  );
  return file;
}

/** The threads of a `heldBootEntry` pool that have started, oldest first. */
function bootingThreads(dir: string): number[] {
  return readdirSync(dir)
    .filter((name) => name.startsWith('booting-'))
    .map((name) => Number(name.slice('booting-'.length)))
    .sort((a, b) => a - b);
}

/** The FIFO's write end, opened once a reader has the FIFO open (before that, opening it fails). */
function openWriter(fifo: string): number | null {
  try {
    return openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENXIO') return null;
    throw error;
  }
}

describe('the spare thread', () => {
  it('is started with the pool, before any work is queued', () => {
    const engine = makeEngine({ poolSize: 2 });
    expect(engine.pool.threadsWithSpare).toBe(2 + SPARE_THREADS);
    expect(engine.pool.threadCount).toBe(2);
  });

  it('is started again after a thread dies by itself; the task queued behind runs on another thread', async () => {
    const dir = tempDir();
    const exits = join(dir, 'exits.mjs');
    writeFileSync(exits, 'export function run() { process.exit(3); }\n');
    const engine = makeEngine({ poolSize: 1 });
    const job = await engine.submitJob(
      jobSpec([
        { id: 'dies', kind: 'script', module: exits, export: 'run' },
        { id: 'next', kind: 'demo.echo', value: 1, priority: -1 },
      ]),
      dir,
    );
    await engine.waitForJob(job.id);
    expect(engine.task(`${job.id}:dies`)?.state).toBe('failed');
    const next = engine.task(`${job.id}:next`)!;
    expect(next.state).toBe('succeeded');
    expect(next.worker).not.toBe(engine.task(`${job.id}:dies`)?.worker);
    await waitFor(() => engine.pool.threadsWithSpare === 1 + SPARE_THREADS, 20_000, 'a new spare');
    expect(engine.pool.threadCount).toBe(1);
  });

  it('is one, started when work waits behind busy threads, when the engine asks for it only then (a short CLI run)', async () => {
    const engine = makeEngine({ poolSize: 1, spareThreadsAhead: false });
    expect(engine.pool.threadsWithSpare).toBe(1);
    const one = await engine.submitJob(jobSpec([{ id: 'one', kind: 'demo.echo', value: 1 }]), '/');
    expect((await engine.waitForJob(one.id)).state).toBe('succeeded');
    expect(engine.pool.threadsWithSpare).toBe(1);
    const two = await engine.submitJob(jobSpec([{ id: 'a', kind: 'demo.block', ms: 200 }, { id: 'b', kind: 'demo.echo', value: 2 }]), '/');
    await waitFor(() => engine.task(`${two.id}:a`)?.state === 'running', 20_000, 'the first task to run');
    // The second task waits behind the busy lane: that starts the spare, and only one.
    await waitFor(() => engine.pool.threadsWithSpare === 2, 20_000, 'the spare to start');
    expect((await engine.waitForJob(two.id)).state).toBe('succeeded');
    expect(engine.pool.threadsWithSpare).toBe(2);
    expect(engine.pool.threadCount).toBe(1);
  });

  it('starts the next spare only once the thread it replaces has exited', async () => {
    const dir = tempDir();
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    const tidFile = join(dir, 'tid');
    const born = bornScript(dir);
    const engine = makeEngine({ poolSize: 1, cancelGraceMs: 0 });
    const job = await engine.submitJob(
      jobSpec([
        { id: 'blocked', kind: 'script', module: blockedScript(dir), export: 'run', args: { fifo, tidFile } },
        { id: 'next', kind: 'script', module: born, export: 'run', priority: -1 },
      ]),
      dir,
    );
    const writer = await waitFor(() => openWriter(fifo), 20_000, 'the blocked task to open the FIFO');
    const tid = readFileSync(tidFile, 'utf8');
    const wchan = `/proc/self/task/${tid}/wchan`;
    await waitFor(() => /pipe/.test(readFileSync(wchan, 'utf8')), 20_000, 'the blocked task to wait in its read');
    // The spares are ready for the queued task (had they still been booting, the next spare would start at once).
    await waitFor(() => engine.pool.idleThreads === SPARE_THREADS, 20_000, 'the spares to be ready');
    engine.cancelTask(`${job.id}:blocked`);
    await engine.waitForJob(job.id);
    expect(engine.task(`${job.id}:blocked`)?.state).toBe('cancelled');
    expect(engine.task(`${job.id}:next`)?.state).toBe('succeeded');
    // The ended thread is still in its read: a spare took the queued task, and no thread replaces it yet.
    expect(existsSync(`/proc/self/task/${tid}`)).toBe(true);
    expect(engine.pool.threadsWithSpare).toBe(SPARE_THREADS);
    closeSync(writer);
    await waitFor(() => !existsSync(`/proc/self/task/${tid}`), 20_000, 'the ended thread to exit');
    await waitFor(() => engine.pool.threadsWithSpare === 1 + SPARE_THREADS, 20_000, 'the next spare to start');
    expect(engine.pool.threadCount).toBe(1);
  });

  it('takes the task queued behind a hard-cancelled one: it was started before the cancel, and so is the next spare', async () => {
    const dir = tempDir();
    const born = bornScript(dir);
    const engine = makeEngine({ poolSize: 1, cancelGraceMs: 0 });
    for (let round = 0; round < 2; round++) {
      const job = await engine.submitJob(
        jobSpec([
          { id: 'stuck', kind: 'demo.cpu', ms: 600_000, cooperative: false },
          { id: 'next', kind: 'script', module: born, export: 'run', priority: -1 },
        ]),
        dir,
      );
      await waitFor(() => engine.task(`${job.id}:stuck`)?.state === 'running', 20_000, 'the stuck task to run');
      // The spare (or, after the first round, its replacement) booted before the cancel: the
      // thread that takes the queued task was born before it, however slow the machine.
      await waitFor(() => engine.pool.idleThreads === SPARE_THREADS, 20_000, 'the spare to be ready');
      const cancelledAt = performance.timeOrigin + performance.now();
      engine.cancelTask(`${job.id}:stuck`);
      await engine.waitForJob(job.id);
      expect(engine.task(`${job.id}:stuck`)?.state).toBe('cancelled');
      const next = engine.task(`${job.id}:next`)!;
      expect(next.state).toBe('succeeded');
      expect(next.worker).not.toBe(engine.task(`${job.id}:stuck`)?.worker);
      expect(next.result as number, `round ${round}: the queued task ran on a thread started after the cancel`).toBeLessThan(cancelledAt);
      expect(engine.pool.threadCount).toBe(1);
    }
  });

  it('gives the task queued behind a hard cancel to the first spare ready, not to an older one still booting', async () => {
    const dir = tempDir();
    const engine = makeEngine({ poolSize: 1, cancelGraceMs: 0, workerFile: heldBootEntry(dir) });
    const [lane, older, younger] = await waitFor(() => bootingThreads(dir).length === 1 + SPARE_THREADS && bootingThreads(dir), 20_000, 'the pool threads to start');
    writeFileSync(join(dir, `release-${lane}`), '');
    const job = await engine.submitJob(
      jobSpec([
        { id: 'stuck', kind: 'demo.cpu', ms: 600_000, cooperative: false },
        { id: 'next', kind: 'demo.echo', value: 1, priority: -1 },
      ]),
      '/',
    );
    await waitFor(() => engine.task(`${job.id}:stuck`)?.state === 'running', 20_000, 'the stuck task to run');
    // Both spares still boot: the queued task waits in the pool for the first thread ready, and the
    // cancel's replacement starts at once.
    engine.cancelTask(`${job.id}:stuck`);
    await waitFor(() => bootingThreads(dir).length === 2 + SPARE_THREADS, 20_000, 'the replacement to start');
    writeFileSync(join(dir, `release-${younger}`), '');
    // Given to the older spare, it would wait for that boot, which never ends here.
    await waitFor(() => engine.task(`${job.id}:next`)?.state === 'succeeded', 20_000, 'the queued task to run on the spare that is ready');
    expect(engine.task(`${job.id}:next`)?.worker).toBe(`w${younger}`);
    expect(engine.task(`${job.id}:stuck`)?.state).toBe('cancelled');
    for (const thread of [older!, ...bootingThreads(dir)]) writeFileSync(join(dir, `release-${thread}`), '');
    await waitFor(() => engine.pool.idleThreads === 1 + SPARE_THREADS, 20_000, 'every thread to be ready');
    expect(engine.pool.threadCount).toBe(1);
  });

  it('takes the work queued behind a task told to stop during its grace period, one thread beyond the lanes at most', async () => {
    const dir = tempDir();
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    // A grace period no test outlives: the queued work can only run during it.
    const engine = makeEngine({ poolSize: 1, cancelGraceMs: 600_000 });
    const job = await engine.submitJob(
      jobSpec([
        { id: 'blocked', kind: 'script', module: blockedScript(dir), export: 'run', args: { fifo, tidFile: join(dir, 'tid') } },
        { id: 'stuck', kind: 'demo.cpu', ms: 600_000, cooperative: false, priority: -1 },
      ]),
      dir,
    );
    const writer = await waitFor(() => openWriter(fifo), 20_000, 'the blocked task to open the FIFO');
    let open = true;
    const release = () => {
      if (open) closeSync(writer);
      open = false;
    };
    onCleanup(release);
    await waitFor(() => engine.pool.idleThreads === SPARE_THREADS, 20_000, 'the spares to be ready');
    engine.cancelTask(`${job.id}:blocked`);
    await waitFor(() => engine.task(`${job.id}:stuck`)?.state === 'running', 20_000, 'the queued task to run during the grace period');
    expect(engine.task(`${job.id}:blocked`)?.state).toBe('cancelling');
    expect(engine.task(`${job.id}:stuck`)?.worker).not.toBe(engine.task(`${job.id}:blocked`)?.worker);
    // A spare took it: no thread was started for it.
    expect(engine.pool.threadsWithSpare).toBe(1 + SPARE_THREADS);

    // One lane lent, not more: work queued now waits, though a spare is idle.
    const more = await engine.submitJob(jobSpec([{ id: 'next', kind: 'demo.echo', value: 1 }]), '/');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(engine.task(`${more.id}:next`)?.state).toBe('queued');
    expect(engine.pool.idleThreads).toBe(SPARE_THREADS - 1);

    // The task told to stop ends by itself within its grace period (its read returns, and so does
    // it): its lane is taken back, and its thread, kept, is a spare again; no thread is left over.
    release();
    await waitFor(() => engine.task(`${job.id}:blocked`)?.state === 'succeeded', 20_000, 'the blocked task to end');
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(engine.task(`${more.id}:next`)?.state).toBe('queued');
    expect(engine.pool.threadsWithSpare).toBe(1 + SPARE_THREADS);
    expect(engine.pool.idleThreads).toBe(SPARE_THREADS);

    // The stuck one told to stop in turn: the queued work runs on a spare during its grace period.
    engine.cancelTask(`${job.id}:stuck`);
    expect((await engine.waitForJob(more.id)).state).toBe('succeeded');
    expect(engine.task(`${job.id}:stuck`)?.state).toBe('cancelling');
    expect(engine.pool.threadsWithSpare).toBe(1 + SPARE_THREADS);
  });

  it('runs no more tasks at once than the pool has lanes', async () => {
    const engine = makeEngine({ poolSize: 2 });
    const tasks = Array.from({ length: 8 }, (_, i) => ({ id: `b${i}`, kind: 'demo.block', ms: 150 }));
    const job = await engine.submitJob(jobSpec(tasks), '/');
    expect((await engine.waitForJob(job.id)).state).toBe('succeeded');
    // The attempts' times are taken in the threads: count how many ran at each start.
    const spans = tasks.map((t) => engine.task(`${job.id}:${t.id}`)!).map((t) => [t.startedAt!, t.finishedAt!] as const);
    const mostAtOnce = Math.max(...spans.map(([start]) => spans.filter(([s, f]) => s <= start && start < f).length));
    expect(mostAtOnce).toBe(2);
    expect(new Set(tasks.map((t) => engine.task(`${job.id}:${t.id}`)!.worker)).size).toBe(2);
    expect(engine.pool.threadCount).toBe(2);
    expect(engine.pool.workerStats()).toHaveLength(2);
  });
});
