/**
 * How many items of some work fit in a time budget on this machine, learned from how long the
 * last batches took: the store writer's rows per transaction, a view's task records per delta.
 */
export class BatchSizer {
  size: number;

  constructor(private readonly limits: { budgetMs: number; initial: number; min: number; max: number }) {
    this.size = limits.initial;
  }

  /** After a batch of `items` took `elapsedMs`: moves the size halfway towards what would have taken the budget. Small batches teach nothing. */
  observe(items: number, elapsedMs: number): void {
    const { budgetMs, min, max } = this.limits;
    if (items < min) return;
    const fitted = (items * budgetMs) / Math.max(elapsedMs, 0.1);
    this.size = Math.round(Math.min(max, Math.max(min, (this.size + fitted) / 2)));
  }
}
