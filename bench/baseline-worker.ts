/** The baselines' piscina worker: the same trivial and CPU-bound functions, without the engine. */
export function echo(value: unknown): unknown {
  return value;
}

export function spin(ms: number): number {
  const end = performance.now() + ms;
  let x = 0;
  while (performance.now() < end) for (let i = 0; i < 10_000; i++) x = (x * 1_103_515_245 + 12_345) % 2_147_483_648;
  return x;
}

export default echo;
