/**
 * `threadline worker` without `--name` goes by its host's name, held to the machine-name rule:
 * a host named like a local worker is refused before Redis is contacted, and a host with a good
 * name is announced under it. Each case runs the real CLI in a UTS namespace of its own
 * (`unshare --uts`), where the test may give it any host name; that needs root, as CI has.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { Redis } from 'ioredis';
import { hostname } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { MACHINE_NAME_EXPECTED } from '../../contract/machine-names.js';
import { ANNOUNCE_CHANNEL, workerNameKey } from '../../electron/remote/remote-protocol.js';
import { assertBuilt, BIN, expectNoStack, finished, ROOT } from '../cli/bin.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';

beforeAll(() => {
  assertBuilt();
  // Without a namespace of its own the test cannot choose a host name: say so, never pass without trying.
  const probe = spawnSync('unshare', ['--uts', 'true'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(`these tests give the worker a host name in a UTS namespace of its own ("unshare --uts"), which needs root (as CI runs): ${probe.error?.message ?? probe.stderr.trim()}`);
  }
});

/** `threadline worker` (no --name) started under host name `host`; killed after the test if still running. */
function workerOnHost(host: string, redisUrl: string, root: string) {
  const child = spawn('unshare', ['--uts', 'sh', '-c', 'hostname "$1" && shift && exec "$@"', 'sh', host, process.execPath, BIN, 'worker', '--redis', redisUrl, '--workers', '1', '--root', root], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

/**
 * How `child` ended; one that is still running long after a refusal would have come is stopped,
 * so that what it said shows in the failure instead of a test timeout.
 */
function refusedOrStopped(child: ChildProcess) {
  const stopper = setTimeout(() => child.kill('SIGKILL'), 30_000);
  return finished(child).finally(() => clearTimeout(stopper));
}

/** How many connections the server has accepted since it started, as its own INFO says. */
async function connectionsReceived(client: Redis): Promise<number> {
  const info = await client.info('stats');
  return Number(/^total_connections_received:(\d+)/m.exec(info)![1]);
}

async function redisClient(redis: TestRedis): Promise<Redis> {
  const client = new Redis(redis.port, '127.0.0.1', { lazyConnect: true, maxRetriesPerRequest: 1 });
  onCleanup(() => client.disconnect());
  await client.connect();
  return client;
}

describe('threadline worker without --name', () => {
  it('refuses a host name that reads as a local worker, in one line and before contacting Redis, exit 2', async () => {
    const redis = await TestRedis.start();
    const client = await redisClient(redis);
    const before = await connectionsReceived(client);
    const root = tempDir();
    const hosts = ['w1', 'W12', '7', 'loop', 'POOL', 'Remote'];
    const results = await Promise.all(hosts.map((host) => refusedOrStopped(workerOnHost(host, redis.url, root))));
    results.forEach((result, i) => {
      const host = hosts[i]!;
      expect(result.stdout, host).toBe('');
      expect(result.stderr, host).toBe(`threadline: --name (not given, so this host's name): "${host}" would read as a local worker in task records; expected ${MACHINE_NAME_EXPECTED}\n`);
      expect(result.code, host).toBe(2);
      expectNoStack(result.stderr);
    });
    // Not one of them connected: the server counts only this test's own connection.
    expect(await connectionsReceived(client)).toBe(before);
    expect(await client.keys('threadline:*')).toEqual([]);
    // The test's own host name was never touched.
    expect(hostname()).not.toMatch(/^(w?\d+|loop|pool|remote)$/i);
  });

  it('takes a good host name as its own: announces itself under it and holds it on the queue', async () => {
    const redis = await TestRedis.start();
    const client = await redisClient(redis);
    const listener = await redisClient(redis);
    const heard: Array<{ name: string; host: string; state: string }> = [];
    listener.on('message', (_channel: string, text: string) => heard.push(JSON.parse(text) as { name: string; host: string; state: string }));
    await listener.subscribe(ANNOUNCE_CHANNEL);

    const root = tempDir();
    const child = workerOnHost('build-box', redis.url, root);
    const run = finished(child);
    let stdout = '';
    child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    await waitFor(() => {
      if (child.exitCode !== null) throw new Error(`the worker exited (${child.exitCode}) before it was ready`);
      return stdout.includes('\n');
    }, 30_000, 'the worker to be ready');
    expect(stdout).toBe(`threadline worker build-box: 1 thread on ${redis.url}, root ${root}\n`);
    await waitFor(() => heard.some((a) => a.name === 'build-box' && a.state === 'ready'), 30_000, 'an announcement under build-box');
    // Its namespace's host name is the one it reports, and every announcement is under it.
    expect(heard.every((a) => a.name === 'build-box' && a.host === 'build-box')).toBe(true);
    expect(JSON.parse((await client.get(workerNameKey('build-box')))!)).toMatchObject({ host: 'build-box', pid: child.pid });

    child.kill('SIGTERM');
    const end = await run;
    expect(end.code).toBe(0);
    expectNoStack(end.stderr);
    // A drained worker lets its name go.
    expect(await client.get(workerNameKey('build-box'))).toBeNull();
  });
});
