/**
 * What a client that can write to Redis costs the orchestrator by announcing workers under good
 * names, on a real redis-server with announcements published on the channel as a forger would:
 * a flood of distinct names stays within the machines kept, in the roster and in the /metrics
 * text, with one host notice; lost machines are forgotten after a while (shortened here), unless
 * tasks run there; a forged thread count is refused and adds no room; a real worker still runs
 * tasks once the forged names are forgotten.
 */
import { Redis } from 'ioredis';
import parsePrometheus from 'parse-prometheus-text-format';
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { RemoteMachine } from '../../contract/telemetry.js';
import { MAX_WORKER_THREADS } from '../../electron/cli/options.js';
import { LoopExecutor } from '../../electron/engine/loop-executor.js';
import type { Task } from '../../electron/engine/task.js';
import { createMetrics } from '../../electron/hosts/metrics.js';
import { parseRedisUrl } from '../../electron/remote/redis-url.js';
import { RemoteExecutor } from '../../electron/remote/remote-executor.js';
import { ANNOUNCE_CHANNEL, LOST_AFTER_MS, MAX_ANNOUNCED_THREADS, type WorkerAnnouncement } from '../../electron/remote/remote-protocol.js';
import { MAX_MACHINES, ROSTER_LIMITS, WorkerRoster, type RosterLimits } from '../../electron/remote/worker-roster.js';
import { assertBuilt } from '../cli/bin.js';
import { makeEngine, onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';
import { Recorder, TaskFeed, startWorker } from './remote-fixture.js';

function announcement(name: string, overrides: Partial<WorkerAnnouncement> = {}): WorkerAnnouncement {
  return { name, host: 'forged-host', threads: 2, running: 0, state: 'ready', rssBytes: 1, loopDelayP99Ms: 1, ...overrides };
}

async function executorWith(redis: TestRedis, recorder: Recorder, limits: RosterLimits = ROSTER_LIMITS): Promise<RemoteExecutor> {
  const executor = new RemoteExecutor(parseRedisUrl(redis.url), recorder, false, limits);
  onCleanup(() => executor.close());
  await executor.ready();
  return executor;
}

async function publisherOf(redis: TestRedis): Promise<Redis> {
  const publisher = new Redis(redis.port, '127.0.0.1');
  onCleanup(() => publisher.disconnect());
  return publisher;
}

/**
 * Publishes announcements on one connection, then `honest` (already listed) with a fresh host as
 * a marker: once the executor lists that host, every announcement before it was taken.
 */
async function announceInOrder(publisher: Redis, executor: RemoteExecutor, announcements: WorkerAnnouncement[], honest: Partial<WorkerAnnouncement> = {}): Promise<void> {
  const marker = `marker-${Math.random().toString(36).slice(2)}`;
  const pipeline = publisher.pipeline();
  for (const a of announcements) pipeline.publish(ANNOUNCE_CHANNEL, JSON.stringify(a));
  pipeline.publish(ANNOUNCE_CHANNEL, JSON.stringify(announcement('honest', { ...honest, host: marker })));
  await pipeline.exec();
  await waitFor(() => executor.machines().some((m) => m.name === 'honest' && m.host === marker), 60_000, 'the announcements to arrive');
}

const TURNED_AWAY_FULL = (max: number, first: string) =>
  `remote workers announced themselves while this orchestrator already lists the ${max} machines it keeps (the first turned away: "${first}" on host "forged-host"), so they are not listed and their threads add no room for tasks; ` +
  'a lost machine is forgotten after a while and makes room, and names nobody started mean someone who can write to Redis is announcing forged workers';

describe('the roster of remote machines under announcements a writer to Redis forges', () => {
  it('keeps at most MAX_MACHINES under a flood of distinct names, in the roster and the /metrics text, with one notice', async () => {
    const redis = await TestRedis.start();
    const publisher = await publisherOf(redis);
    const recorder = new Recorder();
    const executor = await executorWith(redis, recorder);
    // The metrics of a real engine whose executor reports this remote executor's machines.
    const engine = makeEngine({
      poolSize: 1,
      telemetryIntervalMs: 60_000,
      executors: { loop: (listener) => Object.assign(new LoopExecutor(4, listener), { machines: (): RemoteMachine[] => executor.machines() }) },
    });
    const metrics = createMetrics(engine);
    onCleanup(() => metrics.close());

    await announceInOrder(publisher, executor, []);
    const flood = Array.from({ length: 3 * MAX_MACHINES }, (_, i) => announcement(`forged-${i}`));
    for (let at = 0; at < flood.length; at += 1000) await announceInOrder(publisher, executor, flood.slice(at, at + 1000));
    // Heartbeats of every name again: the ones kept stay, the others stay out, nothing more is said.
    await announceInOrder(publisher, executor, flood);

    const names = executor.machines().map((m) => m.name);
    expect(names).toHaveLength(MAX_MACHINES);
    expect(names.slice(0, 3)).toEqual(['honest', 'forged-0', 'forged-1']);
    expect(names).not.toContain(`forged-${MAX_MACHINES - 1}`);
    expect(executor.notices()).toEqual([{ code: 'REMOTE_WORKER_TURNED_AWAY', since: expect.any(Number), message: TURNED_AWAY_FULL(MAX_MACHINES, `forged-${MAX_MACHINES - 1}`) }]);
    expect(recorder.noticeChanges).toBe(1);

    engine.sampleTelemetry();
    const families = parsePrometheus(await metrics.render());
    const perMachine = families.filter((f) => f.metrics.some((m) => 'machine' in (m.labels ?? {})));
    expect(perMachine.length).toBeGreaterThan(0);
    for (const family of perMachine) {
      const machines = new Set(family.metrics.map((m) => m.labels!.machine));
      expect(machines.size, family.name).toBe(MAX_MACHINES);
      expect(machines.has(`forged-${2 * MAX_MACHINES}`), family.name).toBe(false);
    }
  }, 180_000);

  it('forgets a lost machine after the while, makes room for a new name then, and clears the notice', async () => {
    const redis = await TestRedis.start();
    const publisher = await publisherOf(redis);
    const recorder = new Recorder();
    const executor = await executorWith(redis, recorder, { forgetLostAfterMs: 1000, maxMachines: 3 });
    await announceInOrder(publisher, executor, []);

    await announceInOrder(publisher, executor, [announcement('forged-a'), announcement('forged-b'), announcement('forged-c')]);
    expect(executor.machines().map((m) => m.name)).toEqual(['honest', 'forged-a', 'forged-b']);
    expect(executor.notices().map((n) => n.message)).toEqual([TURNED_AWAY_FULL(3, 'forged-c')]);

    // honest keeps announcing; the forged names stop: lost after LOST_AFTER_MS, forgotten a while later.
    const beat = () => void publisher.publish(ANNOUNCE_CHANNEL, JSON.stringify(announcement('honest'))).catch(() => {});
    const heartbeat = setInterval(beat, 500);
    onCleanup(() => clearInterval(heartbeat));
    await waitFor(() => executor.machines().some((m) => m.state === 'lost'), LOST_AFTER_MS + 20_000, 'the forged machines to be lost');
    await waitFor(() => executor.machines().length === 1, 20_000, 'the lost machines to be forgotten');
    expect(executor.machines().map((m) => [m.name, m.state])).toEqual([['honest', 'ready']]);
    await waitFor(() => executor.notices().length === 0, 20_000, 'the notice to clear');
    expect(recorder.noticeChanges).toBe(2);

    // Room again: the name turned away is taken now. The heartbeat stops first: one sent on the
    // same connection right after the marker would replace the marker's host before it is seen.
    clearInterval(heartbeat);
    await announceInOrder(publisher, executor, [announcement('forged-c')]);
    expect(executor.machines().map((m) => m.name)).toEqual(['honest', 'forged-c']);
  }, 90_000);

  it('keeps a lost machine with tasks recorded as running there, and forgets it once they end', () => {
    let now = 1_000_000;
    const roster = new WorkerRoster(() => now, { forgetLostAfterMs: 60_000, maxMachines: 2 });
    expect(roster.heard(announcement('busy'))).toBe(true);
    expect(roster.heard(announcement('idle'))).toBe(true);
    expect(roster.hasRoomFor(announcement('third'))).toBe(false);
    expect(roster.heard(announcement('third'))).toBe(false);
    expect(roster.size).toBe(2);

    let running = 1;
    const runningOn = (name: string) => (name === 'busy' ? running : 0);
    now += LOST_AFTER_MS + 60_000;
    expect(roster.forgetLost(runningOn)).toBe(false);
    expect(roster.machines(runningOn).map((m) => [m.name, m.state])).toEqual([['busy', 'lost'], ['idle', 'lost']]);
    now += 1;
    expect(roster.forgetLost(runningOn)).toBe(true);
    expect(roster.machines(runningOn).map((m) => m.name)).toEqual(['busy']);
    running = 0;
    expect(roster.forgetLost(runningOn)).toBe(true);
    expect(roster.size).toBe(0);
    expect(roster.hasRoomFor(announcement('third'))).toBe(true);
  });

  it('refuses an announcement claiming more threads than a worker may have: it adds no room, and the notice says why', async () => {
    expect(MAX_ANNOUNCED_THREADS).toBe(MAX_WORKER_THREADS);
    const redis = await TestRedis.start();
    const publisher = await publisherOf(redis);
    const recorder = new Recorder();
    const executor = await executorWith(redis, recorder);

    await announceInOrder(publisher, executor, [announcement('greedy', { threads: 1_000_000 }), announcement('greedy', { threads: MAX_ANNOUNCED_THREADS + 1 })], { threads: 1 });
    expect(executor.machines().map((m) => m.name)).toEqual(['honest']);
    expect(executor.notices()).toEqual([
      {
        code: 'REMOTE_WORKER_TURNED_AWAY',
        since: expect.any(Number),
        message: `a remote worker announced more threads than a worker may have ("greedy" on host "forged-host", with 1000000, over ${MAX_ANNOUNCED_THREADS}), so its announcement is ignored and its threads add no room for tasks; start it with --workers ${MAX_ANNOUNCED_THREADS} or fewer`,
      },
    ]);
    expect(recorder.noticeChanges).toBe(1);

    // The room on Redis is two jobs per thread of `honest`, the forged count lifts nothing.
    const feed = new TaskFeed(tempDir());
    for (let i = 0; i < 50; i++) feed.task(`t-${i}`, 'file.hash', { paths: ['/nonexistent'] });
    const taken: Task[] = [];
    executor.fill((request) => {
      const task = feed.next(request);
      if (task) taken.push(task);
      return task;
    });
    expect(taken).toHaveLength(2);

    // The bound itself is a worker's right.
    await announceInOrder(publisher, executor, [announcement('big', { threads: MAX_ANNOUNCED_THREADS })], { threads: 1 });
    expect(executor.machines().map((m) => [m.name, m.threads])).toEqual([['honest', 1], ['big', MAX_ANNOUNCED_THREADS]]);
  });

  it('runs a real worker\'s tasks once the forged names that filled the roster are forgotten', async () => {
    assertBuilt();
    const redis = await TestRedis.start();
    const publisher = await publisherOf(redis);
    const recorder = new Recorder();
    const executor = await executorWith(redis, recorder, { forgetLostAfterMs: 1000, maxMachines: 3 });
    await announceInOrder(publisher, executor, []);

    await announceInOrder(publisher, executor, Array.from({ length: 10 }, (_, i) => announcement(`forged-${i}`)));
    expect(executor.machines()).toHaveLength(3);
    expect(executor.notices().map((n) => n.code)).toEqual(['REMOTE_WORKER_TURNED_AWAY']);
    // The forgers stop (and so does the marker): all of them are forgotten.
    await waitFor(() => executor.machines().length === 0, LOST_AFTER_MS + 30_000, 'the forged machines to be forgotten');

    const root = tempDir();
    writeFileSync(join(root, 'data.txt'), 'hello');
    await startWorker(redis.url, 'build-1', root, 1);
    await waitFor(() => executor.machines().some((m) => m.name === 'build-1' && m.state === 'ready'), 20_000, 'build-1 to be listed');
    // A task held on its thread until the test lets it go: the machine counts it as running.
    const hold = join(root, 'hold');
    writeFileSync(hold, '');
    writeFileSync(join(root, 'held.mjs'), `import { existsSync } from 'node:fs'; export default () => { while (existsSync(${JSON.stringify(hold)})); return 'let go'; };`);
    const feed = new TaskFeed(root);
    const held = feed.task('held', 'script', { module: join(root, 'held.mjs'), export: 'default' });
    const hash = feed.task('hash', 'file.hash', { paths: [join(root, 'data.txt')] });
    executor.fill(feed.next);
    await waitFor(() => executor.machines().find((m) => m.name === 'build-1' && m.running === 1), 20_000, 'the held task to run on build-1');
    rmSync(hold);
    expect(await recorder.ended(held)).toMatchObject({ type: 'succeeded', worker: 'build-1/1', result: 'let go' });
    const outcome = await recorder.ended(hash);
    const expected = execFileSync('sha256sum', [join(root, 'data.txt')], { encoding: 'utf8' }).split(' ')[0];
    expect(outcome).toMatchObject({ type: 'succeeded', worker: 'build-1/1', result: { files: [{ digest: expected }] } });
    expect(executor.machines().map((m) => [m.name, m.running])).toEqual([['build-1', 0]]);
    expect(executor.notices()).toEqual([]);
  }, 90_000);
});
