import { randomBytes } from 'node:crypto';

let lastMillis = -Infinity;
let lastSuffix = 0;

/**
 * Job ids sort by creation time and stay short enough to type: `j-lx2k9q-3f9a`.
 *
 * Within a millisecond the suffix counts up from a random start, so this process never issues
 * the same id twice, however many jobs it takes in one millisecond (a script submitting in a
 * loop does); a clock set back keeps the last millisecond, so the ids still sort in the order
 * they were issued. Two processes meet on an id only if they issue one in the same millisecond
 * from nearby random starts.
 */
export function newJobId(now = Date.now()): string {
  let millis = now;
  let suffix: number;
  if (millis > lastMillis) {
    suffix = randomSuffix();
  } else if (lastSuffix < 0xffff) {
    millis = lastMillis;
    suffix = lastSuffix + 1;
  } else {
    millis = lastMillis + 1;
    suffix = randomSuffix();
  }
  lastMillis = millis;
  lastSuffix = suffix;
  return `j-${millis.toString(36)}-${suffix.toString(16).padStart(4, '0')}`;
}

function randomSuffix(): number {
  return randomBytes(2).readUInt16BE(0);
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
