import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RemoteExecutor } from '../../electron/remote/remote-executor.js';
import { LINK_CUT_WINDOW_MS, LOST_AFTER_MS, workerNameKey } from '../../electron/remote/remote-protocol.js';
import { assertBuilt, expectNoStack } from '../cli/bin.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';
import { CuttingLink } from './cutting-link.js';
import { Recorder, TaskFeed, remoteExecutor, startWorker, workersHeard } from './remote-fixture.js';

beforeAll(assertBuilt);

/** The cuts the orchestrator's REMOTE_WORKER_CUT_OFF notice gives now, or null when there is no such notice. */
function noticedCuts(executor: RemoteExecutor): number | null {
  const notice = executor.notices().find((n) => n.code === 'REMOTE_WORKER_CUT_OFF');
  if (!notice) return null;
  const cuts = /\((\d+) connections cut within 10 s/.exec(notice.message);
  if (!cuts) throw new Error(`the notice gives no count of cuts: ${notice.message}`);
  return Number(cuts[1]);
}

describe('a worker cut off by a link that still cuts every connection after 20 KB, idle', () => {
  it('its probe is cut without holding up its announcements: the orchestrator keeps hearing it, keeps the notice and the name stays held; once the link lets data through, it takes tasks again', async () => {
    const redis = await TestRedis.start();
    // Uncut while the worker starts: the test cuts it off once it is there.
    const link = await CuttingLink.open(redis.port, null, 'reset');
    const root = tempDir();
    const module = join(root, 'echo.mjs');
    writeFileSync(module, 'export default async (args) => args.id;\n');
    const worker = await startWorker(link.url(redis.url), 'build-1', root);
    const recorder = new Recorder();
    const executor = await remoteExecutor(redis.url, recorder);
    await workersHeard(executor, 1);

    // Each connection cut as soon as it is made: more than enough cuts within the window, however slow the machine.
    link.cutFrom(30);
    await waitFor(() => /cannot keep a connection to Redis/.test(worker.output()), 60_000, 'the worker to say it cannot keep a connection');
    // From now on announcements and renewals pass between cuts; the 48 KB probe never does.
    link.cutFrom(20_000);
    const buildOne = () => executor.machines().find((m) => m.name === 'build-1');
    await waitFor(() => noticedCuts(executor) !== null && buildOne()?.state === 'ready', 30_000, 'the orchestrator to hear the worker cut off');

    // Throughout what follows: the worker heard, its notice up, its name held.
    const direct = new Redis({ host: '127.0.0.1', port: redis.port, maxRetriesPerRequest: 0 });
    onCleanup(() => direct.disconnect());
    const nameKey = workerNameKey('build-1');
    const broken: string[] = [];
    const noticed: number[] = [];
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        const state = buildOne()?.state;
        if (state !== 'ready') broken.push(`the orchestrator shows build-1 ${state ?? 'gone'}`);
        const cuts = noticedCuts(executor);
        if (cuts === null) broken.push('the REMOTE_WORKER_CUT_OFF notice is gone');
        else if (noticed.at(-1) !== cuts) noticed.push(cuts);
        if (!(await direct.exists(nameKey))) broken.push('the name of build-1 lapsed');
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();
    onCleanup(() => {
      sampling = false;
      return sampler;
    });
    const holding = () => {
      if (broken.length > 0) throw new Error(`while the link still cuts: ${broken[0]} (cuts noticed: ${noticed.join(', ')})`);
    };

    // A quiet window (the notice counts no cut) sends the probe; its cut is counted (the notice counts one again).
    await waitFor(() => (holding(), noticed.indexOf(0) >= 0 && noticed.slice(noticed.indexOf(0)).some((cuts) => cuts > 0)), 90_000, 'the probe to be sent and cut');
    const cutsAfterProbe = link.cuts;
    // Long enough for the worker to be lost and the probe to go again, were the announcements held up.
    const until = Date.now() + LINK_CUT_WINDOW_MS + LOST_AFTER_MS;
    await waitFor(() => (holding(), Date.now() > until && link.cuts > cutsAfterProbe), 90_000, 'the link to cut again meanwhile');
    holding();
    sampling = false;
    await sampler;
    const cutLines = () => worker.output().split('\n').filter((line) => /cannot keep a connection to Redis|hold again/.test(line));
    expect(cutLines()).toHaveLength(1);

    link.heal();
    await waitFor(() => noticedCuts(executor) === null, 60_000, 'the notice to clear once the probe gets through');
    await waitFor(() => cutLines().length === 2, 30_000, 'the worker to say its connections hold again');
    expect(cutLines()[1]).toBe(`threadline worker build-1: the connections to Redis at redis://127.0.0.1:${link.port} hold again; taking tasks`);
    const feed = new TaskFeed(root);
    const task = feed.task('after', 'script', { module, export: 'default', args: { id: 'after' } });
    executor.fill(feed.next);
    expect(await recorder.ended(task, 60_000)).toMatchObject({ type: 'succeeded', result: 'after', worker: expect.stringMatching(/^build-1\/\d+$/) });
    expect(recorder.outcomes.get(task)).toHaveLength(1);
    // The connection of the probe that got through was closed after it: no client is left whose last command was the probe.
    const clients = (await direct.client('LIST')) as string;
    expect(clients).toMatch(/ cmd=/);
    expect(clients.split('\n').filter((line) => / cmd=echo /.test(line))).toEqual([]);

    // It lets go of every connection, a probe's included, and exits.
    worker.child.kill('SIGTERM');
    expect(await worker.exited).toEqual({ code: 0, signal: null });
    expectNoStack(worker.output());
  }, 300_000);
});
