import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * A script for remote tasks that notes in `runs` each time a task begins, is busy for `args.ms`
 * (none if not given), and returns `args.id`. A run whose number for its task (1 for its first)
 * is listed in `args.held` waits first until the test calls `release(run)`: a run held so is
 * surely still running when the test cuts the link or Redis away under it, however slow the
 * machine is.
 */
export function markerScript(root: string): { runs: string; module: string; release: (run: number) => void } {
  const runs = join(root, 'runs.txt');
  writeFileSync(runs, '');
  const gates = join(root, 'gates');
  mkdirSync(gates);
  const module = join(root, 'mark.mjs');
  writeFileSync(
    module,
    `import { appendFileSync, existsSync, readFileSync } from 'node:fs';
export default async (args) => {
  appendFileSync(${JSON.stringify(runs)}, 'begin ' + args.id + '\\n');
  const run = readFileSync(${JSON.stringify(runs)}, 'utf8').split('\\n').filter((line) => line === 'begin ' + args.id).length;
  if ((args.held ?? []).includes(run)) while (!existsSync(${JSON.stringify(gates)} + '/' + run)) await new Promise((resolve) => setTimeout(resolve, 20));
  const until = Date.now() + (args.ms ?? 0);
  while (Date.now() < until);
  return args.id;
};
`,
  );
  return { runs, module, release: (run) => writeFileSync(join(gates, String(run)), '') };
}

/** How many times the task `id` has begun. */
export function begun(runs: string, id: string): number {
  return readFileSync(runs, 'utf8').split('\n').filter((line) => line === `begin ${id}`).length;
}
