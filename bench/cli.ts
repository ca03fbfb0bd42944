import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { alternate, type Benchmark } from './harness.js';

const BIN = fileURLToPath(new URL('../../bin/threadline.js', import.meta.url));

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
    ctx.log(`threadline run ${Math.round(candidate)} ms, node -e 0 ${Math.round(baseline)} ms`);
    return { 'cli.start_ratio': candidate / baseline, 'cli.run_ms': candidate };
  },
};
