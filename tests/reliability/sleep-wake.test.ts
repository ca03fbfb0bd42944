/**
 * A laptop that sleeps, as the process sees it: stopped (SIGSTOP) for a while and then going on
 * (SIGCONT). Its timers fire late all at once and the wall clock has moved on; on Linux the
 * monotonic clock moves on too while a process is stopped (unlike a real suspend, where it
 * stops), which is the case a clock comparison cannot see. The real bin in a child process, the
 * store read back with the sqlite3 shell.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TelemetrySample } from '../../contract/telemetry.js';
import { assertBuilt, finished, jobFile, spawnBin } from '../cli/bin.js';
import { subscribedServe } from '../cli/subscribed-serve.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { storeFile } from './crash-recovery.js';
import { sqlite3Json } from './sqlite-cli.js';

beforeAll(assertBuilt);

const FIXTURES = join(import.meta.dirname, 'fixtures');

/** The state letter of a process (`T`: stopped), from /proc/<pid>/stat. */
function processState(pid: number): string {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2)[0]!;
}

/** Waits until the process is stopped. */
async function seenStopped(child: ReturnType<typeof spawnBin>): Promise<void> {
  onCleanup(() => void child.kill('SIGCONT'));
  await waitFor(() => processState(child.pid!) === 'T', 30_000, 'the process stopped', 5);
}

/** Leaves the stopped process so for `ms` and lets it go on; the instant it was let go. */
async function goOnAfter(child: ReturnType<typeof spawnBin>, ms: number): Promise<number> {
  await sleep(ms);
  const woke = Date.now();
  child.kill('SIGCONT');
  return woke;
}

/** Stops the process for `ms` and lets it go on; the instant it was let go. */
async function stopFor(child: ReturnType<typeof spawnBin>, ms: number): Promise<number> {
  child.kill('SIGSTOP');
  await seenStopped(child);
  return goOnAfter(child, ms);
}

/** The system calls in which a Node.js main thread waits for its next event: epoll_wait, epoll_pwait, epoll_pwait2. */
const EVENT_WAITS: Partial<Record<string, string[]>> = { x64: ['232', '281', '441'], arm64: ['22', '441'] };

/**
 * `stopFor`, landing the stop while the process's main thread waits for its next event, as an
 * idle loop mostly does. A stop that lands while the loop runs a callback is, as the process
 * sees it, that callback taking as long: loop delay. So it stops the process, looks where the
 * main thread is (/proc/<pid>/syscall) and, if it was not waiting, lets it go on and tries again.
 */
async function stopWhileIdleFor(child: ReturnType<typeof spawnBin>, ms: number): Promise<number> {
  const waits = EVENT_WAITS[process.arch];
  for (;;) {
    child.kill('SIGSTOP');
    await seenStopped(child);
    const syscall = readFileSync(`/proc/${child.pid}/syscall`, 'utf8').split(' ')[0]!.trim();
    if (waits ? waits.includes(syscall) : /^\d+$/.test(syscall)) return goOnAfter(child, ms);
    child.kill('SIGCONT');
    await sleep(20);
  }
}

interface RunRow {
  id: number;
  due_at: number;
  at: number;
  trigger: string;
  outcome: string;
  job_id: string | null;
  note: string | null;
}

describe('a schedule while `threadline serve` is stopped', () => {
  it('says on waking how many due times it missed and starts one run for them, then runs on time', async () => {
    const dataDir = tempDir();
    const file = jobFile({ name: 'every2', schedule: { cron: '*/2 * * * * *' }, tasks: [{ id: 'a', kind: 'demo.echo', value: 1 }] });
    const added = await finished(spawnBin(['schedule', 'add', file, '--data-dir', dataDir]));
    expect(added.code).toBe(0);
    const serve = spawnBin(['serve', '--port', '0', '--data-dir', dataDir, '--workers', '1']);
    let stdout = '';
    serve.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    await waitFor(() => stdout.includes('\n'), 30_000, 'the serve URL');
    const runs = () => sqlite3Json<RunRow>(storeFile(dataDir), "SELECT id, due_at, at, trigger, outcome, job_id, note FROM schedule_runs WHERE schedule = 'every2' ORDER BY id");
    await waitFor(() => runs().some((run) => run.trigger === 'due' && run.outcome === 'started'), 30_000, 'a run on time');
    // Stopped while a run's job still runs, the catch-up on waking would rightly be skipped (no
    // overlap): the stop comes once the latest run has ended, the next due time 2 s away at most.
    const latestRunEnded = () => {
      const latest = runs().filter((run) => run.job_id !== null).at(-1);
      return latest !== undefined && sqlite3Json<{ state: string }>(storeFile(dataDir), `SELECT state FROM jobs WHERE id = '${latest.job_id}'`)[0]?.state !== 'running';
    };
    await waitFor(latestRunEnded, 30_000, 'the latest run to end', 5);

    // Three or four due times (every 2 s) pass while it is stopped.
    const woke = await stopFor(serve, 7000);
    const after = await waitFor(() => {
      const all = runs();
      const first = all.findIndex((run) => run.at >= woke);
      return first > 0 && all.slice(first + 1).some((run) => run.trigger === 'due') && { before: all[first - 1]!, since: all.slice(first) };
    }, 30_000, 'the runs after the wake');

    const wake = after.since[0]!;
    const missed = (wake.due_at - after.before.due_at) / 2000;
    expect(missed).toBeGreaterThanOrEqual(3);
    // One run for all of them, recorded as a catch-up with their count; not a run "on time".
    expect(wake).toMatchObject({ trigger: 'catch-up', outcome: 'started', note: `${missed} due times missed while the host was closed or asleep` });
    expect(wake.due_at).toBeLessThanOrEqual(woke);
    // Then it goes on from there, each due time handled once, until one runs on time again (a
    // busy machine may hold a tick back past a due time: that one is caught up too, and said).
    const dueTimes = after.since.map((run) => run.due_at);
    expect(dueTimes).toEqual([...new Set(dueTimes)].sort((a, b) => a - b));
    // The catch-up's job ends a moment after it starts; its row says so with the next store write.
    const ended = await waitFor(() => {
      const [job] = sqlite3Json<{ state: string }>(storeFile(dataDir), `SELECT state FROM jobs WHERE id = '${wake.job_id}'`);
      return job && job.state !== 'running' && job;
    }, 30_000, 'the catch-up job to end', 200);
    expect(ended).toEqual({ state: 'succeeded' });
    serve.kill('SIGTERM');
  }, 90_000);
});

describe('a task timeout while `threadline run` is stopped', () => {
  it('does not count the time the process was stopped: a task that runs for less than its timeout succeeds', async () => {
    const dir = tempDir();
    const [started, release] = [join(dir, 'started'), join(dir, 'release')];
    const file = jobFile({
      name: 'stopped-run',
      // The task stops its process the moment it starts.
      tasks: [{ id: 'held', kind: 'script', module: join(FIXTURES, 'starts-then-waits.mjs'), args: { started, file: release, stopProcess: true }, timeoutMs: 5000 }],
    });
    const dataDir = tempDir();
    const run = spawnBin(['run', file, '--data-dir', dataDir, '--json', '--workers', '1', '--grace', '100']);
    const result = finished(run);
    await seenStopped(run);
    expect(existsSync(started)).toBe(true);

    // 8 s stopped: more than the timeout by the wall clock, nothing of it running.
    await goOnAfter(run, 8000);
    await sleep(1000);
    writeFileSync(release, '');
    const { code, stdout, stderr } = await result;
    expect(stderr).toBe('');
    const report = JSON.parse(stdout) as { tasks: Array<{ id: string; state: string; error: unknown; result: unknown; startedAt: number; finishedAt: number }> };
    expect(report.tasks[0]).toMatchObject({ id: 'held', state: 'succeeded', error: null, result: 'released' });
    // Its recorded run time is the wall clock's: the stop is in it.
    expect(report.tasks[0]!.finishedAt - report.tasks[0]!.startedAt).toBeGreaterThan(8000);
    expect(code).toBe(0);
  }, 90_000);

  it('still times out a task that runs past its timeout once the process goes on', async () => {
    const dir = tempDir();
    const started = join(dir, 'started');
    const file = jobFile({
      name: 'stopped-run',
      // The task stops its process the moment it starts.
      tasks: [{ id: 'held', kind: 'script', module: join(FIXTURES, 'starts-then-waits.mjs'), args: { started, file: join(dir, 'never'), stopProcess: true }, timeoutMs: 5000 }],
    });
    const dataDir = tempDir();
    const run = spawnBin(['run', file, '--data-dir', dataDir, '--json', '--workers', '1', '--grace', '100']);
    const result = finished(run);
    await seenStopped(run);
    expect(existsSync(started)).toBe(true);
    const woke = await goOnAfter(run, 5000);
    const { code, stdout } = await result;
    const report = JSON.parse(stdout) as { tasks: Array<{ state: string; error: { code: string; message: string } | null; finishedAt: number }> };
    expect(report.tasks[0]).toMatchObject({ state: 'timed_out', error: { code: 'TIMED_OUT', message: 'timed out after 5000 ms' } });
    // Not at the wake: it was stopped in its first second, so some 4 s of its timeout were left.
    expect(report.tasks[0]!.finishedAt).toBeGreaterThan(woke + 1500);
    expect(code).toBe(1);
  }, 90_000);
});

/**
 * Runs a task that times out at once and, told to stop, tidies up for a second by the wall clock
 * before it throws its stop; the task stops its process as soon as it hears it, for `stopMs`.
 */
async function stoppedWhileStopping(graceMs: number, stopMs: number) {
  const dir = tempDir();
  const tidied = join(dir, 'tidied');
  const asked = join(dir, 'asked');
  const file = jobFile({
    name: 'stopped-grace',
    tasks: [{ id: 'tidy', kind: 'script', module: join(FIXTURES, 'stops-slowly.mjs'), args: { started: join(dir, 'started'), asked, tidied, stopProcess: true }, timeoutMs: 500 }],
  });
  const run = spawnBin(['run', file, '--data-dir', tempDir(), '--json', '--workers', '1', '--grace', String(graceMs)]);
  const result = finished(run);
  await seenStopped(run);
  expect(existsSync(asked)).toBe(true);
  await goOnAfter(run, stopMs);
  const { code, stdout } = await result;
  const report = JSON.parse(stdout) as { tasks: Array<{ state: string; error: { code: string } | null }> };
  return { code, task: report.tasks[0], tidied: existsSync(tidied) };
}

describe('a grace period while `threadline run` is stopped', () => {
  it('does not count the time the process was stopped: a task told to stop still has its grace to tidy up', async () => {
    // Stopped for longer than the whole grace period.
    const { code, task, tidied } = await stoppedWhileStopping(3000, 5000);
    expect(task).toMatchObject({ state: 'timed_out', error: { code: 'TIMED_OUT' } });
    // Its second of tidying up ran after the wake, inside what was left of its 3 s; before, the
    // grace had run out during the stop and the thread was ended at the wake.
    expect(tidied).toBe(true);
    expect(code).toBe(1);
  }, 90_000);

  it('ends a task that stops on its own as its thread is ended as stopped, not as a result lost', async () => {
    // A grace of one step: the stop counts as that step, so the grace runs out at the wake, the
    // moment the task's second of tidying (by the wall clock) is over too and it throws its stop.
    const { code, task } = await stoppedWhileStopping(1000, 4000);
    expect(task).toMatchObject({ state: 'timed_out', error: { code: 'TIMED_OUT' } });
    expect(code).toBe(1);
  }, 90_000);
});

describe('the dashboard of a `threadline serve` that was stopped', () => {
  it('keeps its WebSocket, and does not show the stop as the event loop held up', async () => {
    const { serve, client } = await subscribedServe(['--data-dir', tempDir(), '--workers', '1']);
    const samples = (): TelemetrySample[] => client.events().flatMap((event) => event.telemetry);
    await waitFor(() => samples().length >= 2, 30_000, 'telemetry');

    const woke = await stopWhileIdleFor(serve, 3000);
    await waitFor(() => samples().filter((sample) => sample.at >= woke).length >= 3, 30_000, 'telemetry after the wake');
    // The 3 s the process was stopped are not loop delay (before the fix, the first sample after
    // the wake said p99 and max 3,000 ms: a red "stall" band on the dashboard's timeline).
    const after = samples().filter((sample) => sample.at >= woke);
    for (const sample of after) expect(sample.loop.delayMaxMs, JSON.stringify(sample.loop)).toBeLessThan(1000);
    // The same connection answers calls as before.
    const reply = await client.call('listSchedules', {});
    expect(reply).toMatchObject({ type: 'result', ok: true, value: { schedules: [] } });
    serve.kill('SIGTERM');
  }, 90_000);
});
