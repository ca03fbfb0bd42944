import type { z } from 'zod';
import type { demoSleep as spec } from '../../../contract/kinds/demo.js';
import type { LoopTaskContext } from './loop-handler.js';

/** Waits `ms` on a timer of its own; a stop ends the wait at once (`onStop`: no abort signal per wait). */
export function demoSleep(input: z.infer<typeof spec.input>, ctx: LoopTaskContext): Promise<{ sleptMs: number }> {
  const start = performance.now();
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      forget();
      resolve({ sleptMs: Math.round(performance.now() - start) });
    }, input.ms);
    const forget = ctx.onStop((reason) => {
      clearTimeout(timer);
      reject(reason);
    });
  });
}
