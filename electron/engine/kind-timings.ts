/**
 * Running means of how long each kind takes on a worker. Kinds that prove tiny are batched,
 * so per-task messaging does not dominate their cost.
 */
const TINY_MS = 0.5;
const MIN_SAMPLES = 16;
const WEIGHT = 0.1;

export class KindTimings {
  private readonly stats = new Map<string, { mean: number; samples: number }>();

  record(kind: string, ms: number): void {
    const stat = this.stats.get(kind);
    if (!stat) this.stats.set(kind, { mean: ms, samples: 1 });
    else {
      stat.mean += (ms - stat.mean) * WEIGHT;
      stat.samples++;
    }
  }

  isTiny(kind: string): boolean {
    const stat = this.stats.get(kind);
    return stat !== undefined && stat.samples >= MIN_SAMPLES && stat.mean < TINY_MS;
  }
}
