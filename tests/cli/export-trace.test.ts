import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TraceEvent, TraceFile } from '../../electron/cli/chrome-trace.js';
import { heldTask } from '../support/held-task.js';
import { tempDir, waitFor } from '../support/engine-fixture.js';
import { assertBuilt, expectNoStack, finished, jobFile, runBin, spawnBin } from './bin.js';

beforeAll(assertBuilt);

/** The job store read by the sqlite3 CLI, not by Threadline's code. */
function sql(dataDir: string, query: string): string {
  return execFileSync('sqlite3', ['-readonly', join(dataDir, 'threadline.db'), query], { encoding: 'utf8' }).trim();
}

/** What every trace must satisfy to open in Perfetto and chrome://tracing. */
function checkTraceFormat(trace: TraceFile): void {
  expect(Array.isArray(trace.traceEvents)).toBe(true);
  for (const event of trace.traceEvents) {
    expect(typeof event.ph).toBe('string');
    expect(Number.isFinite(event.ts)).toBe(true);
    expect(Number.isInteger(event.pid)).toBe(true);
    expect(Number.isInteger(event.tid)).toBe(true);
    expect(event.ts).toBeGreaterThanOrEqual(0);
    if (event.ph === 'X') expect(event.dur).toBeGreaterThanOrEqual(0);
    if (event.ph === 'b' || event.ph === 'e') expect(typeof event.id).toBe('string');
  }
  // Async slices come in begin/end pairs, the end not before the begin.
  const begins = new Map(trace.traceEvents.filter((e) => e.ph === 'b').map((e) => [e.id, e]));
  const ends = trace.traceEvents.filter((e) => e.ph === 'e');
  expect(ends).toHaveLength(begins.size);
  for (const end of ends) expect(end.ts).toBeGreaterThanOrEqual(begins.get(end.id)!.ts);
  // Slices on one thread never overlap, so viewers nest them correctly.
  const byTid = new Map<number, TraceEvent[]>();
  for (const e of trace.traceEvents.filter((e) => e.ph === 'X')) byTid.set(e.tid, [...(byTid.get(e.tid) ?? []), e]);
  for (const slices of byTid.values()) {
    slices.sort((a, b) => a.ts - b.ts);
    for (let i = 1; i < slices.length; i++) expect(slices[i]!.ts).toBeGreaterThanOrEqual(slices[i - 1]!.ts + slices[i - 1]!.dur!);
  }
}

/** How many telemetry samples the store holds; 0 before the store exists. */
function storedSamples(dataDir: string): number {
  try {
    return Number(execFileSync('sqlite3', ['-readonly', join(dataDir, 'threadline.db'), 'SELECT count(*) FROM telemetry'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim());
  } catch {
    return 0; // not created yet
  }
}

function threadNames(trace: TraceFile): Map<number, string> {
  return new Map(trace.traceEvents.filter((e) => e.ph === 'M' && e.name === 'thread_name').map((e) => [e.tid, String(e.args!.name)]));
}

describe('threadline export-trace', () => {
  it('writes a Chrome trace: one track per worker thread and the loop, a slice per attempt, queue waits, counters', async () => {
    const dataDir = tempDir();
    const file = jobFile({
      name: 'traced',
      tasks: [
        ...Array.from({ length: 6 }, (_, i) => ({ id: `cpu${i}`, kind: 'demo.cpu', ms: 60 })),
        ...Array.from({ length: 3 }, (_, i) => ({ id: `sleep${i}`, kind: 'demo.sleep', ms: 150 })),
        { id: 'flaky', kind: 'demo.fail', retries: 2, retryBackoffMs: 20 },
        { id: 'never', kind: 'demo.echo', dependsOn: ['flaky'] },
      ],
    });
    const run = await runBin(['run', file, '--json', '--workers', '2', '--data-dir', dataDir]);
    expect(run.code).toBe(1);
    const jobId = JSON.parse(run.stdout).job.id as string;

    const out = join(tempDir(), 'trace.json');
    const result = await runBin(['export-trace', jobId, '-o', out, '--data-dir', dataDir]);
    expect(result.code).toBe(0);
    expect(result.stdout).toBe('');
    expect(result.stderr).toMatch(new RegExp(`^wrote ${out}: 12 attempts on \\d+ tracks(, with telemetry)?; open it in https://ui.perfetto.dev or chrome://tracing\\n$`));
    const trace = JSON.parse(readFileSync(out, 'utf8')) as TraceFile;
    checkTraceFormat(trace);

    // Checked against the store through the sqlite3 CLI.
    const attempts = Number(sql(dataDir, `SELECT count(*) FROM attempts WHERE job_id = '${jobId}'`));
    const workers = sql(dataDir, `SELECT DISTINCT worker FROM attempts WHERE job_id = '${jobId}' AND worker != 'loop' ORDER BY worker`).split('\n');
    expect(attempts).toBe(12); // 6 cpu + 3 sleep + 3 tries of flaky
    expect(workers.length).toBeGreaterThanOrEqual(1);
    expect(workers.length).toBeLessThanOrEqual(2);
    const slices = trace.traceEvents.filter((e) => e.ph === 'X');
    expect(slices).toHaveLength(attempts);

    const names = threadNames(trace);
    const workerTids = new Set(slices.filter((e) => e.args!.worker !== 'loop').map((e) => e.tid));
    expect(workerTids.size).toBe(workers.length);
    expect([...workerTids].map((tid) => names.get(tid)).sort()).toEqual(workers.map((w) => `worker thread ${w.slice(1)}`).sort());
    for (const tid of workerTids) {
      const ran = new Set(slices.filter((e) => e.tid === tid).map((e) => e.args!.worker));
      expect(ran.size).toBe(1);
    }
    expect(names.get(1)).toBe('event loop');
    const loopSlices = slices.filter((e) => e.args!.worker === 'loop');
    expect(loopSlices).toHaveLength(3);
    expect(loopSlices.every((e) => names.get(e.tid)!.startsWith('event loop'))).toBe(true);

    // Durations match the store's (microseconds vs milliseconds).
    const stored = sql(dataDir, `SELECT task_id, attempt, finished_at - started_at FROM attempts WHERE job_id = '${jobId}'`)
      .split('\n')
      .map((line) => line.split('|'));
    for (const [taskId, attempt, ms] of stored) {
      const slice = slices.find((e) => e.name === taskId && e.args!.attempt === Number(attempt))!;
      expect(slice.dur! / 1000).toBeCloseTo(Number(ms), 2);
    }
    expect(slices.filter((e) => e.name === 'flaky').map((e) => e.args!.state)).toEqual(['failed', 'failed', 'failed']);

    // Every attempt's queue wait, and the task that never ran.
    const waits = trace.traceEvents.filter((e) => e.ph === 'b' && e.cat === 'queue');
    expect(waits.map((e) => e.args!.task)).toContain(`${jobId}:never`);
    expect(waits.find((e) => e.args!.task === `${jobId}:never`)!.args).toMatchObject({ attempt: null, outcome: 'skipped' });
    expect(waits.filter((e) => e.args!.task === `${jobId}:flaky`).map((e) => e.args!.attempt)).toEqual([1, 2, 3]);
    const counters = trace.traceEvents.filter((e) => e.ph === 'C' && e.name === 'tasks');
    expect(counters.length).toBeGreaterThan(2);
    expect(counters.at(-1)!.args).toEqual({ queued: 0, running: 0 });
    expect(Math.max(...counters.map((e) => e.args!.running as number))).toBeGreaterThanOrEqual(2);
    // Memory counters exactly when the store kept telemetry while the job ran.
    const samples = Number(sql(dataDir, `SELECT count(*) FROM telemetry WHERE at BETWEEN (SELECT created_at FROM jobs WHERE id = '${jobId}') AND (SELECT finished_at FROM jobs WHERE id = '${jobId}')`));
    expect(trace.traceEvents.filter((e) => e.name === 'memory (MB)')).toHaveLength(samples);
  });

  it('adds the memory and loop-delay telemetry the engine stored while a job ran', async () => {
    const dataDir = tempDir();
    const held = heldTask('a');
    const running = spawnBin(['run', jobFile({ name: 'long', tasks: [held.task] }), '--json', '--data-dir', dataDir]);
    const ran = finished(running);
    // The task runs until the engine has stored two samples (one every 500 ms while a task runs), however late a busy machine takes them.
    await waitFor(() => storedSamples(dataDir) >= 2, 30_000, 'two telemetry samples in the store');
    held.release();
    const run = await ran;
    expect(run.code).toBe(0);
    const jobId = JSON.parse(run.stdout).job.id as string;
    const result = await runBin(['export-trace', jobId, '-o', '-', '--data-dir', dataDir]);
    const trace = JSON.parse(result.stdout) as TraceFile;
    checkTraceFormat(trace);
    const memory = trace.traceEvents.filter((e) => e.ph === 'C' && e.name === 'memory (MB)');
    expect(memory.length).toBeGreaterThanOrEqual(2);
    expect(memory[0]!.args!.rss).toBeGreaterThan(0);
    expect(trace.traceEvents.some((e) => e.ph === 'C' && /loop delay/.test(e.name))).toBe(true);
  });

  it('writes to stdout with -o -', async () => {
    const dataDir = tempDir();
    const run = await runBin(['run', jobFile({ name: 'tiny', tasks: [{ id: 'a', kind: 'demo.echo' }] }), '--json', '--data-dir', dataDir]);
    const jobId = JSON.parse(run.stdout).job.id as string;
    const result = await runBin(['export-trace', jobId, '-o', '-', '--data-dir', dataDir]);
    expect(result.code).toBe(0);
    const trace = JSON.parse(result.stdout) as TraceFile;
    checkTraceFormat(trace);
    expect(trace.traceEvents.filter((e) => e.ph === 'X').map((e) => e.name)).toEqual(['a']);
    expect(trace.otherData).toMatchObject({ job: jobId, name: 'tiny', state: 'succeeded' });
  });

  it('exits 2 with one line for an unknown job, an empty data directory, or an unwritable output', async () => {
    const dataDir = tempDir();
    const empty = await runBin(['export-trace', 'j-nope', '--data-dir', dataDir]);
    expect(empty.code).toBe(2);
    expect(empty.stderr).toBe(`threadline: no job "j-nope" in the data directory ${dataDir}; "threadline jobs --data-dir ${dataDir}" lists the jobs\n`);
    const run = await runBin(['run', jobFile({ name: 'x', tasks: [{ id: 'a', kind: 'demo.echo' }] }), '--json', '--data-dir', dataDir]);
    const unknown = await runBin(['export-trace', 'j-nope', '--data-dir', dataDir]);
    expect(unknown).toMatchObject({ code: 2, stdout: '' });
    expect(unknown.stderr).toContain('no job "j-nope"');
    const blank = await runBin(['export-trace', '', '--data-dir', dataDir]);
    expect(blank).toMatchObject({ code: 2, stdout: '', stderr: `threadline: no job "" in the data directory ${dataDir}; "threadline jobs --data-dir ${dataDir}" lists the jobs\n` });
    const jobId = JSON.parse(run.stdout).job.id as string;
    const unwritable = await runBin(['export-trace', jobId, '-o', join(dataDir, 'no', 'such', 'dir', 't.json'), '--data-dir', dataDir]);
    expect(unwritable.code).toBe(2);
    expect(unwritable.stderr).toMatch(/^threadline: cannot write .*t\.json: ENOENT/);
    for (const r of [empty, unknown, unwritable]) expectNoStack(r.stderr);
  });
});
