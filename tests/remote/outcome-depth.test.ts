/**
 * What the orchestrator reads from Redis is held to its shape before anything walks it: an
 * outcome whose result nests deeper than a worker would send (a forged one) is refused as a bad
 * reply, instead of overflowing the stack of the size check or the store that would read it.
 */
import { describe, expect, it } from 'vitest';
import { parseWire, remoteOutcomeSchema } from '../../electron/remote/remote-protocol.js';
import { MAX_NESTING_DEPTH } from '../../shared/nesting.js';

/** An outcome as a worker writes it to Redis, its result `depth` arrays deep. */
function outcomeText(depth: number): string {
  return `{"type":"succeeded","startedAt":1,"finishedAt":2,"worker":"build-07/1","result":${'['.repeat(depth)}${']'.repeat(depth)}}`;
}

describe('a remote outcome nested past the limit', () => {
  it('is refused by the wire schema, naming the result; one at the limit is read whole', () => {
    for (const depth of [MAX_NESTING_DEPTH + 1, 100_000]) {
      expect(parseWire(remoteOutcomeSchema, outcomeText(depth))).toEqual({ ok: false, problem: `the result nests arrays and objects more than ${MAX_NESTING_DEPTH} levels deep` });
    }
    const read = parseWire(remoteOutcomeSchema, outcomeText(MAX_NESTING_DEPTH));
    expect(read.ok).toBe(true);
    expect(JSON.stringify(read.ok && read.data.type === 'succeeded' ? read.data.result : null)).toBe(`${'['.repeat(MAX_NESTING_DEPTH)}${']'.repeat(MAX_NESTING_DEPTH)}`);
  });
});
