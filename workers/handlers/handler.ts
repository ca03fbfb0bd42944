import type { TaskContext } from '../task-context.js';

/** A pool kind's implementation: a plain function of its validated input. */
export type TaskHandler<Input> = (input: Input, ctx: TaskContext) => unknown;
