/**
 * A worker's `--name` is its own on a queue: a second live worker under it is refused, one
 * started in place of a worker just killed waits for the name to lapse, and a worker whose
 * name another took while Redis could not hear it drains and exits.
 */
import { Redis } from 'ioredis';
import { writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { MACHINE_NAME_EXPECTED } from '../../contract/machine-names.js';
import { workerNameKey } from '../../electron/remote/remote-protocol.js';
import { assertBuilt, expectNoStack, finished, runBin, spawnBin } from '../cli/bin.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';
import { spawnWorker, startWorker } from './remote-fixture.js';

beforeAll(assertBuilt);

describe('threadline worker --name', () => {
  it('refuses a name a local worker goes by, or that is not a name, in one line naming the flag, the value and what is expected, exit 2', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const refused: Array<[string, string]> = [
      ['w1', '"w1" would read as a local worker in task records'],
      ['w007', '"w007" would read as a local worker in task records'],
      ['12', '"12" would read as a local worker in task records'],
      ['loop', '"loop" would read as a local worker in task records'],
      ['Pool', '"Pool" would read as a local worker in task records'],
      ['remote', '"remote" would read as a local worker in task records'],
      ['rack/7', '"rack/7" has "/" in it'],
      ['bäcker', '"bäcker" has "ä" in it'],
      ['', '"" is empty'],
      ['n'.repeat(101), `"${'n'.repeat(40)}…" is 101 characters long`],
      ['two\nlines', '"two\\nlines" has "\\n" in it'],
    ];
    const results = await Promise.all(refused.map(([name]) => runBin(['worker', '--redis', redis.url, '--workers', '1', '--name', name, '--root', root])));
    results.forEach((result, i) => {
      const [name, problem] = refused[i]!;
      expect(result.code, name).toBe(2);
      expect(result.stdout, name).toBe('');
      expect(result.stderr, name).toBe(`threadline: --name: ${problem}; expected ${MACHINE_NAME_EXPECTED}\n`);
      expectNoStack(result.stderr);
    });
    // None of them took a name on the queue or said a word there.
    const client = new Redis(redis.port, '127.0.0.1', { lazyConnect: true });
    onCleanup(() => client.disconnect());
    expect(await client.keys('threadline:*')).toEqual([]);
    // The names next to the refused ones are fine.
    await startWorker(redis.url, 'w1a', root);
    await startWorker(redis.url, 'loop2', root);
  });

  it('refuses a second live worker under a name in use, in one line naming the holder, exit 2', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const first = await startWorker(redis.url, 'build-07', root);
    const second = await runBin(['worker', '--redis', redis.url, '--workers', '1', '--name', 'build-07', '--root', root]);
    expect(second.code).toBe(2);
    const pid = first.child.pid!;
    expect(second.stderr).toBe(
      `threadline worker: the name "build-07" is held by a worker on host ${hostname()} (pid ${pid}); waiting a few seconds for it to lapse\n` +
        `threadline: --name: a worker named "build-07" is already taking tasks on this queue (on host ${hostname()}, pid ${pid}); give each worker its own --name\n`,
    );
    expectNoStack(second.stderr);
    // The first one was not disturbed: another name is still welcome beside it.
    expect(first.child.exitCode).toBeNull();
    await startWorker(redis.url, 'build-08', root);
  });

  it('takes the name of a worker killed without a word once it lapses', async () => {
    const redis = await TestRedis.start();
    const root = tempDir();
    const first = await startWorker(redis.url, 'build-07', root);
    const client = new Redis(redis.port, '127.0.0.1');
    onCleanup(() => client.disconnect());
    const nameKey = workerNameKey('build-07');
    const hold = await client.get(nameKey);
    expect(hold).toContain(`"pid":${first.child.pid}`);
    first.child.kill('SIGKILL');
    await first.exited;
    // The killed worker's hold is kept, as in the moment after the kill, until the next worker has
    // found the name held (it may take longer to start than the hold has left); then it lapses soon.
    await client.set(nameKey, hold!);
    const again = spawnWorker(redis.url, 'build-07', root);
    await waitFor(() => {
      if (again.child.exitCode !== null) throw new Error(`the next worker exited (${again.child.exitCode}):\n${again.output()}`);
      return again.output().includes('waiting a few seconds for it to lapse');
    }, 30_000, 'the next worker to find the name held');
    await client.pexpire(nameKey, 500);
    await again.ready;
    // A worker that drains lets its name go at once: the next one does not wait.
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
    const third = await startWorker(redis.url, 'build-07', root);
    expect(third.output()).not.toContain('waiting');
  });

  it('handles SIGTERM before it says it is ready: a stop sent on reading that line drains, even if the worker is held up right after saying it', async () => {
    const redis = await TestRedis.start();
    // A preload that stalls the worker for a moment just after it writes its ready line, as a
    // busy machine may: a SIGTERM sent on reading the line lands in that moment.
    const preload = join(tempDir(), 'stall-after-ready.cjs');
    writeFileSync(
      preload,
      "const write = process.stdout.write.bind(process.stdout);\n" +
        "process.stdout.write = (chunk, ...rest) => { const done = write(chunk, ...rest); if (String(chunk).startsWith('threadline worker ')) { const until = Date.now() + 300; while (Date.now() < until); } return done; };\n",
    );
    const child = spawnBin(['worker', '--redis', redis.url, '--workers', '1', '--name', 'build-09', '--root', tempDir()], { env: { NODE_OPTIONS: `--require ${preload}` } });
    const exited = finished(child);
    let stdout = '';
    await new Promise<void>((resolve) =>
      child.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        if (stdout.includes('\n')) {
          child.kill('SIGTERM');
          resolve();
        }
      }),
    );
    const end = await exited;
    expect(stdout).toMatch(/^threadline worker build-09: 1 thread on /);
    expect(end.code).toBe(0);
    expect(end.stderr).toContain('SIGTERM: draining');
  });

  it('drains and exits 2 when another worker took its name while it could not reach Redis', async () => {
    const redis = await TestRedis.start();
    const worker = await startWorker(redis.url, 'build-07', tempDir());
    const client = new Redis(redis.port, '127.0.0.1', { lazyConnect: true });
    onCleanup(() => client.disconnect());
    // As a worker elsewhere would have after this one's key lapsed.
    await client.set('threadline:worker:build-07', JSON.stringify({ host: 'elsewhere', pid: 1, id: 'other' }));
    expect((await worker.exited).code).toBe(2);
    expect(worker.output()).toContain('threadline worker: another worker took the name "build-07" while this one could not reach Redis; draining (give each worker its own --name)');
  });
});
