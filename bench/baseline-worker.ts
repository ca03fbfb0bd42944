/** The baselines' piscina worker: the same trivial and CPU-bound functions, without the engine. */
export function echo(value: unknown): unknown {
  return value;
}

/** The same 64-task batches the engine sends, answered the way the engine's worker answers them. */
export function echoBatch(values: unknown[]): unknown[] {
  return values.map((value) => echo(value));
}

/** `rounds` rounds of the same 10,000 steps `demo.cpu` takes: a fixed amount of work, whatever the time. */
export function crunch(rounds: number): number {
  let x = 0;
  for (let round = 0; round < rounds; round++) for (let i = 0; i < 10_000; i++) x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
  return x;
}

export default echo;
