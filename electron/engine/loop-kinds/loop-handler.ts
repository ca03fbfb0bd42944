import type { TaskLogLine } from '../../../contract/records.js';

/** What an async (event-loop) kind gets besides its input. */
export interface LoopTaskContext {
  readonly key: string;
  readonly attempt: number;
  /** Aborted when the task is cancelled or times out; pass it to whatever you await. */
  readonly signal: AbortSignal;
  /**
   * Calls `listener` once, when the task is asked to stop (at once if it was already); the
   * function returned forgets it. For a handler that only waits on a timer of its own: cheaper
   * than `signal`, which is made only for a handler that reads it.
   */
  onStop(listener: (reason: Error) => void): () => void;
  progress(fraction: number | null, message?: string): void;
  log(message: string, level?: TaskLogLine['level']): void;
}

export type LoopHandler<Input> = (input: Input, ctx: LoopTaskContext) => Promise<unknown>;
