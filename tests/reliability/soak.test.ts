/**
 * The soak of `npm run soak` in a shorter form: 20,000 tasks through the engine while a
 * dashboard (in a thread of its own, like a browser) follows over a real WebSocket. One run,
 * one promise per test. The loop delay it prints is a timing, judged against its goal by
 * `npm run soak`, not here: a busy machine must not fail a test.
 */
import v8 from 'node:v8';
import vm from 'node:vm';
import { beforeAll, describe, expect, it } from 'vitest';
import { soak, type SoakFigures } from '../../bench/soak.js';
import { DELTA_INTERVAL_MS } from '../../electron/hosts/event-batcher.js';
import { tempDir } from '../support/engine-fixture.js';

v8.setFlagsFromString('--expose-gc');
const collectGarbage = vm.runInNewContext('gc') as () => void;

const TASKS = 20_000;
const MB = 1024 * 1024;
/**
 * "Near baseline": what the host may keep of a finished job is a summary, not its tasks. 3 MB
 * is well below what the 20,000 tasks of the job take in memory (about 8.6 MB: the job held
 * after its end showed as that much) and far above the noise of a heap reading after a full
 * collection (a few hundred KB). The soak keeps none of its own data live at the readings.
 */
const NEAR_BASELINE_BYTES = 3 * MB;

let figures: SoakFigures;
/** How long the whole soak took: the dashboard was subscribed for less. */
let soakMs: number;

beforeAll(async () => {
  const started = performance.now();
  figures = await soak({ tasks: TASKS, poolSize: 2, dataDir: tempDir(), collectGarbage });
  soakMs = performance.now() - started;
  const { heap, loopDelayP99Ms, dashboard } = figures;
  process.stdout.write(
    `soak of ${TASKS} tasks: ${(figures.durationMs / 1000).toFixed(1)} s; heap ${mb(heap.baseline)} baseline, ${mb(heap.peak)} peak, ` +
      `${mb(heap.afterRun)} after the run, ${mb(heap.afterShutdown)} after shutdown; loop p99 median ${loopDelayP99Ms.median.toFixed(1)} ms, ` +
      `worst ${loopDelayP99Ms.worst.toFixed(1)} ms; ${dashboard.messages} messages, ${dashboard.resyncs} resyncs\n`,
  );
}, 120_000);

function mb(bytes: number): string {
  return `${(bytes / MB).toFixed(1)} MB`;
}

describe(`a soak of ${TASKS.toLocaleString('en')} tasks with a dashboard on the WebSocket`, () => {
  it('loses no event: the dashboard\'s counts from snapshot and deltas equal the store\'s (sqlite3), without a resync', () => {
    expect(figures.dashboard.counts).toEqual(figures.store.counts);
    expect(figures.store.counts).toEqual({ succeeded: TASKS * 0.98, failed: TASKS / 100, skipped: TASKS / 100 });
    expect(figures.dashboard.resyncs).toBe(0);
    // Batched: the message rate is set by the interval, not by the task rate. One snapshot, then
    // at most one delta per interval for as long as the dashboard followed, however long the run
    // took on this machine (a message per task would be some 20,000).
    expect(figures.dashboard.messages).toBeLessThanOrEqual(1 + Math.ceil(soakMs / DELTA_INTERVAL_MS));
  });

  it('leaves nothing behind once the host has shut down: the heap is back at its baseline', () => {
    expect(figures.heap.afterShutdown).toBeLessThan(figures.heap.baseline + NEAR_BASELINE_BYTES);
  });

  it('returns near its baseline after the job, while the host runs on', () => {
    expect(figures.heap.afterRun - figures.heap.baseline).toBeLessThan(NEAR_BASELINE_BYTES);
  });
});
