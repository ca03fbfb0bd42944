/**
 * Task log lines are stored with their task: bounded (the newest kept, a note for the rest),
 * written behind like every state change, and read back for past jobs after a restart.
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { Engine } from '../../electron/engine/engine.js';
import { STORE_FILE } from '../../electron/engine/job-store.js';
import { LOG_LINES_PER_TASK } from '../../electron/engine/task-logs.js';
import { ApiHandlers } from '../../electron/hosts/api-handlers.js';
import { jobSpec, makeEngine, tempDir } from '../support/engine-fixture.js';

function sqlite(dataDir: string, query: string): string {
  return execFileSync('sqlite3', ['-readonly', '-cmd', '.timeout 5000', join(dataDir, STORE_FILE), query], { encoding: 'utf8' }).trim();
}

function loggerScript(dir: string): void {
  writeFileSync(join(dir, 'logger.mjs'), "export function run(args, ctx) { for (let i = 0; i < args.n; i++) ctx.log(`line ${i}`, i % 2 ? 'info' : 'warn'); return args.n; }\n");
}

describe('stored task logs', () => {
  it('keeps the newest lines per task with a note for the dropped ones, in memory and in the store, after a restart too', async () => {
    const dataDir = tempDir();
    const dir = tempDir();
    loggerScript(dir);
    const engine = makeEngine({ dataDir });
    const spec = jobSpec([
      { id: 'chatty', kind: 'script', module: join(dir, 'logger.mjs'), export: 'run', args: { n: 250 } },
      { id: 'terse', kind: 'script', module: join(dir, 'logger.mjs'), export: 'run', args: { n: 2 } },
      { id: 'silent', kind: 'demo.echo' },
    ]);
    const job = await engine.submitJob(spec, dir);
    await engine.waitForJob(job.id);

    const live = engine.logsOf(`${job.id}:chatty`);
    expect(live).toHaveLength(LOG_LINES_PER_TASK + 1);
    expect(live[0]).toMatchObject({ level: 'warn', message: `50 earlier log lines dropped; the newest ${LOG_LINES_PER_TASK} are kept` });
    expect(live.slice(1).map((line) => line.message)).toEqual(Array.from({ length: 200 }, (_, i) => `line ${i + 50}`));
    expect(engine.logsOf(`${job.id}:terse`).map(({ level, message }) => [level, message])).toEqual([['warn', 'line 0'], ['info', 'line 1']]);
    expect(engine.logsOf(`${job.id}:silent`)).toEqual([]);
    await engine.shutdown();

    // In the store, read by the sqlite3 CLI: 200 rows for the chatty task, numbered 51 to 250.
    expect(sqlite(dataDir, `SELECT count(*), min(n), max(n) FROM task_logs WHERE job_id = '${job.id}' AND task_id = 'chatty'`)).toBe('200|51|250');
    expect(sqlite(dataDir, `SELECT level || ' ' || message FROM task_logs WHERE job_id = '${job.id}' AND task_id = 'terse' ORDER BY n`)).toBe('warn line 0\ninfo line 1');

    // A new engine on the same store (a restart) reads them for the past job, and so does the API.
    const again = makeEngine({ dataDir });
    expect(again.logsOf(`${job.id}:chatty`)).toEqual(live);
    expect(again.logsOf(`${job.id}:terse`)).toHaveLength(2);
    const api = new ApiHandlers(again, { defaultBaseDir: dir });
    const detail = await api.call('taskDetail', { key: `${job.id}:chatty` });
    expect(detail.ok && (detail.value as { logs: unknown[] }).logs).toEqual(live);
  });

  it('stamps a pool task’s lines on the clock of its attempt: every line falls within its attempt, the first millisecond too', async () => {
    const dataDir = tempDir();
    const dir = tempDir();
    loggerScript(dir);
    const engine = makeEngine({ dataDir });
    // Each task logs as it begins (the module is loaded after the first few): a whole-millisecond
    // stamp would put most of these lines before their attempt's precise start.
    const tasks = Array.from({ length: 40 }, (_, i) => ({ id: `t${i}`, kind: 'script', module: join(dir, 'logger.mjs'), export: 'run', args: { n: 1 } }));
    const job = await engine.submitJob(jobSpec(tasks), dir);
    await engine.waitForJob(job.id);
    await engine.shutdown();
    const outside = sqlite(
      dataDir,
      `SELECT l.task_id || ' ' || l.at || ' ' || a.started_at || ' ' || a.finished_at FROM task_logs l JOIN attempts a ON a.job_id = l.job_id AND a.task_id = l.task_id
       WHERE l.job_id = '${job.id}' AND (l.at < a.started_at OR l.at > a.finished_at)`,
    );
    expect(outside).toBe('');
    expect(sqlite(dataDir, `SELECT count(*) FROM task_logs WHERE job_id = '${job.id}'`)).toBe('40');
  });

  it('writes log lines behind, in batches with the other state changes, not one write per line', async () => {
    const dataDir = tempDir();
    const dir = tempDir();
    loggerScript(dir);
    // A flush interval no test outlasts: until the shutdown, the lines are only in memory.
    const engine = new Engine({ dataDir, poolSize: 1, storeFlushMs: 600_000 });
    const job = await engine.submitJob(jobSpec([{ id: 'chatty', kind: 'script', module: join(dir, 'logger.mjs'), export: 'run', args: { n: 120 } }]), dir);
    await engine.waitForJob(job.id);
    expect(engine.logsOf(`${job.id}:chatty`)).toHaveLength(120);
    expect(sqlite(dataDir, 'SELECT count(*) FROM task_logs')).toBe('0');
    await engine.shutdown();
    expect(sqlite(dataDir, `SELECT count(*) FROM task_logs WHERE job_id = '${job.id}'`)).toBe('120');
  });

  it('numbers a resumed task’s lines after those of its earlier run', async () => {
    const dataDir = tempDir();
    const dir = tempDir();
    // Logs two lines, then waits for a flag file that appears only before the second run.
    writeFileSync(
      join(dir, 'twice.mjs'),
      [
        "import { existsSync } from 'node:fs';",
        'export function run(args, ctx) {',
        "  ctx.log('starting'); ctx.log('working');",
        '  while (!existsSync(args.flag)) { ctx.throwIfCancelled(); Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 5); }',
        "  ctx.log('done');",
        '  return 1;',
        '}',
      ].join('\n'),
    );
    const flag = join(dir, 'go');
    const first = new Engine({ dataDir, poolSize: 1, cancelGraceMs: 50 });
    const job = await first.submitJob(jobSpec([{ id: 'waits', kind: 'script', module: join(dir, 'twice.mjs'), export: 'run', args: { flag } }]), dir);
    const key = `${job.id}:waits`;
    await new Promise<void>((resolve) => {
      const check = () => (first.logsOf(key).length === 2 ? resolve() : setTimeout(check, 10));
      check();
    });
    await first.shutdown({ deadlineMs: 100 });
    writeFileSync(flag, '');

    const second = makeEngine({ dataDir });
    second.resumeInterrupted();
    await second.waitForJob(job.id);
    expect(second.logsOf(key).map((line) => line.message)).toEqual(['starting', 'working', 'starting', 'working', 'done']);
    await second.shutdown();
    expect(sqlite(dataDir, `SELECT group_concat(n || '=' || message, ' ') FROM (SELECT n, message FROM task_logs ORDER BY n)`)).toBe('1=starting 2=working 3=starting 4=working 5=done');
  });
});
