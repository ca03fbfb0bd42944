import { spawnSync } from 'node:child_process';
import { statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alternate, type Benchmark } from './harness.js';

const BIN = fileURLToPath(new URL('../../bin/threadline.js', import.meta.url));
const DIST = new URL('../', import.meta.url);

/**
 * What the bin runs, by its own rule: the bundle of `npm run build:node`, unless dist/ was
 * compiled again after it (then the compiled modules, which start slower).
 */
function whatRuns(): string {
  const modified = (path: string) => statSync(new URL(path, DIST), { throwIfNoEntry: false })?.mtimeMs;
  const bundled = modified('cli/built');
  const compiled = modified('.tsbuildinfo.node');
  if (bundled !== undefined && compiled !== undefined && bundled >= compiled) return 'the bundled CLI';
  return 'the compiled modules, not the bundle: run "npm run build:node" to measure what users run';
}

/** Wall time of a process from spawn to exit; fails naming the command when it does. */
function processMs(args: string[]): number {
  const start = performance.now();
  const result = spawnSync(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const ms = performance.now() - start;
  if (result.status !== 0) throw new Error(`cli: node ${args.join(' ')} exited ${result.status}: ${result.stderr.toString().trim()}`);
  return ms;
}

/** `threadline run` of a one-task job, process start to exit, against `node -e 0`. */
export const cli: Benchmark = {
  name: 'cli',
  async run(ctx) {
    const dir = ctx.scratch('cli');
    const file = join(dir, 'one.json');
    writeFileSync(file, JSON.stringify({ name: 'one', tasks: [{ id: 'e', kind: 'demo.echo', value: 1 }] }));
    const run = ['run', file, '--data-dir', join(dir, 'data'), '--json'];
    processMs([BIN, ...run]); // the store is created once; every timed run opens it
    const { baseline, candidate } = await alternate(
      ctx.quick ? 2 : 7,
      async () => processMs(['-e', '0']),
      async () => processMs([BIN, ...run]),
    );
    ctx.log(`threadline run ${Math.round(candidate)} ms, node -e 0 ${Math.round(baseline)} ms (${whatRuns()})`);
    return { 'cli.start_ratio': candidate / baseline, 'cli.run_ms': candidate };
  },
};
