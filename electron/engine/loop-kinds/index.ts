import { demoSleep } from './demo-sleep.js';
import { httpFetch } from './http-fetch.js';
import type { KindInput, KindNameOn } from '../../../contract/kinds/index.js';
import type { LoopHandler } from './loop-handler.js';

/** The handler of every async kind, run on the event loop: a loop kind without one is a type error. */
export const LOOP_HANDLERS: { readonly [Name in KindNameOn<'loop'>]: LoopHandler<KindInput<Name>> } = {
  'demo.sleep': demoSleep,
  'http.fetch': httpFetch,
};

/** The handler of a loop kind, or undefined; its input was validated against the kind's schema at admission. */
export function loopHandler(kind: string): LoopHandler<unknown> | undefined {
  return Object.hasOwn(LOOP_HANDLERS, kind) ? (LOOP_HANDLERS[kind as KindNameOn<'loop'>] as LoopHandler<unknown>) : undefined;
}
