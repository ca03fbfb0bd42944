import { setImmediate as nextTurn } from 'node:timers/promises';

/**
 * Cuts a long loop into slices of a few milliseconds with a turn of the event loop between them,
 * so that timers, sockets and worker messages are served while a big job is admitted.
 */
export class TimeSlicer {
  private sliceStartedAt = performance.now();

  constructor(private readonly budgetMs: number) {}

  /** True once the current slice has used its budget. */
  get due(): boolean {
    return performance.now() - this.sliceStartedAt >= this.budgetMs;
  }

  /** Lets the loop run (I/O, then timers), then starts a new slice. */
  async yield(): Promise<void> {
    await nextTurn();
    this.sliceStartedAt = performance.now();
  }
}
