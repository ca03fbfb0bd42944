import { setTimeout as sleep } from 'node:timers/promises';
import type { z } from 'zod';
import type { demoSleep as spec } from '../../../contract/kinds/demo.js';
import type { LoopTaskContext } from './loop-handler.js';

export async function demoSleep(input: z.infer<typeof spec.input>, ctx: LoopTaskContext): Promise<{ sleptMs: number }> {
  const start = performance.now();
  await sleep(input.ms, undefined, { signal: ctx.signal });
  return { sleptMs: Math.round(performance.now() - start) };
}
