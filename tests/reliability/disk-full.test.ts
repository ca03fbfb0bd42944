/**
 * A full disk under the job store: an error the engine reports in one line (`DISK_FULL`), never
 * an uncaught exception; the job is left for `resume`, or, in a process that lives on, written
 * once space comes back. Each case runs on a small tmpfs the test mounts (2 MB; 4 MB where space
 * comes back), root only, as in CI.
 */
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import type { DeltaMessage, HostNotice } from '../../contract/api.js';
import { Engine } from '../../electron/engine/engine.js';
import { EventBatcher } from '../../electron/hosts/event-batcher.js';
import { assertBuilt, expectNoStack, jobFile, runBin, spawnBin, finished } from '../cli/bin.js';
import { jobSpec, onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { liveTaskState, storeFile } from './crash-recovery.js';
import { integrityCheck, sqlite3, storeStateCounts } from './sqlite-cli.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));

beforeAll(() => assertBuilt());

interface SmallDisk {
  dir: string;
  /** Takes every free byte (but `leave`) with a filler file. */
  fill(leave?: number): void;
  /** Removes the filler. */
  free(): void;
}

/** A tmpfs of `size` (2 MB by default), unmounted after the test. */
function smallDisk(size = '2m'): SmallDisk {
  const dir = tempDir('threadline-disk-');
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  onCleanup(() => void execFileSync('umount', ['-l', dir]));
  const filler = join(dir, 'filler');
  return {
    dir,
    fill(leave = 0) {
      const fd = openSync(filler, 'a');
      const chunk = Buffer.alloc(4096, 1);
      try {
        for (;;) writeSync(fd, chunk);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
      } finally {
        closeSync(fd);
      }
      if (leave > 0) execFileSync('truncate', ['-s', `-${leave}`, filler]);
    },
    free() {
      rmSync(filler, { force: true });
    },
  };
}

const RESULT_BYTES = 4096;

/**
 * A job whose `gate` holds its thread until `release` exists; then `n` small tasks each return
 * 4 KB: 100 of them (400 KB) cannot be written into a full disk, and fit once it is freed.
 */
function gatedJob(release: string, n: number, ms = 0): Array<Record<string, unknown>> {
  return [
    { id: 'gate', kind: 'script', module: join(FIXTURES, 'waits-for-file.mjs'), args: { file: release } },
    ...Array.from({ length: n }, (_, i) => ({
      id: `t${i}`,
      kind: 'script',
      module: join(FIXTURES, 'returns-bytes.mjs'),
      args: { bytes: RESULT_BYTES, tag: `#${i}`, ms },
      dependsOn: ['gate'],
    })),
  ];
}

/** How many stored results are whole and their own task's. */
function wholeResults(db: string): string {
  return sqlite3(db, `SELECT count(*) FROM tasks WHERE id != 'gate' AND length(result) = ${RESULT_BYTES + 2} AND result LIKE '%#' || substr(id, 2) || '"'`);
}

/** SQLite's reason varies with the file it could not grow: the log, or its shared memory. */
const DISK_FULL_LINE = /^threadline: the disk is full: the job store in .* cannot be written \((database or disk is full|disk I\/O error)\)/;

describe('a full disk under the job store', () => {
  it('refuses the admission of a 3,000-task job in one line, exit 1, and takes jobs again once space is back', async () => {
    const disk = smallDisk();
    const dataDir = join(disk.dir, 'data');
    // A store to start from, then no more than 64 KB free.
    expect((await runBin(['run', jobFile({ name: 'first', tasks: [{ id: 'a', kind: 'demo.echo' }] }), '--data-dir', dataDir])).code).toBe(0);
    disk.fill(64 * 1024);
    const file = jobFile({ name: 'big', tasks: Array.from({ length: 3000 }, (_, i) => ({ id: `t${i}`, kind: 'demo.echo', value: i })) });

    const refused = await runBin(['run', file, '--data-dir', dataDir]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(new RegExp(`${DISK_FULL_LINE.source}\\n$`));
    expectNoStack(refused.stderr);
    expect(refused.stderr).not.toContain('discardJob');
    expect(integrityCheck(storeFile(dataDir))).toBe('ok');
    const listed = await runBin(['jobs', '--data-dir', dataDir, '--json']);
    expect((JSON.parse(listed.stdout) as Array<{ name: string }>).map((j) => j.name)).toEqual(['first']);

    // Not a byte left: even taking the store over is refused in one line.
    disk.fill();
    const none = await runBin(['run', file, '--data-dir', dataDir]);
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(new RegExp(`${DISK_FULL_LINE.source}\n$`));

    // Space back: the store takes jobs again (3,000 tasks alone can fill 2 MB with the log they
    // write, so a smaller one), and the rows of the refused admissions are gone.
    disk.free();
    const next = jobFile({ name: 'next', tasks: Array.from({ length: 300 }, (_, i) => ({ id: `t${i}`, kind: 'demo.echo', value: i })) });
    const admitted = await runBin(['run', next, '--data-dir', dataDir, '--json']);
    expect(admitted.stderr).toBe('');
    expect(admitted.code).toBe(0);
    const db = storeFile(dataDir);
    expect(integrityCheck(db)).toBe('ok');
    expect(sqlite3(db, "SELECT name || ':' || state FROM jobs ORDER BY created_at")).toBe('first:succeeded\nnext:succeeded');
    expect(sqlite3(db, 'SELECT count(*) FROM tasks')).toBe('301');
  });

  it('mid-run: `threadline run` stops with one DISK_FULL line, exit 1, the job interrupted; `resume` finishes it once space is back', async () => {
    const disk = smallDisk();
    const dataDir = join(disk.dir, 'data');
    const release = join(tempDir(), 'release');
    const child = spawnBin(['run', jobFile({ name: 'gated', tasks: gatedJob(release, 100) }), '--data-dir', dataDir, '--workers', '1']);
    const end = finished(child);
    await waitFor(() => liveTaskState(dataDir, 'gate') === 'running', 60_000, 'the gate to be running');
    disk.fill();
    execFileSync('touch', [release]);
    const result = await end;
    expect(result.code).toBe(1);
    expect(result.signal).toBeNull();
    expectNoStack(result.stderr);
    expect(result.stderr).toMatch(new RegExp(`${DISK_FULL_LINE.source} \\[DISK_FULL\\]; stopped: free some space, then "threadline resume" finishes the job$`, 'm'));
    expect(result.stderr).not.toMatch(/SqliteError|flushSlice|Uncaught/);

    disk.free();
    const db = storeFile(dataDir);
    expect(integrityCheck(db)).toBe('ok');
    const listed = await runBin(['jobs', '--data-dir', dataDir, '--json']);
    expect(listed).toMatchObject({ code: 0, stderr: '' });
    const [job] = JSON.parse(listed.stdout) as Array<{ state: string; counts: Record<string, number> }>;
    expect(job!.state).toBe('interrupted');
    expect(job!.counts.running).toBeUndefined();
    const resumed = await runBin(['resume', '--data-dir', dataDir, '--json']);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    expect(storeStateCounts(db)).toEqual({ succeeded: 101 });
    expect(wholeResults(db)).toBe('100');
  });

  it('in a process that lives on: no task starts while the store cannot be written, a notice says why, and writing resumes when space is back', async () => {
    // Room for the store to come back once the filler goes: the write-ahead log can peak at about
    // 1.6 MB in this burst, and the checkpoint that folds it needs room for the pages it copies
    // (docs/reliability.md, entry 29): on 2 MB the burst after the filler goes fills the disk again.
    const disk = smallDisk('4m');
    const dataDir = join(disk.dir, 'data');
    const release = join(tempDir(), 'release');
    // Writes every 10 ms, tasks of 5 ms one at a time: the store's failure is seen long before the job could end.
    const engine = new Engine({ dataDir, poolSize: 1, telemetryIntervalMs: 100, storeFlushMs: 10 });
    onCleanup(() => engine.shutdown({ deadlineMs: 1000 }));
    const notices: HostNotice[][] = [];
    engine.on('notices', (list) => notices.push(list));
    const deltas: DeltaMessage[] = [];
    const batcher = new EventBatcher(engine);
    const subscription = batcher.subscribe({ send: (event) => event.type === 'delta' && deltas.push(event) });
    onCleanup(() => subscription.close());

    // One at a time, so that a pause in dispatch shows in the counts.
    const job = await engine.submitJob(jobSpec(gatedJob(release, 100, 5), { concurrency: 1 }), '/');
    await waitFor(() => engine.task(`${job.id}:gate`)?.state === 'running');
    disk.fill();
    execFileSync('touch', [release]);

    await waitFor(() => notices.length > 0, 30_000, 'a notice of the full disk');
    expect(notices[0]).toEqual([{ code: 'DISK_FULL', message: expect.stringMatching(/^the disk is full: the job store in .* cannot be written/), since: expect.any(Number) }]);
    expect(engine.snapshot().notices).toEqual(notices[0]);
    await waitFor(() => deltas.some((d) => d.notices?.[0]?.code === 'DISK_FULL'), 10_000, 'the notice in a delta');
    // Paused: at most the task already handed over ends after the notice.
    const endedAtNotice = engine.stateCounts().succeeded;
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(engine.stateCounts().succeeded).toBeLessThanOrEqual(endedAtNotice + 1);
    expect(engine.stateCounts().queued).toBeGreaterThan(0);

    disk.free();
    expect((await engine.waitForJob(job.id)).state).toBe('succeeded');
    expect(notices.at(-1)).toEqual([]);
    await waitFor(() => deltas.some((d) => d.notices !== undefined && d.notices.length === 0), 10_000, 'the notice cleared in a delta');
    await engine.shutdown();
    const db = storeFile(dataDir);
    expect(integrityCheck(db)).toBe('ok');
    expect(storeStateCounts(db)).toEqual({ succeeded: 101 });
    expect(wholeResults(db)).toBe('100');
    expect(sqlite3(db, 'SELECT state FROM jobs')).toBe('succeeded');
  });
});
