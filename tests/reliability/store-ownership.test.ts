/**
 * Who owns a data directory is decided by a lock the operating system holds for the owner's
 * process and drops when it dies, never by a pid and a host name written down. Each case is a
 * way a pid and a host name fooled the store before, played with real processes: a pid
 * namespace, another host name, a killed child not yet reaped, a pid reused by another
 * program, two engines started at the same instant.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../electron/engine/engine.js';
import { listJobSummaries } from '../../electron/engine/history.js';
import { assertBuilt, BIN, expectNoStack, finished, jobFile, ROOT, runBin } from '../cli/bin.js';
import { jobSpec, makeEngine, onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { liveTaskState, storeFile } from './crash-recovery.js';
import { integrityCheck, sqlite3 } from './sqlite-cli.js';

const FIXTURES = fileURLToPath(new URL('./fixtures/', import.meta.url));
const IN_USE = /^threadline: the data directory .* is in use by another Threadline \(pid \d+( on [^)]+)?\); stop it or pass another --data-dir\n$/;

beforeAll(() => assertBuilt());

interface HeldRun {
  dataDir: string;
  /** Creating it lets the held task finish. */
  release: string;
  child: ChildProcess;
  output: () => string;
}

/** A job file whose second task holds its thread until `release` exists. */
function heldJobFile(release: string): string {
  return jobFile({
    name: 'held',
    tasks: [
      { id: 'first', kind: 'demo.echo', value: 'kept' },
      { id: 'held', kind: 'script', module: join(FIXTURES, 'waits-for-file.mjs'), args: { file: release }, dependsOn: ['first'] },
    ],
  });
}

/**
 * `threadline run` of a job whose second task holds its thread until `release` exists, started
 * through `prefix` (an `unshare ...`), and seen running in the store by the sqlite3 shell.
 */
async function startHeldRun(prefix: string[] = [], dataDir = join(tempDir(), 'data')): Promise<HeldRun> {
  const release = join(tempDir(), 'release');
  const file = heldJobFile(release);
  const command = [...prefix, process.execPath, BIN, 'run', file, '--data-dir', dataDir, '--workers', '1'];
  const child = spawn(command[0]!, command.slice(1), { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  onCleanup(() => void child.kill('SIGKILL'));
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  await waitFor(() => {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`the run ended (${child.exitCode ?? child.signalCode}) before its task was seen running:\n${output}`);
    return liveTaskState(dataDir, 'held') === 'running';
  }, 60_000, 'the held task to be running in the store');
  return { dataDir, release, child, output: () => output };
}

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** What a person sees next: `jobs` shows the job interrupted, and `resume` (once the task can end) finishes it. */
async function expectInterruptedThenResumed(run: HeldRun): Promise<void> {
  const listed = await runBin(['jobs', '--data-dir', run.dataDir, '--json']);
  expect(listed).toMatchObject({ code: 0, stderr: '' });
  const job = (JSON.parse(listed.stdout) as Array<{ name: string; state: string; counts: Record<string, number> }>).find((j) => j.name === 'held');
  expect(job).toMatchObject({ state: 'interrupted', counts: { succeeded: 1, interrupted: 1 } });
  expect(sqlite3(storeFile(run.dataDir), "SELECT state FROM tasks WHERE id = 'held'")).toBe('interrupted');

  writeFileSync(run.release, '');
  const resumed = await runBin(['resume', '--data-dir', run.dataDir, '--json']);
  expect(resumed.stderr).toBe('');
  expect(resumed.code).toBe(0);
  const out = JSON.parse(resumed.stdout) as { job: { state: string }; tasks: Array<{ id: string; state: string; attempts: number; result: unknown }> };
  expect(out.job.state).toBe('succeeded');
  expect(out.tasks.find((t) => t.id === 'held')).toMatchObject({ state: 'succeeded', attempts: 2, result: 'released' });
  expect(out.tasks.find((t) => t.id === 'first')).toMatchObject({ state: 'succeeded', attempts: 1, result: 'kept' });
  expect(integrityCheck(storeFile(run.dataDir))).toBe('ok');
}

/** The process state letter in /proc (R, S, Z, ...), or null once it is gone. */
function procState(pid: number): string | null {
  try {
    return /\) (\S) /.exec(readFileSync(`/proc/${pid}/stat`, 'utf8'))![1]!;
  } catch {
    return null;
  }
}

describe('store ownership', () => {
  it('a run SIGKILLed inside a pid namespace (pid 1 there, and alive outside) leaves the store to others', async () => {
    const run = await startHeldRun(['unshare', '--pid', '--fork', '--mount-proc']);
    // Inside its namespace the engine is pid 1, which outside is a live process too.
    expect(sqlite3(storeFile(run.dataDir), 'SELECT pid FROM owner', { readonly: true })).toBe('1');
    expect(() => process.kill(1, 0)).not.toThrow();

    // While it lives, its lock holds across the namespace's border.
    const refused = await runBin(['run', jobFile({ name: 'x', tasks: [{ id: 'a', kind: 'demo.echo' }] }), '--data-dir', run.dataDir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(IN_USE);
    expect(listJobSummaries(run.dataDir)[0]?.counts.running).toBe(1);

    // SIGKILL the namespace's pid 1 (unshare's child), as a container runtime would.
    const inner = Number(readFileSync(`/proc/${run.child.pid}/task/${run.child.pid}/children`, 'utf8').trim().split(' ')[0]);
    expect(inner).toBeGreaterThan(1);
    process.kill(inner, 'SIGKILL');
    await exitOf(run.child);
    await expectInterruptedThenResumed(run);
  });

  it('a run killed under another host name neither locks the data directory out nor is shown running', async () => {
    const run = await startHeldRun(['unshare', '--uts', 'sh', '-c', 'hostname threadline-elsewhere && exec "$@"', 'sh']);
    expect(sqlite3(storeFile(run.dataDir), 'SELECT host FROM owner', { readonly: true })).toBe('threadline-elsewhere');
    expect(hostname()).not.toBe('threadline-elsewhere');

    const refused = await runBin(['resume', '--data-dir', run.dataDir]);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(IN_USE);
    expect(refused.stderr).toContain(`(pid ${run.child.pid} on threadline-elsewhere)`);

    run.child.kill('SIGKILL');
    await exitOf(run.child);
    // The next run on this machine is not refused.
    const next = await runBin(['run', jobFile({ name: 'next', tasks: [{ id: 'a', kind: 'demo.echo', value: 1 }] }), '--data-dir', run.dataDir, '--json']);
    expect(next.stderr).toBe('');
    expect(next.code).toBe(0);
    await expectInterruptedThenResumed(run);
  });

  it('a run killed but not yet reaped by its parent is dead to the store: shown interrupted, restarted at once', async () => {
    const dataDir = join(tempDir(), 'data');
    const log = join(tempDir(), 'run.log');
    const release = join(tempDir(), 'release');
    const file = heldJobFile(release);
    // The parent becomes `sleep`, which never waits for its child: a killed child stays a zombie.
    const parent = spawn('sh', ['-c', '"$@" >"$LOG" 2>&1 & echo $!; exec sleep 600', 'sh', process.execPath, BIN, 'run', file, '--data-dir', dataDir, '--workers', '1'], {
      cwd: ROOT,
      env: { ...process.env, LOG: log },
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    onCleanup(() => void parent.kill('SIGKILL'));
    const first = await createInterface({ input: parent.stdout! })[Symbol.asyncIterator]().next();
    const pid = Number(first.value);
    expect(pid).toBeGreaterThan(1);
    onCleanup(() => {
      if (procState(pid) !== null && procState(pid) !== 'Z') process.kill(pid, 'SIGKILL');
    });
    await waitFor(() => {
      if (procState(pid) === null) throw new Error(`the run ended before its task was seen running:\n${readFileSync(log, 'utf8')}`);
      return liveTaskState(dataDir, 'held') === 'running';
    }, 60_000, 'the held task to be running in the store');

    process.kill(pid, 'SIGKILL');
    await waitFor(() => procState(pid) === 'Z', 20_000, 'the killed run to be a zombie');
    // Its pid still answers kill(pid, 0): that is what fooled the store.
    expect(() => process.kill(pid, 0)).not.toThrow();
    await expectInterruptedThenResumed({ dataDir, release, child: parent, output: () => readFileSync(log, 'utf8') });
    expect(procState(pid)).toBe('Z');
  });

  it('a pid now used by an unrelated live process does not hold the data directory', async () => {
    const run = await startHeldRun();
    run.child.kill('SIGKILL');
    await exitOf(run.child);
    // After a reboot, the dead owner's pid belongs to another program, on this very host.
    const other = spawn('sleep', ['600'], { stdio: 'ignore' });
    onCleanup(() => void other.kill('SIGKILL'));
    sqlite3(storeFile(run.dataDir), `UPDATE owner SET pid = ${other.pid}, host = '${hostname()}'`);
    expect(sqlite3(storeFile(run.dataDir), 'SELECT pid FROM owner', { readonly: true })).toBe(String(other.pid));
    await expectInterruptedThenResumed(run);
    expect(other.exitCode).toBeNull();
  });

  it('of two engines started at the same instant on a fresh data directory, exactly one owns it, 100 times in a row', async () => {
    const sides = [0, 1].map(() => {
      const child = spawn(process.execPath, [join(FIXTURES, 'racing-engine.mjs')], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
      onCleanup(() => void child.kill('SIGKILL'));
      let stderr = '';
      child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
      const next = async (): Promise<Record<string, unknown>> => {
        const { value, done } = await lines.next();
        if (done) throw new Error(`a racing engine ended (${child.exitCode ?? child.signalCode}):\n${stderr}`);
        return JSON.parse(value as string) as Record<string, unknown>;
      };
      return { child, next };
    });
    const root = tempDir();
    const wins = [0, 0];
    for (let round = 0; round < 100; round++) {
      const dataDir = join(root, `data-${round}`);
      const at = Date.now() + 30;
      for (const side of sides) side.child.stdin!.write(`go ${dataDir} ${at}\n`);
      const answers = await Promise.all(sides.map((side) => side.next()));
      const winners = answers.filter((a) => a.won === true);
      expect({ round, winners: winners.length }).toEqual({ round, winners: 1 });
      expect(winners[0]).toEqual({ won: true, job: 'succeeded' });
      const loser = answers.find((a) => a.won === false)!;
      expect(loser.code).toBe('DATA_DIR_IN_USE');
      expect(loser.message).toMatch(/^the data directory .* is in use by another Threadline( \(pid \d+\))?; stop it or pass another --data-dir$/);
      wins[answers.indexOf(winners[0]!)]!++;
      for (const side of sides) side.child.stdin!.write('end\n');
      expect(await Promise.all(sides.map((side) => side.next()))).toEqual([{ ended: true }, { ended: true }]);
      expect(sqlite3(storeFile(dataDir), "SELECT count(*) || ' ' || group_concat(state) FROM jobs", { readonly: true })).toBe('1 succeeded');
    }
    for (const side of sides) side.child.stdin!.end();
    await Promise.all(sides.map((side) => exitOf(side.child)));
    expect(sides.map((side) => side.child.exitCode)).toEqual([0, 0]);
    // Which side won is the race's business; that each round had one winner is the promise.
    console.log(`ownership race: the sides won ${wins[0]} and ${wins[1]} of 100 rounds`);
  }, 300_000);

  it('two engines of one process exclude each other too, and a reader in the same process does not mark an owned store', async () => {
    const dataDir = tempDir();
    const first = makeEngine({ dataDir, poolSize: 1 });
    const job = await first.submitJob(jobSpec([{ id: 'long', kind: 'demo.sleep', ms: 60_000 }]), '/');
    await waitFor(() => first.task(`${job.id}:long`)?.state === 'running');
    expect(() => new Engine({ dataDir })).toThrow(/^the data directory .* is in use by another Threadline \(pid \d+\); stop it or pass another --data-dir$/);
    await waitFor(() => listJobSummaries(dataDir)[0]?.counts.running === 1, 20_000, 'the store to show the task running');
    expect(first.task(`${job.id}:long`)?.state).toBe('running');
    await first.shutdown({ deadlineMs: 100 });
    const second = makeEngine({ dataDir, poolSize: 1 });
    expect(second.resumeInterrupted().map((j) => j.id)).toEqual([job.id]);
  });

  it('a reader marking a dead owner\'s tasks makes a starting engine wait for it, not refuse', async () => {
    const run = await startHeldRun();
    run.child.kill('SIGKILL');
    await exitOf(run.child);
    const holding = join(tempDir(), 'reader-holding');
    const done = join(tempDir(), 'reader-done');
    // A reader that holds the shared lock for 3 s (a real one holds it for one transaction).
    const reader = spawn(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const { whileUnowned } = await import(${JSON.stringify(join(ROOT, 'dist/electron/engine/store-lock.js'))});
         const { writeFileSync } = await import('node:fs');
         const ran = whileUnowned(process.argv[1], () => {
           writeFileSync(process.argv[2], '');
           Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 3000);
           writeFileSync(process.argv[3], '');
         });
         if (!ran) process.exit(3);`,
        run.dataDir,
        holding,
        done,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    onCleanup(() => void reader.kill('SIGKILL'));
    const readerEnd = finished(reader);
    await waitFor(() => existsSync(holding) || reader.exitCode !== null, 30_000, 'the reader to hold the lock');
    const engine = makeEngine({ dataDir: run.dataDir, poolSize: 1 });
    expect(existsSync(done)).toBe(true);
    const end = await readerEnd;
    expect(end).toMatchObject({ code: 0, stdout: '', stderr: '' });
    expect(engine.interruptedOnOpen).toHaveLength(1);
    expectNoStack(end.stderr);
  });
});
