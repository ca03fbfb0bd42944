import { z } from 'zod';
import { defineKind } from './kind-spec.js';
import { pathSchema } from './path-list.js';

export const script = defineKind({
  name: 'script',
  executor: 'pool',
  summary: 'Calls a function exported by your own module on the pool: fn(args, ctx), with ctx.call for async services.',
  input: () => z.object({
    /** A JavaScript module (.js, .mjs or .cjs). */
    module: pathSchema('expected the path of a JavaScript module'),
    export: z.string().min(1).default('default'),
    /** Passed to the function as its first argument. */
    args: z.unknown().optional(),
  }),
  resolvePaths: (input, resolve) => ({ ...input, module: resolve.file(input.module) }),
});
