import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../electron/engine/engine.js';
import { jobWithTasks, listJobSummaries } from '../../electron/engine/history.js';
import { taskKey } from '../../electron/engine/ids.js';
import { STORE_FILE } from '../../electron/engine/job-store.js';
import { SCHEMA_VERSION } from '../../electron/engine/store-migrations.js';
import { exited, runCli, startCli } from '../support/cli.js';
import { jobSpec, makeEngine, onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { WAITS_FOR_FILE } from '../support/held-task.js';

function sqlite(db: string, sql: string): string {
  return execFileSync('sqlite3', [db, sql], { encoding: 'utf8' }).trim();
}

/**
 * Whether two strings are laid out alike in V8's heap (both flat, or both a concatenation of two
 * parts that keeps both): what tells a task key built by `taskKey` from one built by `${a}:${b}`,
 * which are equal as values.
 */
function sameLayout(a: string, b: string): boolean {
  setFlagsFromString('--allow-natives-syntax');
  return (new Function('a', 'b', 'return %HaveSameMap(a, b)') as (a: string, b: string) => boolean)(a, b);
}

describe('job store and recovery', () => {
  it('after a SIGKILL: store intact, finished results kept, running tasks interrupted, resume finishes the job', async () => {
    const dir = tempDir();
    const dataDir = join(dir, 'data');
    const jobFile = join(dir, 'job.json');
    const release = join(dir, 'release');
    writeFileSync(
      jobFile,
      JSON.stringify({
        name: 'crashy',
        tasks: [
          { id: 'early', kind: 'demo.echo', value: { kept: true } },
          // Holds its thread until released after the kill: seen running by a poll however busy the machine.
          { id: 'long', kind: 'script', module: WAITS_FOR_FILE, args: { file: release }, dependsOn: ['early'] },
          { id: 'after', kind: 'demo.echo', value: 2, dependsOn: ['long'] },
          ...Array.from({ length: 50 }, (_, i) => ({ id: `q${i}`, kind: 'demo.cpu', ms: 1, dependsOn: ['long'] })),
        ],
      }),
    );
    const child = startCli(['run', jobFile, '--data-dir', dataDir, '--workers', '1']);
    onCleanup(() => void child.kill('SIGKILL'));
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const running = await waitFor(() => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`threadline run ended (${child.exitCode ?? child.signalCode}) before the long task was seen running:\n${output}`);
      const [job] = listJobSummaries(dataDir);
      return job && job.counts.running === 1 ? job : null;
    }, 30_000, 'the long task to be running in the store');
    // A second engine must not take the data dir over from a live one.
    expect(() => new Engine({ dataDir })).toThrow(/in use by another Threadline \(pid \d+\)/);

    child.kill('SIGKILL');
    await exited(child);
    writeFileSync(release, '');

    expect(sqlite(join(dataDir, STORE_FILE), 'PRAGMA integrity_check')).toBe('ok');
    const jobs = JSON.parse(runCli(['jobs', '--data-dir', dataDir, '--json']).stdout);
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toMatchObject({ id: running.id, state: 'interrupted', taskCount: 53 });
    expect(jobs[0].counts.running).toBeUndefined();
    const stored = jobWithTasks(dataDir, running.id)!;
    expect(stored.tasks).toHaveLength(53);
    expect(stored.tasks.find((t) => t.id === 'early')).toMatchObject({ state: 'succeeded', result: { kept: true } });
    expect(stored.tasks.find((t) => t.id === 'long')).toMatchObject({ state: 'interrupted', attempts: 1 });

    const resumed = runCli(['resume', '--data-dir', dataDir, '--json', '--workers', '1']);
    expect(resumed.stderr).toBe('');
    expect(resumed.code).toBe(0);
    const out = JSON.parse(resumed.stdout);
    expect(out.job).toMatchObject({ id: running.id, state: 'succeeded' });
    expect(out.tasks.every((t: { state: string }) => t.state === 'succeeded')).toBe(true);
    expect(out.tasks.find((t: { id: string }) => t.id === 'long')).toMatchObject({ attempts: 2 });
    expect(out.tasks.find((t: { id: string }) => t.id === 'early')).toMatchObject({ attempts: 1, result: { kept: true } });
    expect(runCli(['resume', '--data-dir', dataDir]).stderr).toContain('no interrupted jobs');
  });

  it('a graceful shutdown leaves unfinished tasks interrupted, and a new engine resumes them', async () => {
    const dataDir = tempDir();
    const first = new Engine({ dataDir, poolSize: 1, cancelGraceMs: 50 });
    const job = await first.submitJob(jobSpec([{ id: 'stuck', kind: 'demo.block', ms: 60_000 }, { id: 'next', kind: 'demo.echo', value: 1 }]), '/');
    await waitFor(() => first.task(`${job.id}:stuck`)?.state === 'running');
    await first.shutdown({ deadlineMs: 100 });
    expect(first.task(`${job.id}:stuck`)?.state).toBe('interrupted');
    expect(first.task(`${job.id}:next`)?.state).toBe('interrupted');
    expect(listJobSummaries(dataDir)[0]).toMatchObject({ state: 'interrupted', counts: { interrupted: 2 } });

    const second = makeEngine({ dataDir, poolSize: 1, cancelGraceMs: 0 });
    expect(second.interruptedOnOpen).toEqual([]);
    const [resumed] = second.resumeInterrupted();
    expect(resumed?.id).toBe(job.id);
    // The blocking task takes a minute: cancel it and check the other one ran.
    await waitFor(() => second.task(`${job.id}:stuck`)?.state === 'running');
    second.cancelTask(`${job.id}:stuck`);
    expect((await second.waitForJob(job.id)).state).toBe('cancelled');
    expect(second.task(`${job.id}:next`)?.state).toBe('succeeded');
  });

  it("a resumed job's task keys are built as a new job's are", async () => {
    const dataDir = tempDir();
    const first = new Engine({ dataDir, poolSize: 1, cancelGraceMs: 50 });
    const job = await first.submitJob(jobSpec([{ id: 'stuck', kind: 'demo.block', ms: 60_000 }, { id: 'next-one', kind: 'demo.echo', value: 1 }]), '/');
    await waitFor(() => first.task(`${job.id}:stuck`)?.state === 'running');
    await first.shutdown({ deadlineMs: 100 });

    const second = makeEngine({ dataDir, poolSize: 1, cancelGraceMs: 0 });
    expect(second.resumeInterrupted().map((j) => j.id)).toEqual([job.id]);
    const keys = second.tasksOfJob(job.id).map((t) => t.key);
    expect(keys.sort()).toEqual([taskKey(job.id, 'next-one'), taskKey(job.id, 'stuck')]);
    // The probe tells the two ways of building a key apart.
    const [jobId, taskId] = [job.id, 'next-one'];
    expect(sameLayout(`${jobId}:${taskId}`, taskKey(jobId, taskId))).toBe(false);
    for (const key of keys) expect(sameLayout(key, taskKey(jobId, taskId)), key).toBe(true);
    second.cancelTask(`${job.id}:stuck`);
    await second.waitForJob(job.id);
  });

  it('refuses a store written by a newer schema, naming both versions', async () => {
    const dataDir = tempDir();
    // A live engine owns its data directory, even against another engine of the same process.
    await makeEngine({ dataDir }).shutdown();
    sqlite(join(dataDir, STORE_FILE), 'PRAGMA user_version = 99');
    expect(() => new Engine({ dataDir })).toThrow(new RegExp(`schema version 99; this Threadline knows up to ${SCHEMA_VERSION}$`));
  });

  it('batches state changes: thousands of transitions become a few transactions', async () => {
    // No timed write during the run: what is counted is how the writer coalesces transitions,
    // not how many flush intervals a busy machine needed to run the job.
    const engine = makeEngine({ storeFlushMs: 60_000 });
    const job = await engine.submitJob(jobSpec(Array.from({ length: 2000 }, (_, i) => ({ id: `t${i}`, kind: 'demo.echo', value: i }))), '/');
    let writes = 0;
    let taskRows = 0;
    const store = engine.store;
    const saveChanges = store.saveChanges.bind(store);
    store.saveChanges = (jobs, tasks, ...rest) => {
      writes++;
      const list = [...tasks];
      taskRows += list.length;
      return saveChanges(jobs, list, ...rest);
    };
    await engine.waitForJob(job.id);
    // Every transition written, however long the writes take on a busy machine.
    await engine.whenStored();
    // 2000 tasks went queued -> running -> succeeded: 4000 transitions, each task written once
    // with its latest state, in slices of at least 50 rows (more rows per slice when the disk is fast).
    expect(taskRows).toBe(2000);
    expect(writes).toBeGreaterThan(0);
    expect(writes).toBeLessThanOrEqual(2000 / 50 + 1);
    const stored = jobWithTasks(engine.store.dataDir, job.id);
    expect(stored?.tasks.filter((t) => t.state === 'succeeded')).toHaveLength(2000);
  });
});
