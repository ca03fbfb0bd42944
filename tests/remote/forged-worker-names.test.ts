/**
 * The orchestrator holds what workers say about themselves to the naming rule of
 * `threadline worker --name`: on a real redis-server, announcements under a name a local worker
 * goes by are not believed, and a task whose worker reports running it, or ending it, as a local
 * worker (`w1`, `loop`) ends `REMOTE_BAD_REPLY` naming that worker, instead of being recorded as
 * if the orchestrator's own thread or event loop had run it. The worker here is a BullMQ worker
 * of the test's own, speaking the wire as a worker of another version, or a forger, would:
 * `threadline worker` itself refuses such names before it reaches Redis.
 */
import { Worker, type Job as QueueJob } from 'bullmq';
import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { ANNOUNCE_CHANNEL, KEY_PREFIX, TASK_QUEUE, type RemoteTask, type WorkerAnnouncement } from '../../electron/remote/remote-protocol.js';
import { onCleanup, tempDir } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';
import { Recorder, TaskFeed, remoteExecutor, workersHeard } from './remote-fixture.js';

function announcement(name: string): WorkerAnnouncement {
  return { name, host: 'forged-host', threads: 2, running: 0, state: 'ready', rssBytes: 1, loopDelayP99Ms: 1 };
}

describe('worker names the orchestrator hears over Redis', () => {
  it('lists no machine announced under a name a machine may not have, and fails a task reported as run by a local worker', async () => {
    const redis = await TestRedis.start();
    const publisher = new Redis(redis.port, '127.0.0.1');
    onCleanup(() => publisher.disconnect());
    const recorder = new Recorder();
    const executor = await remoteExecutor(redis.url, recorder);

    // Refused names first, then a valid one on the same connection: once the valid one is heard, the others arrived before it.
    const refusedNames = ['w1', 'w007', '12', 'loop', 'pool', 'remote', 'rack/7', 'bäcker', ''];
    const announce = async () => {
      for (const name of refusedNames) await publisher.publish(ANNOUNCE_CHANNEL, JSON.stringify(announcement(name)));
      await publisher.publish(ANNOUNCE_CHANNEL, JSON.stringify(announcement('forger')));
    };
    await announce();
    const timer = setInterval(() => void announce().catch(() => {}), 500);
    onCleanup(() => clearInterval(timer));
    await workersHeard(executor, 1);
    await announce();
    expect(executor.machines().map((m) => m.name)).toEqual(['forger']);

    // What the worker says of each task: where it started, and where it ended.
    const says: Record<string, { started: string | null; ended: string; type: 'failed' | 'succeeded' }> = {
      refused: { started: null, ended: 'w1', type: 'failed' },
      looped: { started: 'loop', ended: 'loop', type: 'succeeded' },
      threaded: { started: 'w2/1', ended: 'forger/1', type: 'succeeded' },
      honest: { started: 'forger/2', ended: 'forger/2', type: 'succeeded' },
      alone: { started: null, ended: 'forger', type: 'failed' },
    };
    const connection = new Redis(redis.port, '127.0.0.1', { maxRetriesPerRequest: null });
    const forger = new Worker(
      TASK_QUEUE,
      async (job: QueueJob<RemoteTask>) => {
        const said = says[job.data.taskKey.split(':')[1]!]!;
        const at = Date.now();
        if (said.started !== null) await job.updateProgress({ type: 'started', worker: said.started, at });
        const times = { startedAt: at, finishedAt: Date.now(), worker: said.ended };
        return said.type === 'failed' ? { type: 'failed', error: { code: 'PATH_OUTSIDE_ROOT', message: 'refused here' }, ...times } : { type: 'succeeded', result: 'done', ...times };
      },
      { connection, prefix: KEY_PREFIX, concurrency: 4 },
    );
    onCleanup(async () => {
      await forger.close(true);
      connection.disconnect();
    });

    const feed = new TaskFeed(tempDir());
    const tasks = Object.fromEntries(Object.keys(says).map((id) => [id, feed.task(id, 'demo.echo', { value: id })]));
    executor.fill(feed.next);
    const outcomes = Object.fromEntries(await Promise.all(Object.entries(tasks).map(async ([id, task]) => [id, await recorder.ended(task)] as const)));

    const badReply = (worker: string, why: string) => ({
      type: 'failed',
      error: { code: 'REMOTE_BAD_REPLY', message: `the worker sent back an outcome that is not one (worker: "${worker}" is not <machine>/<thread> or <machine> alone${why}; is it the same Threadline version?)` },
    });
    const local = (machine: string) => `: its machine "${machine}" would read as a local worker in task records`;
    expect(outcomes.refused).toMatchObject({ ...badReply('w1', local('w1')), worker: 'remote' });
    expect(outcomes.looped).toMatchObject({ ...badReply('loop', local('loop')), worker: 'remote' });
    // Its start on `w2/1` was not believed (`w2` would read as a local thread); its end, on a machine's thread, was.
    expect(outcomes.threaded).toMatchObject({ type: 'succeeded', worker: 'forger/1' });
    expect(outcomes.honest).toMatchObject({ type: 'succeeded', result: 'done', worker: 'forger/2' });
    expect(outcomes.alone).toMatchObject({ type: 'failed', error: { code: 'PATH_OUTSIDE_ROOT' }, worker: 'forger' });
    // Only the starts under a machine's thread were taken.
    expect(recorder.starts.map((s) => `${s.task.id}@${s.worker}`).sort()).toEqual(['honest@forger/2']);
  }, 60_000);
});
