import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TraceFile } from '../../electron/cli/chrome-trace.js';
import { tempDir } from '../support/engine-fixture.js';
import { assertBuilt, expectNoStack, jobFile, runBin } from './bin.js';

beforeAll(assertBuilt);

/** A job with a chatty script (a warning among its lines), a retried failure and a hash task. */
function chattyJob(): string {
  const file = jobFile(
    {
      name: 'nightly-report',
      tasks: [
        { id: 'chatty', kind: 'script', module: 'logger.mjs', export: 'run', args: { n: 3 } },
        { id: 'flaky', kind: 'demo.fail', message: 'still broken', retries: 1, retryBackoffMs: 10 },
        { id: 'digest', kind: 'file.hash', paths: ['logger.mjs'] },
      ],
    },
    'report.json',
  );
  writeFileSync(join(file, '..', 'logger.mjs'), "export function run(args, ctx) { for (let i = 0; i < args.n; i++) ctx.log(`step ${i}`); ctx.log('almost out of quota', 'warn'); return { steps: args.n }; }\n");
  return file;
}

describe('threadline show', () => {
  it("shows a past job: each task's state, attempts, error, result and stored log lines, as text and JSON", async () => {
    const dataDir = tempDir();
    const run = await runBin(['run', chattyJob(), '--json', '--data-dir', dataDir]);
    expect(run.code).toBe(1);
    const jobId = (JSON.parse(run.stdout) as { job: { id: string } }).job.id;

    const json = await runBin(['show', jobId, '--json', '--data-dir', dataDir]);
    expect(json.code).toBe(0);
    const shown = JSON.parse(json.stdout) as { job: Record<string, unknown>; tasks: Array<Record<string, unknown>> };
    expect(shown.job).toMatchObject({ id: jobId, name: 'nightly-report', state: 'failed' });
    const [chatty, flaky, digest] = shown.tasks;
    expect(chatty).toMatchObject({ id: 'chatty', state: 'succeeded', attempts: 1, result: { steps: 3 }, summary: '{"steps":3}', error: null });
    expect((chatty!.logs as Array<{ level: string; message: string }>).map((l) => `${l.level} ${l.message}`)).toEqual(['info step 0', 'info step 1', 'info step 2', 'warn almost out of quota']);
    expect(flaky).toMatchObject({ id: 'flaky', state: 'failed', attempts: 2, error: { code: 'DEMO_FAILURE', message: 'still broken' } });
    expect((flaky!.history as Array<{ attempt: number; state: string }>).map((a) => [a.attempt, a.state])).toEqual([[1, 'failed'], [2, 'failed']]);
    expect(digest).toMatchObject({ id: 'digest', state: 'succeeded', summary: '1 file hashed', logs: [] });
    // The same as `run --json` printed, plus the attempts.
    expect(shown.tasks.map(({ history: _history, ...task }) => task)).toEqual((JSON.parse(run.stdout) as { tasks: unknown[] }).tasks);

    const text = await runBin(['show', jobId, '--data-dir', dataDir]);
    expect(text.code).toBe(0);
    expect(text.stdout).toMatch(new RegExp(`^job ${jobId} \\(nightly-report\\): failed$`, 'm'));
    expect(text.stdout).toMatch(/^3 tasks: 2 succeeded, 1 failed; paths relative to \//m);
    expect(text.stdout).toMatch(/^task flaky \(demo\.fail\): failed\n {2}attempt 1: failed on w\d+ at [\d:.]+, [\d.]+m?s\n {2}attempt 2: failed on w\d+ at .*\n {2}error: DEMO_FAILURE: still broken$/m);
    expect(text.stdout).toMatch(/^task chatty \(script\): succeeded\n {2}attempt 1: .*\n {2}result: \{"steps":3\}\n {2}log:\n {4}[\d:.]+ info {2}step 0$/m);
    expect(text.stdout).toMatch(/^ {4}[\d:.]+ warn {2}almost out of quota$/m);
    expect(text.stdout).toMatch(/^ {2}result: 1 file hashed$/m);

    // The id is quoted, so that an empty one or one with spaces reads as what was given.
    for (const id of ['j-nope', '', 'a b']) {
      const missing = await runBin(['show', id, '--data-dir', dataDir]);
      expect(missing).toMatchObject({ code: 2, stdout: '', stderr: `threadline: no job ${JSON.stringify(id)} in the data directory ${dataDir}; "threadline jobs --data-dir ${dataDir}" lists the jobs\n` });
    }
  });

  it('export-trace adds the stored log lines as instant events on the track of the attempt that wrote them', async () => {
    const dataDir = tempDir();
    const run = await runBin(['run', chattyJob(), '--json', '--data-dir', dataDir]);
    const jobId = (JSON.parse(run.stdout) as { job: { id: string } }).job.id;
    const trace = await runBin(['export-trace', jobId, '-o', '-', '--data-dir', dataDir]);
    expect(trace.code).toBe(0);
    const events = (JSON.parse(trace.stdout) as TraceFile).traceEvents;
    const instants = events.filter((e) => e.ph === 'i');
    expect(instants.map((e) => e.name)).toEqual(expect.arrayContaining(['step 0', 'step 1', 'step 2', 'almost out of quota']));
    const warning = instants.find((e) => e.name === 'almost out of quota')!;
    expect(warning).toMatchObject({ cat: 'log.warn', s: 't', args: { task: `${jobId}:chatty`, level: 'warn' } });
    const slice = events.find((e) => e.ph === 'X' && e.name === 'chatty')!;
    expect(warning.tid).toBe(slice.tid);
    expect(warning.ts).toBeGreaterThanOrEqual(slice.ts);
    expect(warning.ts).toBeLessThanOrEqual(slice.ts + slice.dur!);
  });
});

describe('threadline jobs', () => {
  it('filters by --state and --name and keeps to --limit', async () => {
    const dataDir = tempDir();
    const run = (name: string, kind: string) => runBin(['run', jobFile({ name, tasks: [{ id: 'a', kind }] }), '--json', '--data-dir', dataDir]);
    for (const [name, kind] of [['Nightly export', 'demo.echo'], ['nightly export', 'demo.fail'], ['hourly', 'demo.echo'], ['hourly', 'demo.fail']] as const) {
      await run(name, kind);
    }
    const list = async (...args: string[]) => {
      const result = await runBin(['jobs', '--json', '--data-dir', dataDir, ...args]);
      expect(result.code).toBe(0);
      return (JSON.parse(result.stdout) as Array<{ name: string; state: string }>).map((j) => `${j.name}/${j.state}`);
    };
    expect(await list()).toEqual(['hourly/failed', 'hourly/succeeded', 'nightly export/failed', 'Nightly export/succeeded']);
    expect(await list('--state', 'failed')).toEqual(['hourly/failed', 'nightly export/failed']);
    expect(await list('--name', 'NIGHTLY')).toEqual(['nightly export/failed', 'Nightly export/succeeded']);
    expect(await list('--name', 'night', '--state', 'succeeded')).toEqual(['Nightly export/succeeded']);
    expect(await list('--limit', '1')).toEqual(['hourly/failed']);
    expect(await list('--name', 'weekly')).toEqual([]);
    const none = await runBin(['jobs', '--name', 'weekly', '--data-dir', dataDir]);
    expect(none.stdout).toBe('no jobs match\n');

    const bad = await runBin(['jobs', '--state', 'done', '--data-dir', dataDir]);
    expect(bad).toMatchObject({ code: 2, stdout: '', stderr: 'threadline: --state must be one of running, succeeded, failed, cancelled, interrupted (got "done")\n' });
    expectNoStack(bad.stderr);
  });
});
