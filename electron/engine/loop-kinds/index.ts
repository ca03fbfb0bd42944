import { demoSleep } from './demo-sleep.js';
import { httpFetch } from './http-fetch.js';
import type { LoopHandler } from './loop-handler.js';

/** The async kinds, run on the event loop by the loop executor. */
export const LOOP_HANDLERS: Readonly<Record<string, LoopHandler<never>>> = {
  'demo.sleep': demoSleep,
  'http.fetch': httpFetch,
};
