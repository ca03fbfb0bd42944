/**
 * `--redis` URLs a careless hand writes: a `%` that is no percent-encoding in the user name or
 * password, and a database the server does not have. ioredis reports a refused SELECT only as an
 * event and goes on in database 0, where a queue meant to be apart would meet another's workers:
 * each is refused in one line before anything is written, exit 2.
 */
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, expectNoStack, jobFile, runBin } from '../cli/bin.js';
import { onCleanup, tempDir } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';
import { startWorker } from './remote-fixture.js';

beforeAll(assertBuilt);

async function keysIn(redis: TestRedis, db: number): Promise<string[]> {
  const client = new Redis(redis.port, '127.0.0.1', { db, lazyConnect: true });
  onCleanup(() => client.disconnect());
  return client.keys('*');
}

describe('--redis URLs at the edge', () => {
  it('refuses a user name or password that is not valid percent-encoding, without showing the password', async () => {
    const results = await Promise.all([
      runBin(['worker', '--redis', 'redis://%zz@127.0.0.1:1', '--name', 'box', '--root', tempDir()]),
      runBin(['worker', '--redis', 'redis://user:se%cret@127.0.0.1:1', '--name', 'box', '--root', tempDir()]),
      runBin(['run', jobFile({ name: 'x', tasks: [{ id: 'a', kind: 'demo.echo' }] }), '--redis', 'redis://user:se%cret@127.0.0.1:1', '--data-dir', tempDir()]),
    ]);
    const expected = [
      'threadline: --redis: the user name in the URL is not valid percent-encoding (a "%" must start %XX, and "%25" is a "%" itself)\n',
      'threadline: --redis: the password in the URL is not valid percent-encoding (a "%" must start %XX, and "%25" is a "%" itself)\n',
      'threadline: --redis: the password in the URL is not valid percent-encoding (a "%" must start %XX, and "%25" is a "%" itself)\n',
    ];
    results.forEach((result, i) => {
      expect(result.stderr).toBe(expected[i]);
      expect(result.stderr).not.toContain('cret');
      expectNoStack(result.stderr);
      expect(result.code).toBe(2);
    });
  });

  it('refuses a database the server does not have, before anything is written to database 0; one it has is used', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const worker = await runBin(['worker', '--redis', `${redis.url}/99`, '--name', 'box', '--workers', '1', '--root', root]);
    expect(worker.stderr).toBe(`threadline: cannot use database 99 of Redis at ${redis.url}/99: ERR DB index is out of range\n`);
    expect(worker.code).toBe(2);
    const run = await runBin(['run', jobFile({ name: 'x', tasks: [{ id: 'a', kind: 'demo.echo' }] }), '--redis', `${redis.url}/99`, '--data-dir', tempDir()]);
    expect(run.stderr).toBe(`threadline: cannot use database 99 of Redis at ${redis.url}/99: ERR DB index is out of range\n`);
    expect(run.code).toBe(2);
    expect(await keysIn(redis, 0)).toEqual([]);

    // The last of the server's 16 databases is taken, and holds the worker's keys alone.
    await startWorker(`${redis.url}/15`, 'box', root);
    expect(await keysIn(redis, 15)).toContain('threadline:worker:box');
    expect(await keysIn(redis, 0)).toEqual([]);
  });
});
