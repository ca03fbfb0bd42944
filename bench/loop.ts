import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { loopDelayMs } from '../electron/engine/telemetry.js';
import { openDatabase } from '../shared/open-database.js';
import { benchEngine, jobDocument, timeJob } from './engine-fixture.js';
import { median, type Benchmark } from './harness.js';

const RESOLUTION_MS = 1;
const SLEEP_MS = 100;
/** Timed gather jobs after a warm-up one; the median is `loop.gather_ratio`. */
const GATHER_JOBS = 5;

/** A heavy read: SQLite counts through a generated series, no table needed. */
function heavyQuery(rows: number): string {
  return `WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ${rows}) SELECT sum(x % 7) AS s FROM n`;
}

/** Event-loop delay p99 of the main thread while `work` runs. */
async function loopDelayP99(work: () => Promise<unknown>): Promise<number> {
  const histogram = monitorEventLoopDelay({ resolution: RESOLUTION_MS });
  // A timer that keeps the loop ticking, as a host's UI traffic would.
  const ticker = setInterval(() => {}, 1);
  histogram.enable();
  try {
    await work();
  } finally {
    histogram.disable();
    clearInterval(ticker);
  }
  return loopDelayMs(histogram.percentile(99), RESOLUTION_MS);
}

/**
 * Main-loop delay while heavy sync SQLite queries run on the pool vs inline on the main thread;
 * and 1,000 async sleeps of 100 ms in one job of that concurrency, against the 100 ms they take.
 */
export const loop: Benchmark = {
  name: 'loop',
  async run(ctx) {
    const rows = ctx.quick ? 200_000 : 3_000_000;
    const queries = ctx.quick ? 4 : 8;
    const db = join(ctx.scratch('loop'), 'empty.sqlite');
    openDatabase(db).close();
    const sql = heavyQuery(rows);
    const engine = benchEngine(ctx);
    try {
      const job = jobDocument(Array.from({ length: queries }, (_, i) => ({ id: `q${i}`, kind: 'sql.query', db, sql })));
      const pool = await loopDelayP99(() => timeJob(engine, job));
      const states = engine.stateCounts();
      if (states.failed > 0) throw new Error('a benchmark query failed on the pool');
      const inline = await loopDelayP99(async () => {
        const connection = openDatabase(db, { readonly: true });
        try {
          for (let i = 0; i < queries; i++) {
            connection.prepare(sql).get();
            await new Promise((resolve) => setImmediate(resolve));
          }
        } finally {
          connection.close();
        }
      });
      // asyncio.gather of 1,000 sleeps of 100 ms takes about 102 ms: the same as one job.
      const sleeps = ctx.quick ? 100 : 1_000;
      const gather = jobDocument(Array.from({ length: sleeps }, (_, i) => ({ id: `s${i}`, kind: 'demo.sleep', ms: SLEEP_MS })), { concurrency: sleeps });
      // One job's wall time is one draw of a noisy figure (a turn of another process on a core
      // adds its length to it): the median of several jobs is the goal's figure, the slowest is
      // reported beside it so that the tail stays in sight.
      await timeJob(engine, gather);
      const gatherMs: number[] = [];
      for (let i = 0; i < GATHER_JOBS; i++) gatherMs.push(await timeJob(engine, gather));
      if (engine.stateCounts().failed > 0) throw new Error('a demo.sleep task failed');
      return {
        'loop.pool_p99_ms': pool,
        'loop.inline_p99_ms': inline,
        'loop.ratio': inline / pool,
        'loop.gather_ratio': median(gatherMs) / SLEEP_MS,
        'loop.gather_slowest_ratio': Math.max(...gatherMs) / SLEEP_MS,
      };
    } finally {
      await engine.shutdown();
    }
  },
};
