import { randomBytes } from 'node:crypto';

/** Job ids sort by creation time and stay short enough to type: `j-lx2k9q-3f9a`. */
export function newJobId(now = Date.now()): string {
  return `j-${now.toString(36)}-${randomBytes(2).toString('hex')}`;
}

/**
 * `<jobId>:<taskId>`, built flat: a concatenation is a rope of two parts that V8 copies into a
 * flat string the first time the key is hashed or sent to a thread, and then keeps both (72
 * bytes a key instead of 40, a million times in a big job).
 */
export function taskKey(jobId: string, taskId: string): string {
  return [jobId, taskId].join(':');
}

/** Splits `<jobId>:<taskId>`; task ids may themselves contain colons. */
export function splitTaskKey(key: string): { jobId: string; taskId: string } | null {
  const at = key.indexOf(':');
  if (at <= 0 || at === key.length - 1) return null;
  return { jobId: key.slice(0, at), taskId: key.slice(at + 1) };
}
