import { z } from 'zod';
import { defineKind } from './kind-spec.js';

const milliseconds = z.number().int().min(0).max(86_400_000);

export const demoEcho = defineKind({
  name: 'demo.echo',
  executor: 'pool',
  summary: 'Returns its `value` at once: the smallest possible task, for dispatch measurements.',
  input: () => z.object({ value: z.unknown().optional() }),
});

export const demoCpu = defineKind({
  name: 'demo.cpu',
  executor: 'pool',
  summary:
    'Busy CPU work for `ms` milliseconds, or, with `rounds`, exactly that many rounds of 10,000 steps whatever the time (a fixed amount of work). Checks the cancel flag every millisecond unless `cooperative` is false.',
  input: () => z.object({ ms: milliseconds, rounds: z.number().int().min(1).max(1_000_000_000).optional(), cooperative: z.boolean().default(true) }),
});

export const demoBlock = defineKind({
  name: 'demo.block',
  executor: 'pool',
  summary: 'Blocks its thread for `ms` milliseconds, like a synchronous sleep; never checks the cancel flag.',
  input: () => z.object({ ms: milliseconds }),
});

export const demoAlloc = defineKind({
  name: 'demo.alloc',
  executor: 'pool',
  summary: 'Allocates `mb` MiB of JavaScript objects and holds them for `holdMs` milliseconds.',
  input: () => z.object({ mb: z.number().min(0).max(65_536), holdMs: milliseconds.default(0) }),
});

export const demoFail = defineKind({
  name: 'demo.fail',
  executor: 'pool',
  summary: 'Throws an error with `message` (after `ms` milliseconds of work, default 0).',
  input: () => z.object({ message: z.string().default('demo failure'), ms: milliseconds.default(0) }),
});

export const demoSleep = defineKind({
  name: 'demo.sleep',
  executor: 'loop',
  summary: 'Waits `ms` milliseconds on the event loop without blocking it.',
  input: () => z.object({ ms: milliseconds }),
});

export const demoKinds = [demoEcho, demoCpu, demoBlock, demoAlloc, demoFail, demoSleep];
