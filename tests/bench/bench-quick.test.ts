/**
 * The benchmark harness at quick sizes: every benchmark runs and `--json` holds exactly the
 * metrics issue 6 names, as finite numbers, with the machine they ran on. Timings are not
 * asserted: they are measurements of a shared machine. Needs dist/ built (npm test builds it).
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

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
 * admission, the batched piscina baseline's rate, and a hard cancel's time to the thread's exit alone.
 */
const EXTRA_METRICS = ['cli.run_ms', 'scale.small_tasks_per_s', 'scale.big_tasks_per_s', 'scaling.goal', 'queue.admit_loop_max_ms', 'dispatch.piscina_batched_tasks_per_s', 'cancel.hard_exit_p99_ms'];

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
  if (!existsSync(RUNNER)) throw new Error(`${RUNNER} is missing: build first with npx tsc -b tsconfig.node.json`);
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
