/**
 * The benchmark harness at quick sizes: every benchmark runs and `--json` holds exactly the
 * metrics issue 6 names, as finite numbers, with the machine they ran on. Timings are not
 * asserted: they are measurements of a shared machine. Needs dist/ built with the CLI's bundle,
 * whose pool worker the benchmarks' engines run (npm run build:node; npm test runs it).
 */
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { shippedPoolWorker } from '../../bench/engine-fixture.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));
const RUNNER = join(REPO, 'dist/bench/run.js');

/** The metric names of issue 6, benchmark by benchmark. */
const ISSUE_METRICS = [
  'dispatch.engine_tasks_per_s',
  'dispatch.piscina_tasks_per_s',
  'dispatch.ratio',
  'loop.pool_p99_ms',
  'loop.inline_p99_ms',
  'loop.ratio',
  'scaling.speedup',
  'cancel.soft_p99_ms',
  'cancel.hard_p99_ms',
  'sql_export.rows_per_s',
  'sql_export.ratio',
  'sql_export.cli_ratio',
  'sql_export.main_rss_growth_mb',
  'hash.mb_per_s',
  'hash.ratio',
  'hash.limit_ratio',
  'queue.admit_ms',
  'queue.bytes_per_task',
  'ipc.messages_per_s',
  'ipc.bytes_per_s',
  'ui.frame_ms_p95',
];
/** The metrics of issue 11 (workers on other machines), with the raw BullMQ baseline's rate beside them. */
const ISSUE_11_METRICS = ['remote.tasks_per_s', 'remote.bullmq_tasks_per_s', 'remote.ratio', 'remote.failover_ms', 'remote.cancel_p99_ms'];
/** The metrics issue 14 adds. */
const ISSUE_14_METRICS = ['dispatch.limit_ratio', 'loop.gather_ratio', 'cli.start_ratio', 'scale.linearity', 'scale.rss_bytes_per_task', 'ui.paint_ms_p95', 'ui.dropped_frames_pct', 'ipc.latency_p99_ms'];
/**
 * Written beside them: the scaling goal for this machine's cores, the loop's longest wait during
 * admission, the batched piscina baseline's rate, a hard cancel's time to the thread's exit alone,
 * and the slowest of the gather jobs whose median is `loop.gather_ratio`.
 */
const EXTRA_METRICS = ['loop.gather_slowest_ratio', 'cli.run_ms', 'scale.small_tasks_per_s', 'scale.big_tasks_per_s', 'scaling.goal', 'queue.admit_loop_max_ms', 'dispatch.piscina_batched_tasks_per_s', 'cancel.hard_exit_p99_ms', 'cancel.hard_burst_p99_ms'];

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function runBench(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--expose-gc', RUNNER, ...args], { cwd: REPO, env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

let scratch: string;

beforeAll(async () => {
  if (!existsSync(RUNNER)) throw new Error(`${RUNNER} is missing: build first with npm run build:node`);
  scratch = await mkdtemp(join(tmpdir(), 'threadline-bench-test-'));
});

afterAll(async () => {
  await rm(scratch, { recursive: true, force: true });
});

describe('npm run bench -- --quick', () => {
  it('runs every benchmark and writes every metric of issues 6 and 14 with the machine', async () => {
    const file = join(scratch, 'quick.json');
    const run = await runBench(['--quick', '--json', file]);
    expect(run.stderr, run.stderr).not.toMatch(/^bench:/m);
    expect(run.code).toBe(0);

    const written = JSON.parse(await readFile(file, 'utf8')) as { machine: Record<string, unknown>; metrics: Record<string, unknown> };
    expect(Object.keys(written).sort()).toEqual(['machine', 'metrics']);
    expect(Object.keys(written.metrics).sort()).toEqual([...ISSUE_METRICS, ...ISSUE_11_METRICS, ...ISSUE_14_METRICS, ...EXTRA_METRICS].sort());
    for (const [name, value] of Object.entries(written.metrics)) {
      expect(typeof value, name).toBe('number');
      expect(Number.isFinite(value), `${name} = ${String(value)}`).toBe(true);
    }
    expect(written.machine).toEqual({
      cores: expect.any(Number),
      cpu: expect.any(String),
      memoryGb: expect.any(Number),
      node: process.version,
      platform: process.platform,
    });
    expect(written.machine.cores).toBeGreaterThanOrEqual(1);

    // The printed table lists the same metrics, one a line, and says the sizes were quick.
    const printed = run.stdout
      .split('\n')
      .map((line) => line.split(/\s+/, 1)[0]!)
      .filter((name) => /^[a-z_]+\.[a-z_0-9]+$/.test(name));
    expect(printed.sort()).toEqual(Object.keys(written.metrics).sort());
    expect(run.stdout).toMatch(/quick sizes\)\n$/);
  }, 300_000);

  it('refuses an unknown benchmark by name and lists the known ones', async () => {
    const run = await runBench(['--quick', '--only', 'ipc,frames']);
    expect(run.code).toBe(1);
    expect(run.stderr.trim()).toBe('bench: unknown benchmark frames; known: dispatch, loop, scaling, cancel, sql_export, hash, queue, ipc, ui, cli, scale, remote');
    expect(run.stdout).toBe('');
  });

  it('fails the UI benchmark with a clear message when Chromium is missing, and writes no JSON', async () => {
    const missing = join(scratch, 'no-such-chromium');
    const file = join(scratch, 'ui.json');
    const run = await runBench(['--quick', '--only', 'ui', '--json', file], { ...process.env, THREADLINE_BENCH_CHROMIUM: missing });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain(`bench: ui: Chromium is missing at ${missing}; install it (apt-get install -y chromium`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(file)).toBe(false);
  });

  it('fails the UI benchmark in one line when the Chromium binary does not start', async () => {
    const run = await runBench(['--quick', '--only', 'ui'], { ...process.env, THREADLINE_BENCH_CHROMIUM: '/bin/false' });
    expect(run.code).toBe(1);
    const lines = run.stderr.trim().split('\n');
    expect(lines.at(-1)).toMatch(/^bench: ui: Chromium at \/bin\/false did not start: \S/);
    expect(lines.filter((line) => line.startsWith('bench:'))).toHaveLength(1);
    expect(run.stderr).not.toContain('--remote-debugging-pipe');
  });
});

describe("the benchmarks' pool worker", () => {
  /** A build folder as `npm run build:node` leaves it: tsc's record at `compiledAt`, the bundle's at `bundledAt` (s since the epoch). */
  function build(name: string, files: { bundle: boolean; compiledAt?: number; bundledAt?: number }): string {
    const dist = join(scratch, name);
    mkdirSync(join(dist, 'cli'), { recursive: true });
    if (files.bundle) writeFileSync(join(dist, 'cli', 'pool-worker.cjs'), '');
    for (const [file, at] of [['.tsbuildinfo.node', files.compiledAt], ['cli/built', files.bundledAt]] as const) {
      if (at === undefined) continue;
      writeFileSync(join(dist, file), '');
      utimesSync(join(dist, file), at, at);
    }
    return dist;
  }

  it('is the bundle the CLI and `threadline serve` ship, when it was built after the compiled code', () => {
    const dist = build('fresh', { bundle: true, compiledAt: 1000, bundledAt: 1001 });
    expect(shippedPoolWorker(dist)).toBe(join(dist, 'cli', 'pool-worker.cjs'));
  });

  it('is refused in one line naming the file and the build to run when the bundle is missing', () => {
    const dist = build('missing', { bundle: false, compiledAt: 1000 });
    expect(() => shippedPoolWorker(dist)).toThrow(`the pool worker bundle ${join(dist, 'cli', 'pool-worker.cjs')} is missing; run "npm run build:node"`);
  });

  it('is refused when the code was compiled again after the bundle was made, or the bundle was never finished', () => {
    const stale = build('stale', { bundle: true, compiledAt: 1001, bundledAt: 1000 });
    expect(() => shippedPoolWorker(stale)).toThrow(`the pool worker bundle ${join(stale, 'cli', 'pool-worker.cjs')} is older than the compiled code in ${stale}; run "node scripts/bundle-cli.mjs" (or "npm run build:node")`);
    const unfinished = build('unfinished', { bundle: true, compiledAt: 1000 });
    expect(() => shippedPoolWorker(unfinished)).toThrow(/is older than the compiled code/);
  });

  it('is another entry when THREADLINE_BENCH_POOL_WORKER names one, and a missing one fails the run in one line', async () => {
    const missing = join(scratch, 'no-such-entry.cjs');
    const run = await runBench(['--quick', '--only', 'cancel'], { ...process.env, THREADLINE_BENCH_POOL_WORKER: missing });
    expect(run.code).toBe(1);
    expect(run.stderr.trim().split('\n').at(-1)).toBe(`bench: THREADLINE_BENCH_POOL_WORKER names ${missing}, which does not exist`);
    expect(run.stderr).not.toMatch(/\n\s+at /);
  });
});
