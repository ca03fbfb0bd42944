import Database from 'better-sqlite3';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { chargeCrash, CrashLedger } from '../../electron/engine/crash-ledger.js';
import { Job } from '../../electron/engine/job.js';
import { JobStore, STORE_FILE } from '../../electron/engine/job-store.js';
import { Task } from '../../electron/engine/task.js';
import { jobSpec, makeEngine, tempDir, waitFor } from '../support/engine-fixture.js';
import { sqlite3 } from '../reliability/sqlite-cli.js';

const stores: JobStore[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
});

function ledgerOnDisk() {
  const store = new JobStore(tempDir());
  stores.push(store);
  // A long interval: ends are written only with a hand-over or when asked.
  const ledger = new CrashLedger(store.db, 60_000);
  const job = new Job('j-1', 'ledger', null, 'continue', '/', 1);
  const task = (id: string) => new Task(job, `j-1:${id}`, id, 0, 'demo.echo', 'pool', {}, 0, null, 0, 0, [], 1);
  const file = join(store.dataDir, STORE_FILE);
  // Read by the shell, as the next process after a crash would find them.
  const marked = () => sqlite3(file, `SELECT group_concat(task_id, ' ') FROM (SELECT task_id FROM task_runs ORDER BY task_id)`);
  return { ledger, task, marked, file };
}

describe('crash ledger', () => {
  it('marks a hand-over before it begins; a hand-over partly ended keeps only the tasks still on an executor', () => {
    const { ledger, task, marked } = ledgerOnDisk();
    const [a, b, c] = [task('a'), task('b'), task('c')];
    ledger.markHandedOver([a, b]);
    expect(marked()).toBe('a b');
    ledger.unmark(a);
    // Not written yet: until then a crash counts it among the suspects.
    expect(marked()).toBe('a b');
    ledger.unmarkEnded();
    expect(marked()).toBe('b');
    ledger.unmark(b);
    ledger.markHandedOver([c]);
    // The end went with the next hand-over, in its transaction.
    expect(marked()).toBe('c');
    // A task handed over again (a retry) after its end is marked by its new hand-over.
    ledger.unmark(c);
    ledger.markHandedOver([c, a]);
    expect(marked()).toBe('a c');
    // Handed over again before its end was written (a batch given back): still marked, once.
    ledger.markHandedOver([c]);
    expect(marked()).toBe('a c');
    ledger.unmark(c);
    ledger.unmark(a);
    ledger.unmarkEnded();
    expect(marked()).toBe('');
  });

  it('a batch of 64 is one row of hand_overs, removed once all of it ended', () => {
    const { ledger, task, marked, file } = ledgerOnDisk();
    const batch = Array.from({ length: 64 }, (_, i) => task(`t${String(i).padStart(2, '0')}`));
    ledger.markHandedOver(batch);
    expect(sqlite3(file, 'SELECT count(*) FROM hand_overs')).toBe('1');
    expect(sqlite3(file, 'SELECT count(*) FROM task_runs')).toBe('64');
    expect(sqlite3(file, "SELECT json_array_length(tasks) || ' ' || (tasks ->> '$[63][1]') FROM hand_overs")).toBe('64 t63');
    for (const t of batch.slice(0, 63)) ledger.unmark(t);
    ledger.unmarkEnded();
    expect(marked()).toBe('t63');
    ledger.unmark(batch[63]!);
    ledger.unmarkEnded();
    expect(sqlite3(file, 'SELECT count(*) FROM hand_overs')).toBe('0');
  });

  it('a hand-over whose tasks all ended gives its row to the next one; a crash then blames only the new tasks', () => {
    const { ledger, task, marked, file } = ledgerOnDisk();
    const [a, b, c, d, e] = [task('a'), task('b'), task('c'), task('d'), task('e')];
    const rows = () => sqlite3(file, `SELECT group_concat(id || ':' || tasks, ' ') FROM (SELECT id, tasks FROM hand_overs ORDER BY id)`);
    // One long task on each of two threads: as one ends, the next goes to its thread.
    ledger.markHandedOver([a]);
    ledger.markHandedOver([b]);
    expect(rows()).toBe('1:[["j-1","a"]] 2:[["j-1","b"]]');
    ledger.unmark(a);
    ledger.markHandedOver([c]);
    // a's end and c's mark are one write: a's row now lists c, b's is untouched.
    expect(rows()).toBe('1:[["j-1","c"]] 2:[["j-1","b"]]');
    expect(marked()).toBe('b c');
    // Among several changed hand-overs, one that ended whole gives its row; the others are
    // rewritten or removed as before, in the same transaction.
    ledger.markHandedOver([d, e]);
    ledger.unmark(b);
    ledger.unmark(c);
    ledger.unmark(d);
    ledger.markHandedOver([a]);
    expect(marked()).toBe('a e');
    expect(sqlite3(file, 'SELECT count(*) FROM hand_overs')).toBe('2');
    // What the next process finds after a crash here: only a and e were on an executor.
    const left = sqlite3(file, `SELECT group_concat(task_id, ' ') FROM (SELECT task_id FROM task_runs ORDER BY task_id)`);
    expect(left).toBe('a e');
    // The rows left still end as before: a hand-over partly ended keeps its running task.
    ledger.unmark(a);
    ledger.unmarkEnded();
    expect(marked()).toBe('e');
    ledger.unmark(e);
    ledger.unmarkEnded();
    expect(sqlite3(file, 'SELECT count(*) FROM hand_overs')).toBe('0');
  });

  it('a crash after a reused row charges the task alone on it, not the one whose end the reuse wrote', () => {
    const dataDir = tempDir();
    const store = new JobStore(dataDir);
    stores.push(store);
    const ledger = new CrashLedger(store.db, 60_000);
    const job = new Job('j-1', 'ledger', null, 'continue', '/', 1);
    for (const [seq, id] of ['a', 'b'].entries()) job.tasks.push(new Task(job, `j-1:${id}`, id, seq, 'demo.echo', 'pool', {}, 0, null, 0, 0, [], 1));
    store.insertJob(job.toRecord(), job.tasks.map((task) => ({ ...task.toRecord(), seq: task.seq })));
    const [a, b] = job.tasks as [Task, Task];
    ledger.markHandedOver([a]);
    ledger.unmark(a);
    ledger.markHandedOver([b]);
    // The process dies here: the next one charges what the store says was on an executor.
    store.db.transaction(() => chargeCrash(store.db))();
    store.close();
    const file = join(dataDir, STORE_FILE);
    expect(sqlite3(file, `SELECT group_concat(task_id || ' ' || crashes || ' ' || suspect, ', ') FROM task_crashes`)).toBe('b 1 0');
    expect(sqlite3(file, 'SELECT count(*) FROM hand_overs')).toBe('0');
  });

  it('a store held by another writer past the busy timeout loses the mark, never throws; the next write catches up', () => {
    const { ledger, task, marked, file } = ledgerOnDisk();
    const [a, b, c] = [task('a'), task('b'), task('c')];
    ledger.markHandedOver([a]);
    ledger.unmark(a);
    // Another connection holds the write lock (as a checkpoint's sync does), longer than the ledger waits.
    const other = new Database(file);
    other.pragma('busy_timeout = 0');
    const ledgerDb = stores.at(-1)!.db;
    ledgerDb.pragma('busy_timeout = 20');
    other.exec('BEGIN IMMEDIATE');
    expect(() => ledger.markHandedOver([b])).not.toThrow();
    other.exec('ROLLBACK');
    other.close();
    // b's mark is lost (a crash now would not charge it); a's end is still to be written.
    expect(marked()).toBe('a');
    ledger.markHandedOver([c]);
    expect(marked()).toBe('c');
    ledger.unmark(b);
    ledger.unmark(c);
    ledger.unmarkEnded();
    expect(marked()).toBe('');
  });

  it('async tasks that start together are one hand-over, durable before the first of them begins', async () => {
    const dataDir = tempDir();
    const file = join(dataDir, STORE_FILE);
    const engine = makeEngine({ dataDir, loopConcurrency: 5 });
    const marksAtFirstStart: string[] = [];
    engine.on('task', (task) => {
      if (task.state === 'running' && task.id === 's0') marksAtFirstStart.push(sqlite3(file, 'SELECT count(*) FROM hand_overs; SELECT count(*) FROM task_runs'));
    });
    const sleeps = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `s${i}`, kind: 'demo.sleep', ms: 60_000 }));
    // A job's own concurrency: all 200 at once.
    const wide = await engine.submitJob(jobSpec(sleeps(200), { concurrency: 200 }), '/');
    await waitFor(() => engine.stateCounts().running === 200, 20_000, '200 running');
    expect(marksAtFirstStart[0]).toBe('1\n200');
    expect(sqlite3(file, 'SELECT count(*) FROM hand_overs; SELECT count(*) FROM task_runs')).toBe('1\n200');
    engine.cancelJob(wide.id);
    await engine.waitForJob(wide.id);
    // Without one, the loop's limit: five at once, and each that ends lets one more in.
    marksAtFirstStart.length = 0;
    const plain = await engine.submitJob(jobSpec(sleeps(7)), '/');
    await waitFor(() => engine.stateCounts().running === 5, 20_000, '5 running');
    expect(marksAtFirstStart[0]).toBe('1\n5');
    engine.cancelTask(`${plain.id}:s1`);
    await waitFor(() => engine.task(`${plain.id}:s5`)?.state === 'running', 20_000, 's5 running');
    expect(engine.stateCounts().running).toBe(5);
    expect(sqlite3(file, `SELECT group_concat(task_id, ' ') FROM (SELECT task_id FROM task_runs WHERE job_id = '${plain.id}' ORDER BY task_id)`)).toBe('s0 s2 s3 s4 s5');
    engine.cancelJob(plain.id);
    await engine.waitForJob(plain.id);
  });
});
