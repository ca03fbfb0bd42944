import { spawnSync } from 'node:child_process';
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { parse as parseCsv } from 'csv-parse/sync';
import { openDatabase } from '../shared/open-database.js';
import { benchEngine, jobDocument, timeJob } from './engine-fixture.js';
import { median, type Benchmark } from './harness.js';

const QUERY = 'SELECT id, name, price, qty, note FROM items ORDER BY id';

function makeDatabase(file: string, rows: number): void {
  const db = openDatabase(file);
  db.exec(`
    CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL, qty INTEGER, note TEXT);
    WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < ${rows})
    INSERT INTO items SELECT i, 'item ' || i, round(i * 0.37 + (i % 100) / 7.0, 4), i % 97,
      CASE WHEN i % 10 = 0 THEN 'say "hi", friend' WHEN i % 7 = 0 THEN NULL ELSE 'plain note ' || (i % 1000) END FROM n;`);
  db.close();
}

/** RFC 4180 field. */
function field(value: unknown): string {
  if (value === null) return '';
  const text = String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

/** The baseline: a straightforward better-sqlite3 iterate() and buffered write loop, one process. */
function bareExport(db: string, out: string): number {
  const connection = openDatabase(db, { readonly: true });
  const fd = openSync(out, 'w');
  try {
    const statement = connection.prepare(QUERY).raw(true);
    let chunk = `${statement.columns().map((c) => field(c.name)).join(',')}\r\n`;
    let rows = 0;
    for (const row of statement.iterate() as Iterable<unknown[]>) {
      chunk += `${row.map(field).join(',')}\r\n`;
      rows++;
      if (chunk.length > 1 << 20) {
        writeSync(fd, chunk);
        chunk = '';
      }
    }
    writeSync(fd, chunk);
    return rows;
  } finally {
    closeSync(fd);
    connection.close();
  }
}

function cliExport(db: string, out: string): void {
  const fd = openSync(out, 'w');
  try {
    const result = spawnSync('sqlite3', ['-csv', '-header', db, QUERY], { stdio: ['ignore', fd, 'pipe'] });
    if (result.error || result.status !== 0) throw new Error(`sqlite3 CLI failed: ${result.error?.message ?? result.stderr.toString()}`);
  } finally {
    closeSync(fd);
  }
}

function timed(fn: () => unknown): number {
  const start = performance.now();
  fn();
  return performance.now() - start;
}

/**
 * A one-million-row query to CSV: the engine vs a bare loop vs the sqlite3 CLI. The statement is
 * a key-ordered export, which the engine reads on every core (key ranges taken in turn) while the
 * shell runs as one process, as a shell user runs it. The engine spends more CPU on the rows than
 * the shell: `cli_ratio` is above 1 when the cores are free for it and follows the two sides' CPU
 * time when other work takes them (see docs/benchmarks.md).
 */
export const sqlExport: Benchmark = {
  name: 'sql_export',
  async run(ctx) {
    const rows = ctx.quick ? 20_000 : 1_000_000;
    const rounds = ctx.quick ? 1 : 3;
    const dir = ctx.scratch('sql');
    const db = join(dir, 'items.sqlite');
    makeDatabase(db, rows);
    const engine = benchEngine(ctx, { poolSize: 2 });
    const job = jobDocument([{ id: 'export', kind: 'sql.query', db, sql: QUERY, output: { path: join(dir, 'engine.csv'), format: 'csv' } }]);
    try {
      // Start both pool threads first: their start-up is not what the rss growth is about.
      await timeJob(engine, jobDocument([{ id: 'w1', kind: 'demo.cpu', ms: 20 }, { id: 'w2', kind: 'demo.cpu', ms: 20 }]));
      const times = { engine: [] as number[], bare: [] as number[], cli: [] as number[] };
      let rssGrowth = 0;
      const sides: Record<keyof typeof times, () => Promise<number>> = {
        engine: async () => {
          const rssBefore = process.memoryUsage().rss;
          let rssPeak = rssBefore;
          const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 20);
          try {
            return await timeJob(engine, job);
          } finally {
            clearInterval(sampler);
            rssGrowth = Math.max(rssGrowth, rssPeak - rssBefore);
          }
        },
        bare: async () => timed(() => bareExport(db, join(dir, 'bare.csv'))),
        cli: async () => timed(() => cliExport(db, join(dir, 'cli.csv'))),
      };
      const order = ['engine', 'bare', 'cli'] as const;
      for (let round = 0; round < rounds; round++) {
        // Each side goes first, second and last in turn, so drift in the machine hits all alike.
        for (let i = 0; i < order.length; i++) {
          const side = order[(round + i) % order.length]!;
          times[side].push(await sides[side]());
        }
      }
      const failed = engine.stateCounts().failed;
      if (failed > 0) {
        const errors = engine.jobs().flatMap((job) => engine.tasksOfJob(job.id).filter((task) => task.state === 'failed').map((task) => `${task.id}: ${task.error?.code} ${task.error?.message}`));
        throw new Error(`the engine export failed: ${errors.join('; ')}`);
      }
      // Compared byte by byte, then as values. The shell quotes every text with a space in it and
      // ends lines with LF, the engine quotes only what RFC 4180 needs and ends lines with CRLF, so
      // the bytes differ; the values (text as the shell prints it, REALs included) must not.
      const engineFile = readFileSync(join(dir, 'engine.csv'));
      const cliFile = readFileSync(join(dir, 'cli.csv'));
      const sameBytes = engineFile.equals(cliFile);
      const sameValues = sameBytes || isDeepStrictEqual(parseCsv(engineFile), parseCsv(cliFile));
      ctx.log(`engine file ${engineFile.length} bytes, sqlite3's ${cliFile.length}: ${sameBytes ? 'byte-identical' : sameValues ? 'the same values, not the same bytes' : 'different values'}`);
      if (!sameValues) throw new Error("sql_export: the engine's CSV holds other values than sqlite3 -csv -header's");
      const engineMs = median(times.engine);
      return {
        'sql_export.rows_per_s': rows / (engineMs / 1000),
        'sql_export.ratio': median(times.bare) / engineMs,
        'sql_export.cli_ratio': median(times.cli) / engineMs,
        'sql_export.main_rss_growth_mb': rssGrowth / 2 ** 20,
      };
    } finally {
      await engine.shutdown();
    }
  },
};
