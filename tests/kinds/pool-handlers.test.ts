import { describe, expect, it } from 'vitest';
import { KINDS } from '../../contract/kinds/index.js';
import { poolHandler } from '../../workers/handlers/index.js';

describe('pool handlers, loaded per kind', () => {
  it("loads a kind's module on its first task in a thread; later tasks get the same function at once", async () => {
    // Nothing in this file has asked for demo.echo yet: the first ask is a load.
    const first = poolHandler('demo.echo');
    expect(first).toBeInstanceOf(Promise);
    const handler = await first;
    const again = poolHandler('demo.echo');
    expect(again).not.toBeInstanceOf(Promise);
    expect(again).toBe(handler);
    expect(handler!({ value: 'x' } as never, {} as never)).toBe('x');
  });

  it('has a handler for every pool kind and none for loop kinds or unknown names', async () => {
    const pool = KINDS.filter((kind) => kind.executor === 'pool').map((kind) => kind.name);
    expect(pool.length).toBeGreaterThan(0);
    for (const name of pool) expect(typeof (await poolHandler(name)), name).toBe('function');
    for (const kind of KINDS.filter((k) => k.executor === 'loop')) expect(poolHandler(kind.name), kind.name).toBeUndefined();
    for (const name of ['demo.nope', 'toString', '__proto__', 'constructor', '']) expect(poolHandler(name), name).toBeUndefined();
  });
});
