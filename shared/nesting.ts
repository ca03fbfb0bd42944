/**
 * How deep a task's input or result may nest arrays and objects. A value crosses threads as a
 * structured clone and reaches the store as JSON, and both recurse once per level on the stack of
 * the thread that reads or writes it: the main thread's stack runs out near 2,000 levels, and a
 * value it cannot read back leaves its task without an end. Real inputs and results nest a few
 * levels; this bound keeps a wide margin below the stack and refuses the rest by name.
 */
export const MAX_NESTING_DEPTH = 512;

/** What a refusal says after the path that leads too deep. */
export const TOO_DEEP = `nests arrays and objects more than ${MAX_NESTING_DEPTH} levels deep; the limit is ${MAX_NESTING_DEPTH}`;

/** How a path shows an object's key: `.name` when it reads as one, else `["a key"]`. */
export function keySegment(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/**
 * Where `value` nests more than `max` arrays and objects deep, as the path of its first levels on
 * the way down (`.tasks[3].value[0]`, enough to find the place), or null when it does not. A
 * cycle counts as too deep. Recurses at most `max` levels, however deep the value. An object
 * shared many times over is walked once per reference: what it is given is a tree (job text is
 * JSON, or YAML whose parser refuses alias bombs; handlers' results are built or parsed anew).
 */
export function tooDeepAt(value: unknown, max = MAX_NESTING_DEPTH): string | null {
  const path: string[] = [];
  return exceeds(value, max, path) ? path.reverse().slice(0, 5).join('') : null;
}

/** Whether `value` holds more than `left` levels; on the way back up, the keys that led there (innermost first). */
function exceeds(value: unknown, left: number, path: string[]): boolean {
  if (typeof value !== 'object' || value === null || ArrayBuffer.isView(value)) return false;
  if (left === 0) return true;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      if (exceeds(value[i], left - 1, path)) return path.push(`[${i}]`) > 0;
    }
    return false;
  }
  for (const key of Object.keys(value)) {
    if (exceeds((value as Record<string, unknown>)[key], left - 1, path)) return path.push(keySegment(key)) > 0;
  }
  return false;
}
