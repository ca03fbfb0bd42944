import type { TaskLogLine } from '../../../contract/records.js';

/** What an async (event-loop) kind gets besides its input. */
export interface LoopTaskContext {
  readonly key: string;
  readonly attempt: number;
  /** Aborted when the task is cancelled or times out; pass it to whatever you await. */
  readonly signal: AbortSignal;
  progress(fraction: number | null, message?: string): void;
  log(message: string, level?: TaskLogLine['level']): void;
}

export type LoopHandler<Input> = (input: Input, ctx: LoopTaskContext) => Promise<unknown>;
