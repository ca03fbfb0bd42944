/**
 * Faults inside pool tasks: each one ends its own task with a clear reason, the pool replaces
 * a thread it lost, and the next task runs. Then a long run of mixed faults must leave the
 * pool's threads and the main process's heap where they were.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import v8 from 'node:v8';
import vm from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TaskRecord } from '../../contract/records.js';
import type { Engine } from '../../electron/engine/engine.js';
import { KindTimings } from '../../electron/engine/kind-timings.js';
import { SPARE_THREADS } from '../../electron/engine/pool-lanes.js';
import { assertBuilt, jobFile, runBin } from '../cli/bin.js';
import { jobSpec, makeEngine, tempDir, waitFor } from '../support/engine-fixture.js';

beforeAll(assertBuilt);

// A full collection before each heap reading, without a special flag on the test runner.
v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
/** Small enough that exhausting it takes a moment, large enough for every real handler. */
const THREAD_HEAP_MB = 48;

function script(file: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { kind: 'script', module: join(FIXTURES, file), ...extra };
}

interface Fault {
  name: string;
  task: Record<string, unknown>;
  /** Does the fault cost the task its thread? */
  endsThread: boolean;
  expected: { state: string; code: string | null; message: RegExp | null };
}

const FAULTS: Fault[] = [
  { name: 'throws', task: script('throws.mjs'), endsThread: false, expected: { state: 'failed', code: 'TASK_ERROR', message: /^a bug in the script$/ } },
  {
    name: 'goes over its memory limit',
    task: script('exhausts-memory.mjs'),
    endsThread: true,
    expected: { state: 'failed', code: 'WORKER_OUT_OF_MEMORY', message: /^the worker thread ran out of memory/ },
  },
  {
    name: 'spins in an endless sync loop (stopped by its timeout)',
    task: script('spins-forever.mjs', { timeoutMs: 30 }),
    endsThread: true,
    expected: { state: 'timed_out', code: 'TIMED_OUT', message: /^timed out after 30 ms$/ },
  },
  {
    name: 'calls process.exit()',
    task: script('exits-process.mjs'),
    endsThread: true,
    expected: { state: 'failed', code: 'WORKER_DIED', message: /^the worker thread died: .*code: 7/ },
  },
  {
    name: 'never settles (stopped by its timeout)',
    task: script('never-settles.mjs', { timeoutMs: 30 }),
    endsThread: true,
    expected: { state: 'timed_out', code: 'TIMED_OUT', message: /^timed out after 30 ms$/ },
  },
  { name: 'posts garbage to its port and to the engine channel', task: script('posts-garbage.mjs'), endsThread: false, expected: { state: 'succeeded', code: null, message: null } },
];

function faultEngine(poolSize: number): Engine {
  return makeEngine({ poolSize, cancelGraceMs: 0, resourceLimits: { maxOldGenerationSizeMb: THREAD_HEAP_MB } });
}

function expectFault(task: TaskRecord | undefined, fault: Fault): void {
  const seen = { name: fault.name, state: task?.state, code: task?.error?.code ?? null };
  expect(seen).toEqual({ name: fault.name, state: fault.expected.state, code: fault.expected.code });
  if (fault.expected.message) {
    expect(task!.error!.message).toMatch(fault.expected.message);
    expect(task!.error!.message).not.toContain('\n');
  }
}

async function threadsBackTo(engine: Engine, size: number): Promise<void> {
  await waitFor(() => engine.pool.threadCount === size, 20_000, `the pool to have ${size} threads again`);
}

describe('a fault in a pool task stays in that task', () => {
  for (const fault of FAULTS) {
    it(`a script that ${fault.name}: its task ends with a clear reason, the next task runs`, async () => {
      const engine = faultEngine(1);
      const job = await engine.submitJob(
        jobSpec([
          { id: 'before', kind: 'demo.echo', value: 'untouched' },
          { id: 'fault', ...fault.task, args: { otherKey: 'placeholder' }, dependsOn: ['before'] },
          { id: 'next', kind: 'demo.echo', value: 'still runs', dependsOn: ['before'] },
        ]),
        '/',
      );
      expect((await engine.waitForJob(job.id)).state).toBe(fault.expected.state === 'succeeded' ? 'succeeded' : 'failed');
      expectFault(engine.task(`${job.id}:fault`) ?? undefined, fault);
      expect(engine.task(`${job.id}:next`)).toMatchObject({ state: 'succeeded', result: 'still runs', attempts: 1 });
      expect(engine.task(`${job.id}:before`)).toMatchObject({ state: 'succeeded', result: 'untouched', progress: 1 });
      await threadsBackTo(engine, 1);
      // The replacement thread takes new work as any other.
      const after = await engine.submitJob(jobSpec([{ id: 'a', kind: 'demo.cpu', ms: 5 }]), '/');
      expect((await engine.waitForJob(after.id)).state).toBe('succeeded');
    });
  }

  it('forged events for another task (finished, or not even this engine\'s) change nothing of it', async () => {
    const engine = faultEngine(1);
    const first = await engine.submitJob(jobSpec([{ id: 'victim', kind: 'demo.echo', value: 'mine' }]), '/');
    await engine.waitForJob(first.id);
    const victim = engine.task(`${first.id}:victim`)!;
    const job = await engine.submitJob(jobSpec([{ id: 'forger', ...script('posts-garbage.mjs'), args: { otherKey: victim.key } }]), '/');
    await engine.waitForJob(job.id);
    expect(engine.task(`${job.id}:forger`)).toMatchObject({ state: 'succeeded', result: { posted: 19 } });
    expect(engine.task(victim.key)).toEqual(victim);
    expect(engine.logsOf(victim.key)).toEqual([]);
    expect(engine.attemptsOf(victim.key)).toHaveLength(1);
  });

  it('a task that finished is not run again when a later task of its batch ends the thread', async () => {
    const engine = faultEngine(1);
    const lines = join(tempDir(), 'lines.txt');
    const append = (id: string, file = lines) => ({ id, ...script('appends-line.mjs'), args: { file, line: id } });
    // Quick tasks of a kind travel in batches while the kind has proven tiny: a running mean of
    // its last runs under a threshold. One run slowed by a busy machine near the end of a warm-up
    // round lifts that mean over it, and the job below would leave task by task. So warm-ups go on
    // until the same judgement, made on the times of every run of the kind in this engine in the
    // order the pool recorded them (one lane: the order they ran in), says tiny now.
    const judged = new KindTimings();
    for (let round = 0; !judged.isTiny('script'); round++) {
      if (round === 20) throw new Error('the script kind never proved tiny enough to travel in batches');
      const warm = await engine.submitJob(jobSpec(Array.from({ length: 40 }, (_, i) => append(`w${round}-${i}`, `${lines}.warm`))), '/');
      await engine.waitForJob(warm.id);
      for (const task of engine.tasksOfJob(warm.id)) judged.record(task.kind, task.finishedAt! - task.startedAt!);
    }
    const ids = [...Array.from({ length: 30 }, (_, i) => `a${i}`), 'exit', ...Array.from({ length: 10 }, (_, i) => `b${i}`)];
    const sentBefore = engine.pool.batchesSent;
    const job = await engine.submitJob(jobSpec(ids.map((id) => (id === 'exit' ? { id, ...script('exits-process.mjs') } : append(id)))), '/');
    await engine.waitForJob(job.id);
    // All 41 were ready at once and the kind tiny, so they left in one batch: the exit behind 30
    // ended tasks, and the 10 after it in one more once the thread was lost (a lost batch teaches
    // the kind's mean nothing, so it is still tiny).
    expect(engine.pool.batchesSent - sentBefore).toBe(2);
    expect(engine.task(`${job.id}:exit`)?.state).toBe('failed');
    for (const id of ids.filter((id) => id !== 'exit')) expect(engine.task(`${job.id}:${id}`)).toMatchObject({ state: 'succeeded', attempts: 1 });
    // Each task before the exit went down with its thread, having ended: the pool says so in its log.
    for (const id of ids.slice(0, 30)) {
      expect(engine.logsOf(`${job.id}:${id}`).map((line) => line.message)).toEqual([expect.stringMatching(/^the worker thread died after this task ended \(.*\), before its result reached the engine$/)]);
    }
    // Each task appended its line once: 40 lines, none twice (counted by wc, not by Threadline).
    expect(execFileSync('wc', ['-l', lines], { encoding: 'utf8' }).trim()).toBe(`40 ${lines}`);
    const written = readFileSync(lines, 'utf8').trim().split('\n');
    expect(written.filter((line, i) => written.indexOf(line) !== i)).toEqual([]);
  });

  it('a script that forges events whose fields cannot become text does not bring the engine down', async () => {
    const engine = faultEngine(1);
    const job = await engine.submitJob(
      jobSpec([
        { id: 'forger', ...script('posts-unprintable.mjs') },
        { id: 'next', kind: 'demo.echo', value: 'still runs', dependsOn: ['forger'] },
      ]),
      '/',
    );
    await engine.waitForJob(job.id);
    // Give the forged events time to arrive; an exception in their handler is an uncaught one.
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(engine.task(`${job.id}:forger`)?.state).toBe('succeeded');
    expect(engine.task(`${job.id}:next`)).toMatchObject({ state: 'succeeded', result: 'still runs' });
  });

  it('a script that forges such events does not bring down `threadline run` either', async () => {
    const file = jobFile({
      name: 'forged events',
      tasks: [
        { id: 'forger', ...script('posts-unprintable.mjs') },
        { id: 'next', kind: 'demo.echo', value: 'still runs', dependsOn: ['forger'] },
      ],
    });
    const result = await runBin(['run', file, '--workers', '1', '--json']);
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    const out = JSON.parse(result.stdout) as { tasks: Array<{ id: string; state: string }> };
    expect(out.tasks.map((t) => [t.id, t.state])).toEqual([
      ['forger', 'succeeded'],
      ['next', 'succeeded'],
    ]);
  });
});

/**
 * Every thread the pool keeps, its lanes and its spares, started, booted and idle. Until a thread
 * says it is ready, piscina keeps its port referenced (a handle of the process); and after a fault
 * the pool starts a spare only once the ended thread has exited, so on a busy machine a thread may
 * still be booting well after the lanes are whole again.
 */
async function poolAtRest(engine: Engine): Promise<void> {
  const threads = engine.pool.size + SPARE_THREADS;
  await waitFor(() => engine.pool.threadsWithSpare === threads && engine.pool.idleThreads === threads, 20_000, `the pool's ${threads} threads to be booted and idle`);
}

/** Heap in use after full collections, once the pool is at rest and the engine's timers have settled. */
async function settledHeap(engine: Engine): Promise<number> {
  await poolAtRest(engine);
  await new Promise((resolve) => setTimeout(resolve, 300));
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

function handleCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/**
 * 1,000 faults in a row: every fault kind, weighted so that the run fits in the test suite
 * (a lost thread costs a new one, 100 to 250 ms on this machine); `npm run soak` runs an even mix.
 */
const MIX: Array<[Fault, number]> = [
  [FAULTS[0]!, 63], // throws
  [FAULTS[5]!, 30], // garbage
  [FAULTS[1]!, 2], // memory
  [FAULTS[2]!, 2], // endless loop
  [FAULTS[3]!, 2], // process.exit
  [FAULTS[4]!, 1], // never settles
];
const RUN_LENGTH = 1000;

describe('1,000 mixed faults in a row', () => {
  it('each ends its own task as expected; threads, handles and heap return to their baseline', async () => {
    const engine = faultEngine(2);
    const cycle = MIX.flatMap(([fault, weight]) => Array.from({ length: weight }, () => fault));
    const run = Array.from({ length: RUN_LENGTH }, (_, i) => cycle[(i * 37) % cycle.length]!);

    // Warm-up: every fault once, so modules, code caches and the pool are as they will stay.
    const warm = await engine.submitJob(jobSpec(FAULTS.map((fault, i) => ({ id: `w${i}`, ...fault.task }))), '/');
    await engine.waitForJob(warm.id);
    await threadsBackTo(engine, 2);
    const baseline = { heap: await settledHeap(engine), handles: handleCounts() };

    // A control: as many failed tasks without a fault of the pool, for what 1,000 records hold.
    const control = await engine.submitJob(jobSpec(run.map((_, i) => ({ id: `c${i}`, kind: 'demo.fail', message: 'a plain failure' }))), '/');
    await engine.waitForJob(control.id);
    const afterControl = await settledHeap(engine);

    const job = await engine.submitJob(jobSpec(run.map((fault, i) => ({ id: `f${i}`, ...fault.task }))), '/');
    await engine.waitForJob(job.id);
    const tasks = engine.tasksOfJob(job.id);
    run.forEach((fault, i) => expectFault(tasks[i], fault));
    const lostThreads = run.filter((fault) => fault.endsThread).length;
    expect(lostThreads).toBeGreaterThanOrEqual(60);

    await threadsBackTo(engine, 2);
    const afterFaults = await settledHeap(engine);
    expect(handleCounts()).toEqual(baseline.handles);
    // The faults may keep what the control kept (1,000 task records with their errors) and a
    // little more; a few kilobytes left behind per lost thread would exceed it.
    const controlGrowth = afterControl - baseline.heap;
    const faultGrowth = afterFaults - afterControl;
    expect(faultGrowth).toBeLessThan(controlGrowth * 1.5 + 2 * 1024 * 1024);
    // Still a working pool.
    const after = await engine.submitJob(jobSpec(Array.from({ length: 100 }, (_, i) => ({ id: `a${i}`, kind: 'demo.echo', value: i }))), '/');
    expect((await engine.waitForJob(after.id)).state).toBe('succeeded');
    process.stdout.write(
      `1,000 faults (${lostThreads} lost threads): heap ${mb(baseline.heap)} -> ${mb(afterControl)} after the control -> ${mb(afterFaults)} after the faults\n`,
    );
  }, 120_000);
});

function mb(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}
