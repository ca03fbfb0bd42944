/**
 * `threadline schedule` as a person uses it: real processes (the bin, `threadline serve`), a
 * real store read back with the sqlite3 shell.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { STORE_FILE } from '../../electron/engine/job-store.js';
import { sqlite3Json } from '../reliability/sqlite-cli.js';
import { tempDir, waitFor } from '../support/engine-fixture.js';
import { assertBuilt, expectNoStack, finished, jobFile, runBin, spawnBin, type BinResult } from './bin.js';

beforeAll(assertBuilt);

const every2 = (name: string, ms = 200) => ({
  name,
  schedule: { cron: '*/2 * * * * *' },
  tasks: [{ id: 'work', kind: 'demo.sleep', ms }],
});

interface Serve {
  child: ChildProcess;
  exited: Promise<BinResult>;
  stop(): Promise<BinResult>;
}

async function startServe(dataDir: string): Promise<Serve> {
  const child = spawnBin(['serve', '--port', '0', '--workers', '1', '--data-dir', dataDir]);
  const exited = finished(child);
  let stdout = '';
  child.stdout!.on('data', (chunk: string) => (stdout += chunk));
  await waitFor(() => stdout.includes('\n'), 30_000, 'the serve URL');
  return {
    child,
    exited,
    stop: async () => {
      child.kill('SIGINT');
      return exited;
    },
  };
}

interface RunRow {
  outcome: string;
  trigger: string;
  job_id: string | null;
  started_at: number | null;
  finished_at: number | null;
}

/** The schedule's runs, oldest first, with their task's times, as the sqlite3 shell reads them. */
function runsOf(dataDir: string, name: string): RunRow[] {
  return sqlite3Json<RunRow>(
    join(dataDir, STORE_FILE),
    `SELECT r.outcome, r.trigger, r.job_id, t.started_at, t.finished_at FROM schedule_runs r
     LEFT JOIN tasks t ON t.job_id = r.job_id WHERE r.schedule = '${name}' ORDER BY r.id`,
  );
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('bad schedules are refused like any invalid field', () => {
  it.each([
    ['61 * * * *', /: schedule\.cron: not a valid cron expression "61 \* \* \* \*": .*minute: 61$/],
    ['every night', /: schedule\.cron: not a valid cron expression "every night": .*parts are required/],
    ['0 0 30 2 *', /: schedule\.cron: "0 0 30 2 \*" never matches a date$/],
  ])('cron %j: one line naming the file and the field, exit 2, nothing stored', async (cron, message) => {
    const dataDir = tempDir();
    const file = jobFile({ ...every2('bad'), schedule: { cron } }, 'bad.json');
    const result = await runBin(['schedule', 'add', file, '--data-dir', dataDir]);
    expect(result.code).toBe(2);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(new RegExp(`^threadline: ${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
    expect(lines[0]).toMatch(message);
    expectNoStack(result.stderr);
    // `run` refuses the same file the same way.
    const run = await runBin(['run', file, '--data-dir', dataDir]);
    expect(run.code).toBe(2);
    expect(run.stderr.trim()).toMatch(message);
  });

  it('a job file without a schedule, and an unknown time zone, are refused by field', async () => {
    const dataDir = tempDir();
    const plain = jobFile({ name: 'plain', tasks: [{ id: 'a', kind: 'demo.echo', value: 1 }] }, 'plain.yaml');
    const missing = await runBin(['schedule', 'add', plain, '--data-dir', dataDir]);
    expect(missing.code).toBe(2);
    expect(missing.stderr.trim()).toBe(`threadline: ${plain}: schedule: missing; expected { cron, timezone?, catchUp?, overlap? } to add the job as a schedule`);
    const zone = jobFile({ ...every2('zone'), schedule: { cron: '0 2 * * *', timezone: 'Europe/Pariss' } });
    const bad = await runBin(['schedule', 'add', zone, '--data-dir', dataDir]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe(`threadline: ${zone}: schedule.timezone: unknown time zone "Europe/Pariss"; expected an IANA name such as "Europe/Paris"`);
  });
});

describe('without a running host, on the store directly', () => {
  it('adds, replaces (and says so), lists, pauses, resumes and removes', async () => {
    const dataDir = tempDir();
    const none = await runBin(['schedule', 'list', '--data-dir', dataDir]);
    expect(none).toMatchObject({ code: 0, stdout: 'no schedules yet (add one with "threadline schedule add <jobfile>")\n' });

    const file = jobFile({ ...every2('nightly'), schedule: { cron: '0 2 * * *', timezone: 'Europe/Paris' } }, 'nightly.yaml');
    const added = await runBin(['schedule', 'add', file, '--data-dir', dataDir]);
    expect(added.code).toBe(0);
    expect(added.stdout).toMatch(/^added schedule "nightly" \(0 2 \* \* \*, Europe\/Paris\); next run \d{4}-\d\d-\d\d 02:00:00 GMT\+[12]\n$/);
    const again = await runBin(['schedule', 'add', file, '--data-dir', dataDir]);
    expect(again.stdout).toMatch(/^replaced the existing schedule "nightly"/);

    const db = join(dataDir, STORE_FILE);
    expect(sqlite3Json(db, 'SELECT name, cron, timezone, catch_up, overlap, paused FROM schedules')).toEqual([
      { name: 'nightly', cron: '0 2 * * *', timezone: 'Europe/Paris', catch_up: 'once', overlap: 'skip', paused: 0 },
    ]);

    const listed = await runBin(['schedule', 'list', '--data-dir', dataDir]);
    expect(listed.stdout.split('\n')[0]).toMatch(/^NAME\s+CRON\s+TIMEZONE\s+STATE\s+NEXT RUN\s+LAST RUN\s+OUTCOME$/);
    expect(listed.stdout).toMatch(/nightly\s+0 2 \* \* \*\s+Europe\/Paris\s+active\s+\d{4}-\d\d-\d\d 02:00:00 GMT\+[12]/);
    const json = JSON.parse((await runBin(['schedule', 'list', '--json', '--data-dir', dataDir])).stdout);
    expect(json).toEqual([expect.objectContaining({ name: 'nightly', cron: '0 2 * * *', timezone: 'Europe/Paris', paused: false, lastRun: null })]);
    expect(json[0].nextRunAt).toBeGreaterThan(Date.now());

    expect((await runBin(['schedule', 'pause', 'nightly', '--data-dir', dataDir])).stdout).toBe('paused schedule "nightly" (0 2 * * *, Europe/Paris); paused\n');
    expect(sqlite3Json(db, 'SELECT paused FROM schedules')).toEqual([{ paused: 1 }]);
    expect((await runBin(['schedule', 'list', '--data-dir', dataDir])).stdout).toMatch(/nightly .* paused/);
    expect((await runBin(['schedule', 'resume', 'nightly', '--data-dir', dataDir])).stdout).toMatch(/^resumed schedule "nightly" .*; next run /);

    expect(await runBin(['schedule', 'remove', 'nightly', '--data-dir', dataDir])).toMatchObject({ code: 0, stdout: 'removed schedule "nightly" (the jobs it ran stay in the history)\n' });
    expect(sqlite3Json(db, 'SELECT name FROM schedules')).toEqual([]);
    for (const verb of ['remove', 'pause', 'resume']) {
      const unknown = await runBin(['schedule', verb, 'nightly', '--data-dir', dataDir]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toBe('threadline: no schedule "nightly" (threadline schedule list shows them)\n');
    }
  });
});

describe('with "threadline serve" running', () => {
  it('a schedule every 2 s fires again and again without overlap, skips a run due while one runs, and stops on remove', async () => {
    const dataDir = tempDir();
    const serve = await startServe(dataDir);
    const quick = await runBin(['schedule', 'add', jobFile(every2('quick', 200)), '--data-dir', dataDir]);
    expect(quick.stdout).toMatch(/^added schedule "quick"/);
    // Each run of this one lasts longer than the period: every other due time finds it running.
    const slow = await runBin(['schedule', 'add', jobFile(every2('slow', 3000)), '--data-dir', dataDir]);
    expect(slow.code).toBe(0);
    // Waits for the runs rather than for a span of time: a busy machine may fire late, never wrongly.
    await waitFor(
      () =>
        runsOf(dataDir, 'quick').filter((run) => run.outcome === 'started' && run.finished_at !== null).length >= 3 &&
        runsOf(dataDir, 'slow').some((run) => run.outcome === 'skipped'),
      60_000,
      'three finished runs of "quick" and a skipped run of "slow"',
      250,
    );

    const quickRuns = runsOf(dataDir, 'quick').filter((run) => run.outcome === 'started');
    expect(quickRuns.filter((run) => run.finished_at !== null).length).toBeGreaterThanOrEqual(3);
    const slowRuns = runsOf(dataDir, 'slow');
    expect(slowRuns.filter((run) => run.outcome === 'skipped').length).toBeGreaterThanOrEqual(1);
    // No two runs of a schedule ran at once.
    for (const runs of [quickRuns, slowRuns.filter((run) => run.outcome === 'started')]) {
      const spans = runs.filter((run) => run.started_at !== null).map((run) => [run.started_at!, run.finished_at ?? Infinity] as const);
      for (let i = 1; i < spans.length; i++) expect(spans[i]![0]).toBeGreaterThanOrEqual(spans[i - 1]![1]);
    }

    const listed = await runBin(['schedule', 'list', '--data-dir', dataDir]);
    expect(listed.stdout).toMatch(/quick\s+\*\/2 \* \* \* \* \*\s+local\s+active\s+\S+ \S+ \S+\s+\S+ \S+ \S+\s+(succeeded|running)/);

    expect((await runBin(['schedule', 'remove', 'quick', '--data-dir', dataDir])).code).toBe(0);
    const jobsAtRemove = sqlite3Json<{ n: number }>(join(dataDir, STORE_FILE), "SELECT count(*) AS n FROM jobs WHERE name = 'quick'")[0]!.n;
    await sleep(4500);
    expect(sqlite3Json<{ n: number }>(join(dataDir, STORE_FILE), "SELECT count(*) AS n FROM jobs WHERE name = 'quick'")[0]!.n).toBe(jobsAtRemove);
    expect(runsOf(dataDir, 'quick')).toEqual([]);
    const stopped = await serve.stop();
    expect(stopped.code).toBe(0);
  });

  it('survives a restart of serve: the schedule is still listed and runs again', async () => {
    const dataDir = tempDir();
    let serve = await startServe(dataDir);
    expect((await runBin(['schedule', 'add', jobFile(every2('kept')), '--data-dir', dataDir])).code).toBe(0);
    await waitFor(() => runsOf(dataDir, 'kept').some((run) => run.outcome === 'started'), 20_000, 'a first run');
    expect((await serve.stop()).code).toBe(0);
    const before = runsOf(dataDir, 'kept').length;

    serve = await startServe(dataDir);
    const listed = await runBin(['schedule', 'list', '--json', '--data-dir', dataDir]);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ name: 'kept', paused: false })]);
    await waitFor(() => runsOf(dataDir, 'kept').filter((run) => run.outcome === 'started').length >= before + 2, 20_000, 'runs after the restart');
    const after = runsOf(dataDir, 'kept').slice(before);
    // What fell due while serve was down is one catch-up at most, never a burst.
    expect(after.filter((run) => run.trigger === 'catch-up').length).toBeLessThanOrEqual(1);
    expect(after.some((run) => run.trigger === 'due' && run.outcome === 'started')).toBe(true);
    expect((await serve.stop()).code).toBe(0);
  });
});
