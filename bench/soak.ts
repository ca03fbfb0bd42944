/**
 * `npm run soak` (node --expose-gc dist/bench/soak.js [--tasks N] [--faults N] [--workers N]):
 *
 * 1. Many tasks (100,000) through the engine with a dashboard connected over a real WebSocket.
 *    Prints throughput, main-process heap before, during and after, the loop delay telemetry
 *    saw, and whether the dashboard's own counts (snapshot + deltas) equal the store's (read by
 *    the sqlite3 shell). The test suite runs the same soak with 20,000 tasks.
 * 2. 1,000 faults in a row, every kind in equal shares (the test suite weights them towards the
 *    cheap ones): pool threads and main-process heap before and after.
 *
 * Its engines' pool threads run the pool worker the hosts ship, as every benchmark's do
 * (`benchPoolWorker`, bench/engine-fixture.ts; THREADLINE_BENCH_POOL_WORKER names another); the
 * test suite's soak runs the engine's default, the tsc build.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { parseJobText, validateJobSpec } from '../contract/job-spec.js';
import type { TaskState } from '../contract/task-states.js';
import { Engine } from '../electron/engine/engine.js';
import { STORE_FILE } from '../electron/engine/job-store.js';
import { startDashboardServer } from '../electron/serve/dashboard-server.js';
import { connectApi } from '../electron/serve/node-api-client.js';
import { benchPoolWorker } from './engine-fixture.js';
import { makeContext } from './harness.js';

/** The loop-delay goal of the benchmarks: p99 within 20 ms while work runs on the pool. */
export const LOOP_DELAY_P99_GOAL_MS = 20;

export interface SoakOptions {
  tasks: number;
  dataDir: string;
  poolSize?: number;
  /** The entry the pool's threads load; default: the engine's own (see `defaultWorkerFile`). */
  workerFile?: string;
  /** A full collection before each heap reading (global.gc under --expose-gc). */
  collectGarbage: () => void;
}

export interface SoakFigures {
  tasks: number;
  durationMs: number;
  tasksPerSecond: number;
  /** Baseline, after the run and after shutdown are after full collections; the peak is telemetry's. */
  heap: { baseline: number; peak: number; afterRun: number; afterShutdown: number };
  /** Per-sample p99 of the loop delay while the job ran, from the engine's telemetry. */
  loopDelayP99Ms: { median: number; worst: number; samples: number };
  dashboard: { messages: number; deltas: number; resyncs: number; counts: Partial<Record<TaskState, number>> };
  store: { counts: Partial<Record<TaskState, number>> };
}

/**
 * A dashboard as the renderer keeps one (a snapshot, then deltas applied in sequence, a resync
 * after a gap), in a thread of its own: like a browser, it must not share the engine's loop.
 */
const DASHBOARD_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { WebSocket } = require(workerData.wsModule);
const states = new Map();
let messages = 0, deltas = 0, resyncs = 0, seq = -1, awaitingSnapshot = false;
const socket = new WebSocket(workerData.url);
socket.on('open', () => { socket.send(JSON.stringify({ type: 'subscribe' })); parentPort.postMessage({ type: 'open' }); });
socket.on('message', (data) => {
  const event = JSON.parse(data.toString());
  if (event.type !== 'snapshot' && event.type !== 'delta') return;
  messages++;
  if (event.type === 'snapshot') { states.clear(); awaitingSnapshot = false; }
  else {
    deltas++;
    if (awaitingSnapshot) return;
    if (event.seq !== seq + 1) { resyncs++; awaitingSnapshot = true; socket.send(JSON.stringify({ type: 'resync' })); return; }
  }
  seq = event.seq;
  for (const task of event.tasks) states.set(task.key, task.state);
});
socket.on('error', (error) => parentPort.postMessage({ type: 'error', message: error.message }));
parentPort.on('message', (request) => {
  if (request.type === 'close') { socket.close(); parentPort.close(); return; }
  const counts = {};
  let matching = 0;
  for (const [key, state] of states) {
    if (!key.startsWith(request.jobId + ':')) continue;
    counts[state] = (counts[state] || 0) + 1;
    if (request.expected && request.expected[key] === state) matching++;
  }
  parentPort.postMessage({ type: 'report', counts, matching, messages, deltas, resyncs });
});
`;

interface DashboardReport {
  counts: Partial<Record<TaskState, number>>;
  /** How many of the expected final states it shows. */
  matching: number;
  messages: number;
  deltas: number;
  resyncs: number;
}

class DashboardThread {
  private readonly worker: Worker;
  private readonly opened: Promise<void>;

  constructor(url: string) {
    const wsModule = createRequire(import.meta.url).resolve('ws');
    this.worker = new Worker(DASHBOARD_THREAD, { eval: true, workerData: { url, wsModule } });
    this.opened = new Promise((resolve, reject) => {
      this.worker.on('message', (message: { type: string; message?: string }) => {
        if (message.type === 'open') resolve();
        if (message.type === 'error') reject(new Error(`the dashboard's connection failed: ${message.message}`));
      });
      this.worker.once('error', reject);
    });
  }

  ready(): Promise<void> {
    return this.opened;
  }

  report(jobId: string, expected?: Record<string, TaskState>): Promise<DashboardReport> {
    return new Promise((resolve) => {
      const onMessage = (message: { type: string } & DashboardReport) => {
        if (message.type !== 'report') return;
        this.worker.off('message', onMessage);
        resolve(message);
      };
      this.worker.on('message', onMessage);
      this.worker.postMessage({ type: 'report', jobId, expected });
    });
  }

  async close(): Promise<void> {
    const exited = new Promise((resolve) => this.worker.once('exit', resolve));
    this.worker.postMessage({ type: 'close' });
    await exited;
  }
}

/**
 * The job: mostly tiny tasks (the highest event rate), a short CPU task every 50, and a failure
 * every 100 whose dependent is skipped, so the counts span several states.
 */
export function soakJobText(tasks: number): string {
  const list = Array.from({ length: tasks }, (_, i) => {
    if (i % 100 === 1) return { id: `t${i}`, kind: 'demo.fail', message: 'planned failure' };
    if (i % 100 === 2) return { id: `t${i}`, kind: 'demo.echo', value: i, dependsOn: [`t${i - 1}`] };
    if (i % 50 === 3) return { id: `t${i}`, kind: 'demo.cpu', ms: 1 };
    return { id: `t${i}`, kind: 'demo.echo', value: i };
  });
  return JSON.stringify({ name: `soak of ${tasks} tasks`, tasks: list });
}

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

function heapUsed(collectGarbage: () => void): number {
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Everything the run needs lives in here, so that once it returns nothing of the engine is
 * reachable and the heap after shutdown shows what, if anything, stayed behind.
 */
async function runOnce(options: SoakOptions, heap: () => number): Promise<Omit<SoakFigures, 'heap'> & { heap: Omit<SoakFigures['heap'], 'afterShutdown'> }> {
  const engine = new Engine({ dataDir: options.dataDir, poolSize: options.poolSize ?? 2, telemetryIntervalMs: 250, ...workerFileOption(options.workerFile) });
  const token = 'soak-token-0123456789abcdef0123456789';
  const server = await startDashboardServer({ engine, host: '127.0.0.1', port: 0, token, webRoot: null, baseDir: options.dataDir });
  const url = `ws://127.0.0.1:${server.port}/api?token=${token}`;
  let dashboard: DashboardThread | null = null;
  try {
    // Warm-up: the code paths of the run, so the baseline is not taken before code is compiled.
    const warm = new DashboardThread(url);
    await warm.ready();
    const warmJob = await engine.submitJob(jobSpecOf(soakJobText(2000)), options.dataDir);
    await engine.waitForJob(warmJob.id);
    await warm.close();
    await pause(300);
    const baseline = heap();

    dashboard = new DashboardThread(url);
    await dashboard.ready();
    const submitter = await connectApi({ host: '127.0.0.1', port: server.port, token });
    const delays: number[] = [];
    let peak = 0;
    const onSample = (sample: { loop: { delayP99Ms: number }; memory: { heapUsed: number } }) => {
      delays.push(sample.loop.delayP99Ms);
      peak = Math.max(peak, sample.memory.heapUsed);
    };
    engine.on('telemetry', onSample);
    const started = performance.now();
    const submitted = await submitter.api.submitJob({ text: soakJobText(options.tasks), fileName: 'soak.json' });
    await submitter.close();
    if (!submitted.ok) throw new Error(`the soak job was refused: ${JSON.stringify(submitted.issues)}`);
    const jobId = submitted.job.id;
    await engine.waitForJob(jobId);
    const durationMs = performance.now() - started;
    engine.off('telemetry', onSample);

    const report = await dashboardCaughtUp(engine, dashboard, jobId, options.tasks);
    await dashboard.close();
    dashboard = null;
    await pause(300);
    const afterRun = heap();
    await server.close();
    await engine.shutdown({ deadlineMs: 5000 });
    return {
      tasks: options.tasks,
      durationMs,
      tasksPerSecond: options.tasks / (durationMs / 1000),
      heap: { baseline, peak: Math.max(peak, afterRun), afterRun },
      loopDelayP99Ms: { median: percentile(delays, 50), worst: Math.max(0, ...delays), samples: delays.length },
      dashboard: { messages: report.messages, deltas: report.deltas, resyncs: report.resyncs, counts: report.counts },
      store: { counts: storeCounts(join(options.dataDir, STORE_FILE), jobId) },
    };
  } finally {
    await dashboard?.close();
    await server.close();
    await engine.shutdown({ deadlineMs: 1000 });
  }
}

/**
 * The last delta leaves one batching interval after the last change: waits until the dashboard
 * shows every task's final state (or gives up after 30 s) and returns what it shows. The final
 * states (a few MB for 20,000 tasks) live only in this function's frame: kept in `runOnce`'s,
 * they were still reachable at the heap reading after the run, and counted as the host's.
 */
async function dashboardCaughtUp(engine: Engine, dashboard: DashboardThread, jobId: string, tasks: number): Promise<DashboardReport> {
  const expected = Object.fromEntries(engine.tasksOfJob(jobId).map((task) => [task.key, task.state]));
  let report = await dashboard.report(jobId, expected);
  for (const deadline = Date.now() + 30_000; report.matching < tasks && Date.now() < deadline; ) {
    await pause(50);
    report = await dashboard.report(jobId, expected);
  }
  return report;
}

export async function soak(options: SoakOptions): Promise<SoakFigures> {
  const heap = () => heapUsed(options.collectGarbage);
  const figures = await runOnce(options, heap);
  await pause(300);
  return { ...figures, heap: { ...figures.heap, afterShutdown: heap() } };
}

function jobSpecOf(text: string) {
  const parsed = parseJobText(text, 'soak.json');
  if (!parsed.ok) throw new Error(parsed.issue.message);
  const result = validateJobSpec(parsed.document);
  if (!result.ok) throw new Error(JSON.stringify(result.issues));
  return result.spec;
}

/** Task counts by state of one job, read by the sqlite3 shell (not through Threadline). */
export function storeCounts(db: string, jobId: string): Partial<Record<TaskState, number>> {
  const out = execFileSync('sqlite3', ['-batch', '-readonly', db, `SELECT state, count(*) FROM tasks WHERE job_id = '${jobId}' GROUP BY state`], { encoding: 'utf8' });
  return Object.fromEntries(
    out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [state, n] = line.split('|');
        return [state, Number(n)];
      }),
  );
}

// ---- faults ------------------------------------------------------------------------------

export interface FaultSoakFigures {
  faults: number;
  lostThreads: number;
  durationMs: number;
  /** Tasks by final state and error code, e.g. `failed:WORKER_DIED`. */
  outcomes: Record<string, number>;
  threads: { before: number; after: number };
  heap: { baseline: number; afterFaults: number };
}

/** The fault scripts of the reliability tests, in the repository this runs from. */
function faultFixtures(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'tests', 'reliability', 'fixtures'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error('the fault scripts (tests/reliability/fixtures) are not in this checkout');
    dir = parent;
  }
  return join(dir, 'tests', 'reliability', 'fixtures');
}

function faultTasks(count: number): Array<Record<string, unknown>> {
  const fixtures = faultFixtures();
  const script = (file: string, extra: Record<string, unknown> = {}) => ({ kind: 'script', module: join(fixtures, file), ...extra });
  const kinds = [
    script('throws.mjs'),
    script('posts-garbage.mjs'),
    script('exhausts-memory.mjs'),
    script('spins-forever.mjs', { timeoutMs: 30 }),
    script('exits-process.mjs'),
    script('never-settles.mjs', { timeoutMs: 30 }),
  ];
  return Array.from({ length: count }, (_, i) => ({ id: `f${i}`, ...kinds[i % kinds.length]! }));
}

async function runFaults(count: number, poolSize: number, workerFile: string | undefined, heap: () => number): Promise<FaultSoakFigures> {
  const dataDir = mkdtempSync(join(tmpdir(), 'threadline-faults-'));
  const engine = new Engine({ dataDir, poolSize, cancelGraceMs: 0, resourceLimits: { maxOldGenerationSizeMb: 48 }, ...workerFileOption(workerFile) });
  try {
    const warm = await engine.submitJob(jobSpecOf(JSON.stringify({ name: 'warm-up', tasks: faultTasks(6) })), dataDir);
    await engine.waitForJob(warm.id);
    while (engine.pool.threadCount < poolSize) await pause(20);
    await pause(300);
    const baseline = heap();
    const before = engine.pool.threadCount;
    const started = performance.now();
    const job = await engine.submitJob(jobSpecOf(JSON.stringify({ name: 'faults', tasks: faultTasks(count) })), dataDir);
    await engine.waitForJob(job.id);
    const durationMs = performance.now() - started;
    const outcomes: Record<string, number> = {};
    for (const task of engine.tasksOfJob(job.id)) {
      const key = `${task.state}:${task.error?.code ?? '-'}`;
      outcomes[key] = (outcomes[key] ?? 0) + 1;
    }
    for (const deadline = Date.now() + 20_000; engine.pool.threadCount < poolSize && Date.now() < deadline; ) await pause(20);
    await pause(300);
    const lostThreads = Object.entries(outcomes)
      .filter(([key]) => /WORKER_DIED|WORKER_OUT_OF_MEMORY|TIMED_OUT/.test(key))
      .reduce((sum, [, n]) => sum + n, 0);
    return { faults: count, lostThreads, durationMs, outcomes, threads: { before, after: engine.pool.threadCount }, heap: { baseline, afterFaults: heap() } };
  } finally {
    await engine.shutdown({ deadlineMs: 1000 });
    rmSync(dataDir, { recursive: true, force: true });
  }
}

/** Faults in a row on a warm pool: every one must end its own task, threads and heap come back. */
export function faultSoak(options: { faults: number; poolSize?: number; workerFile?: string; collectGarbage: () => void }): Promise<FaultSoakFigures> {
  return runFaults(options.faults, options.poolSize ?? 2, options.workerFile, () => heapUsed(options.collectGarbage));
}

const workerFileOption = (workerFile: string | undefined) => (workerFile === undefined ? {} : { workerFile });

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { tasks: { type: 'string', default: '100000' }, faults: { type: 'string', default: '1000' }, workers: { type: 'string', default: '2' } },
  });
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with node --expose-gc (npm run soak does)');
  const ctx = makeContext(false);
  const workerFile = benchPoolWorker(ctx);
  const dataDir = mkdtempSync(join(tmpdir(), 'threadline-soak-'));
  try {
    const figures = await soak({ tasks: Number(values.tasks), poolSize: Number(values.workers), workerFile, dataDir, collectGarbage: gc });
    const same = JSON.stringify(sorted(figures.dashboard.counts)) === JSON.stringify(sorted(figures.store.counts));
    const lines = [
      `tasks                 ${figures.tasks}`,
      `duration              ${(figures.durationMs / 1000).toFixed(1)} s (${Math.round(figures.tasksPerSecond)} tasks/s)`,
      `heap baseline         ${mb(figures.heap.baseline)}`,
      `heap peak             ${mb(figures.heap.peak)}`,
      `heap after the run    ${mb(figures.heap.afterRun)} (finished jobs past 10,000 tasks are left to the store)`,
      `heap after shutdown   ${mb(figures.heap.afterShutdown)}`,
      `loop delay p99        median ${figures.loopDelayP99Ms.median.toFixed(1)} ms, worst ${figures.loopDelayP99Ms.worst.toFixed(1)} ms over ${figures.loopDelayP99Ms.samples} samples (goal ${LOOP_DELAY_P99_GOAL_MS} ms)`,
      `dashboard             ${figures.dashboard.messages} messages, ${figures.dashboard.deltas} deltas, ${figures.dashboard.resyncs} resyncs`,
      `dashboard counts      ${JSON.stringify(sorted(figures.dashboard.counts))}`,
      `store counts          ${JSON.stringify(sorted(figures.store.counts))} (sqlite3)`,
      `no event lost         ${same ? 'yes' : 'NO'}`,
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
    if (!same) process.exitCode = 1;

    const faults = await faultSoak({ faults: Number(values.faults), poolSize: Number(values.workers), workerFile, collectGarbage: gc });
    const faultLines = [
      '',
      `faults                ${faults.faults} in a row, ${faults.lostThreads} of them cost a thread (${(faults.durationMs / 1000).toFixed(1)} s)`,
      `outcomes              ${JSON.stringify(faults.outcomes)}`,
      `pool threads          ${faults.threads.before} before, ${faults.threads.after} after`,
      `heap                  ${mb(faults.heap.baseline)} before, ${mb(faults.heap.afterFaults)} after (the engine holds the ${faults.faults} task records)`,
    ];
    process.stdout.write(`${faultLines.join('\n')}\n`);
    if (faults.threads.after !== faults.threads.before) process.exitCode = 1;
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
    ctx.cleanup();
  }
}

function sorted<T>(record: Partial<Record<string, T>>): Record<string, T> {
  return Object.fromEntries(Object.entries(record).sort(([a], [b]) => a.localeCompare(b))) as Record<string, T>;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().catch((error: unknown) => {
    process.stderr.write(`soak: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  });
}
