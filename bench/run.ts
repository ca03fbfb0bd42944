/**
 * `npm run bench [-- --quick] [-- --json FILE] [-- --only a,b]`: every benchmark, a table of
 * metrics, and optionally the JSON `{machine, metrics}`.
 */
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { cancel } from './cancel.js';
import { cli } from './cli.js';
import { dispatch } from './dispatch.js';
import { hash } from './hash.js';
import { ipc } from './ipc.js';
import { loop } from './loop.js';
import { machine, makeContext, type Benchmark, type Metrics } from './harness.js';
import { queue } from './queue.js';
import { remote } from './remote.js';
import { scale } from './scale.js';
import { scaling } from './scaling.js';
import { sqlExport } from './sql-export.js';
import { ui } from './ui.js';

export const BENCHMARKS: Benchmark[] = [dispatch, loop, scaling, cancel, sqlExport, hash, queue, ipc, ui, cli, scale, remote];

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { quick: { type: 'boolean' }, json: { type: 'string' }, only: { type: 'string' } } });
  const only = values.only ? new Set(values.only.split(',')) : null;
  const unknown = [...(only ?? [])].filter((name) => !BENCHMARKS.some((b) => b.name === name));
  if (unknown.length > 0) throw new Error(`unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`);
  const ctx = makeContext(values.quick ?? false);
  const metrics: Metrics = {};
  const started = performance.now();
  try {
    for (const bench of BENCHMARKS) {
      if (only && !only.has(bench.name)) continue;
      process.stderr.write(`${bench.name}...\n`);
      const t0 = performance.now();
      Object.assign(metrics, await bench.run(ctx));
      process.stderr.write(`  done in ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
    }
  } finally {
    ctx.cleanup();
  }
  const width = Math.max(...Object.keys(metrics).map((k) => k.length));
  for (const [name, value] of Object.entries(metrics)) {
    process.stdout.write(`${name.padEnd(width)}  ${Number.isInteger(value) ? value : value.toFixed(value < 10 ? 3 : 1)}\n`);
  }
  process.stdout.write(`(${((performance.now() - started) / 1000).toFixed(1)} s in all${values.quick ? ', quick sizes' : ''})\n`);
  if (values.json) writeFileSync(values.json, `${JSON.stringify({ machine: machine(), metrics }, null, 2)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
