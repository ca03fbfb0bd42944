/**
 * A pool task's log lines travel on the engine's channel while its outcome returns with the
 * batch: the engine must not call a task ended before every line it wrote has arrived.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STORE_FILE } from '../../electron/engine/job-store.js';
import { LogArrivals } from '../../electron/engine/log-arrivals.js';
import type { TaskView } from '../../electron/engine/task.js';
import { jobSpec, makeEngine, tempDir } from '../support/engine-fixture.js';

function sqlite(dataDir: string, query: string): string {
  return execFileSync('sqlite3', ['-readonly', '-cmd', '.timeout 5000', join(dataDir, STORE_FILE), query], { encoding: 'utf8' }).trim();
}

const TASKS = 48;
const LINES = 150;

describe('log lines of a pool task', () => {
  it('are all there the moment the task ends, in memory and, once stored, in the store', async () => {
    const dataDir = tempDir();
    const dir = tempDir();
    writeFileSync(join(dir, 'logger.mjs'), "export function run(args, ctx) { for (let i = 0; i < args.n; i++) ctx.log(`line ${i}`); return args.n; }\n");
    const engine = makeEngine({ dataDir, poolSize: 2 });
    // Read each task's log in the same turn as the event saying it ended, as a host's reader could.
    const seenAtEnd = new Map<string, number>();
    engine.on('task', (task: TaskView) => {
      if (task.state === 'succeeded') seenAtEnd.set(task.id, engine.logsOf(`${task.jobId}:${task.id}`).length);
    });
    const tasks = Array.from({ length: TASKS }, (_, i) => ({ id: `t${i}`, kind: 'script', module: join(dir, 'logger.mjs'), export: 'run', args: { n: LINES } }));
    const job = await engine.submitJob(jobSpec(tasks), dir);
    const record = await engine.waitForJob(job.id);
    expect(record.state).toBe('succeeded');

    const short = [...seenAtEnd].filter(([, n]) => n !== LINES);
    expect(short, 'tasks that ended before all their lines arrived').toEqual([]);
    expect(seenAtEnd.size).toBe(TASKS);
    for (let i = 0; i < TASKS; i++) {
      expect(engine.logsOf(`${job.id}:t${i}`).map((line) => line.message)).toEqual(Array.from({ length: LINES }, (_, n) => `line ${n}`));
    }

    await engine.whenStored();
    const perTask = sqlite(dataDir, `SELECT count(*) || '|' || min(n) || '|' || max(n) FROM task_logs WHERE job_id = '${job.id}' GROUP BY task_id`).split('\n');
    expect(perTask).toHaveLength(TASKS);
    expect(new Set(perTask)).toEqual(new Set([`${LINES}|1|${LINES}`]));
  });
});

describe('LogArrivals', () => {
  /** As a worker writes it: the count of lines posted by the task in `slot`. */
  function post(arrivals: LogArrivals, slot: number, lines: number): void {
    Atomics.store(new Int32Array(arrivals.postedBuffer), slot, lines);
  }

  it('ends at once when every line is in, else when the last one arrives; a forged extra line settles nothing', () => {
    const arrivals = new LogArrivals(4, 60_000);
    const ends: Array<ReadonlyMap<number, number>> = [];
    arrivals.reset(0);
    arrivals.reset(1);
    post(arrivals, 0, 1);
    arrivals.arrivedOne(0);
    arrivals.whenArrived([0, 1], (missing) => ends.push(missing));
    expect(ends).toEqual([new Map()]);

    post(arrivals, 0, 2);
    post(arrivals, 1, 1);
    arrivals.whenArrived([0, 1], (missing) => ends.push(missing));
    arrivals.arrivedOne(0);
    arrivals.arrivedOne(0); // one more than slot 0 posted
    expect(ends).toHaveLength(1);
    arrivals.arrivedOne(1);
    expect(ends).toEqual([new Map(), new Map()]);
  });

  it('ends after its bounded wait with the count of lines that never came, and does not wait once closed', async () => {
    const arrivals = new LogArrivals(4, 50);
    arrivals.reset(2);
    post(arrivals, 2, 3);
    arrivals.arrivedOne(2);
    const ended = new Promise<ReadonlyMap<number, number>>((resolve) => arrivals.whenArrived([2], resolve));
    expect(await ended).toEqual(new Map([[2, 2]]));

    arrivals.reset(3);
    post(arrivals, 3, 5);
    const atClose: Array<ReadonlyMap<number, number>> = [];
    arrivals.whenArrived([3], (missing) => atClose.push(missing));
    arrivals.close();
    arrivals.whenArrived([3], (missing) => atClose.push(missing));
    expect(atClose).toEqual([new Map([[3, 5]]), new Map([[3, 5]])]);
  });
});
