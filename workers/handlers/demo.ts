import type { z } from 'zod';
import type { demoAlloc, demoBlock, demoCpu, demoEcho, demoFail } from '../../contract/kinds/demo.js';
import type { TaskContext } from '../task-context.js';

type Input<K extends { input: z.ZodObject }> = z.infer<K['input']>;

export function echo(input: Input<typeof demoEcho>): unknown {
  return input.value ?? null;
}

export function cpu(input: Input<typeof demoCpu>, ctx: TaskContext): { iterations: number } {
  const end = performance.now() + input.ms;
  let iterations = 0;
  let nextCheck = performance.now() + 1;
  let x = 0;
  for (;;) {
    for (let i = 0; i < 10_000; i++) x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
    iterations++;
    const now = performance.now();
    if (input.rounds === undefined ? now >= end : iterations >= input.rounds) break;
    if (input.cooperative && now >= nextCheck) {
      ctx.throwIfCancelled();
      ctx.progress(1 - (end - now) / input.ms);
      nextCheck = now + 1;
    }
  }
  return { iterations: iterations + (x & 0) };
}

const blocker = new Int32Array(new SharedArrayBuffer(4));

export function block(input: Input<typeof demoBlock>, ctx: TaskContext): { blockedMs: number } {
  // Said before the block, so a watcher knows the thread is stuck inside it from here on.
  ctx.progress(0, 'blocking');
  const start = performance.now();
  Atomics.wait(blocker, 0, 0, input.ms);
  return { blockedMs: Math.round(performance.now() - start) };
}

export function alloc(input: Input<typeof demoAlloc>): { allocatedMb: number } {
  // Many small objects, so the V8 heap (and its limit) sees them, unlike one big ArrayBuffer.
  const held: number[][] = [];
  const perMb = 1024 * 1024 / 8 / 1024;
  for (let mb = 0; mb < input.mb; mb++) {
    for (let i = 0; i < perMb; i++) held.push(new Array<number>(1024).fill(mb));
  }
  if (input.holdMs > 0) Atomics.wait(blocker, 0, 0, input.holdMs);
  return { allocatedMb: held.length / perMb };
}

export function fail(input: Input<typeof demoFail>, ctx: TaskContext): never {
  if (input.ms > 0) cpu({ ms: input.ms, cooperative: true }, ctx);
  const error = new Error(input.message);
  (error as Error & { code: string }).code = 'DEMO_FAILURE';
  throw error;
}
