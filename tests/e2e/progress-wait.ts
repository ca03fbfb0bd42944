/** Waiting for a count that the machine's speed sets, for as long as it keeps moving. */

/**
 * Waits until `read()` gives `target`, for as long as the count keeps changing: fails once it has
 * stayed the same for `stillMs`. Tasks run and bars streamed in take what a loaded machine gives
 * them; a count that stopped short of its target is what the test is there to catch.
 */
export async function waitForCount(read: () => Promise<number>, target: number, what: string, stillMs = 60_000): Promise<void> {
  let last = await read();
  let changedAt = performance.now();
  while (last !== target) {
    if (performance.now() - changedAt > stillMs) throw new Error(`${what}: stayed at ${last} of ${target} for ${stillMs / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
    const now = await read();
    if (now !== last) {
      last = now;
      changedAt = performance.now();
    }
  }
}
