import type { z } from 'zod';
import type { KindExecutor } from '../task-states.js';

/** Turns a path from a job file into an absolute one (relative to the job file's folder). */
export interface PathResolver {
  file(path: string): string;
  /** Like `file`, but keeps glob syntax in the pattern working. */
  glob(pattern: string): string;
}

/**
 * The contract of one task kind: the fields a job file gives it, and where it runs.
 * The handler itself lives with its executor: `workers/handlers/` for pool kinds,
 * `electron/engine/loop-kinds/` for loop kinds.
 */
export interface KindSpec<Schema extends z.ZodObject = z.ZodObject, Name extends string = string, Executor extends KindExecutor = KindExecutor> {
  name: Name;
  executor: Executor;
  /** One line for `--help`, docs and the renderer's forms. */
  summary: string;
  /** The kind's own fields of a task (the common fields are added by the job schema). */
  input: Schema;
  /** Rewrites the path fields of a validated input so they no longer depend on the cwd. */
  resolvePaths?: (input: z.infer<Schema>, resolve: PathResolver) => z.infer<Schema>;
}

/** What a kind's module declares: a `KindSpec` whose input schema is made by a function. */
export type KindDefinition<Schema extends z.ZodObject, Name extends string, Executor extends KindExecutor> = Omit<KindSpec<Schema, Name, Executor>, 'input'> & {
  input: () => Schema;
};

/**
 * Keeps the kind's name and executor as literal types, so handler maps can be checked against the
 * kinds. The input schema is built the first time it is read: building every kind's schema costs
 * a command's start more than reading the job file that uses one or two of them.
 */
export function defineKind<const Name extends string, const Executor extends KindExecutor, Schema extends z.ZodObject>(
  definition: KindDefinition<Schema, Name, Executor>,
): KindSpec<Schema, Name, Executor> {
  const { input: makeInput, ...rest } = definition;
  let input: Schema | undefined;
  return {
    ...rest,
    get input() {
      return (input ??= makeInput());
    },
  };
}
