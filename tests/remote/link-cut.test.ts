import { Queue } from 'bullmq';
import { beforeAll, describe, expect, it } from 'vitest';
import type { HostNotice } from '../../contract/api.js';
import type { TaskLogLine } from '../../contract/records.js';
import type { RemoteExecutor } from '../../electron/remote/remote-executor.js';
import { KEY_PREFIX, LINK_CUTS, TASK_QUEUE, remoteJobId } from '../../electron/remote/remote-protocol.js';
import type { Task } from '../../electron/engine/task.js';
import { assertBuilt, expectNoStack } from '../cli/bin.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';
import { begun, markerScript } from './marker-script.js';
import { CuttingLink, type CutHow } from './cutting-link.js';
import { Recorder, TaskFeed, remoteExecutor, startWorker, workersHeard, type StartedWorker } from './remote-fixture.js';

beforeAll(assertBuilt);

/** Every notice the executor raised, as it raised them. */
function noticesSeen(executor: RemoteExecutor, recorder: Recorder): HostNotice[] {
  const seen: HostNotice[] = [];
  recorder.noticesChanged = () => seen.push(...executor.notices());
  return seen;
}

/**
 * How a stall of build-1's attempt is told in the task's log: naming the cut link once the
 * orchestrator has heard that build-1 is cut off (its notice), and before that, all it can know
 * then, as a worker that stopped answering. Which comes first is a race on the machine's speed:
 * eight cuts on the worker's side against a lock's lapse on the orchestrator's.
 */
const TOLD_CUT = /^attempt \d+ was interrupted: the connections to Redis of "build-1" kept being cut/;
const TOLD_LOST = /^attempt \d+ was interrupted: (build-1\/\d+|build-1|a worker) stopped answering \(killed, or cut off from Redis\)/;

function interruptionLines(recorder: Recorder, task: Task): TaskLogLine[] {
  return recorder.logs.filter((l) => l.taskKey === task.key && /^attempt \d+ was interrupted: /.test(l.message));
}

/** Each line names the link if it was written after the orchestrator heard of the cut (`cutKnownSince`). */
function expectToldAsKnown(lines: TaskLogLine[], cutKnownSince: number): void {
  expect(lines.length).toBeGreaterThan(0);
  for (const line of lines) {
    if (line.at > cutKnownSince) expect(line.message).toMatch(TOLD_CUT);
    else expect([TOLD_CUT, TOLD_LOST].some((told) => told.test(line.message)), line.message).toBe(true);
  }
}

/** When the orchestrator first said that build-1 is cut off. */
function cutKnownSince(seen: HostNotice[]): number {
  return seen.find((n) => n.code === 'REMOTE_WORKER_CUT_OFF')!.since;
}

/** The lines of a worker's output that speak of its connections being cut or holding again. */
function linkLines(worker: StartedWorker): string[] {
  return worker.output().split('\n').filter((line) => /cannot keep a connection to Redis|hold again/.test(line));
}

const CUT_LINE = (name: string, port: number) => new RegExp(`^threadline worker ${name}: cannot keep a connection to Redis at redis://127\\.0\\.0\\.1:${port}: \\d+ connections cut within 10 s \\(the last (reset \\(ECONNRESET\\)|closed by the other end)\\); taking no new task until they hold \\(is a VPN or a proxy between here and Redis cutting connections\\?\\)$`);

/** Each task ended exactly once, having succeeded with its own id as its result. */
function expectEachSucceededOnce(recorder: Recorder, tasks: Task[]): void {
  for (const task of tasks) expect(recorder.outcomes.get(task), task.id).toEqual([expect.objectContaining({ type: 'succeeded', result: task.id })]);
}

/**
 * Redis, a link to it not cut yet (cut later with `link.cutFrom`, `how`), the worker build-1 on
 * that link, and an orchestrator on a sound link that has heard it: a link cut from the start may
 * cut a worker off before it took any task.
 */
async function workerOnUncutLink(how: CutHow) {
  const redis = await TestRedis.start();
  const link = await CuttingLink.open(redis.port, null, how);
  const root = tempDir();
  const { runs, module, release } = markerScript(root);
  const cut = await startWorker(link.url(redis.url), 'build-1', root);
  const recorder = new Recorder();
  const executor = await remoteExecutor(redis.url, recorder);
  const seen = noticesSeen(executor, recorder);
  await workersHeard(executor, 1);
  return { redis, link, root, runs, module, release, cut, recorder, executor, seen, feed: new TaskFeed(root) };
}

/**
 * One worker whose link is cut after 20 KB (`how`) once it has begun its one task, and the
 * orchestrator on a sound link: resolves once the task's first attempt was found stalled and
 * interrupted. The attempts in `held` wait for the test's `release` (the first is released here).
 */
async function firstAttemptCutOff(how: CutHow, held: number[]) {
  const { redis, link, root, runs, module, release, cut, recorder, executor, seen, feed } = await workerOnUncutLink(how);
  const task = feed.task('t0', 'script', { module, export: 'default', args: { id: 't0', ms: 100, held } });
  executor.fill(feed.next);
  await waitFor(() => begun(runs, 't0') === 1, 30_000, 'the task to begin on build-1');
  link.cutFrom(20_000);
  release(1);
  // Its end never gets through: the lock lapses, the orchestrator's own stall check queues it
  // again; and the worker, cut again and again, says it is cut off.
  await waitFor(() => interruptionLines(recorder, task).length > 0, 60_000, 'the first attempt to be interrupted');
  await waitFor(() => seen.some((n) => n.code === 'REMOTE_WORKER_CUT_OFF'), 60_000, 'the orchestrator to say the worker is cut off');
  expectToldAsKnown(interruptionLines(recorder, task), cutKnownSince(seen));
  return { redis, link, root, runs, module, release, cut, recorder, executor, feed, task };
}

describe('a link that cuts every connection between a worker and Redis after some bytes', () => {
  for (const how of ['reset', 'end'] as CutHow[]) {
    it(`after 20 KB (${how}), the worker alone: it says so once, the orchestrator raises a notice, and once the link lets data through each task ends once`, async () => {
      const redis = await TestRedis.start();
      const link = await CuttingLink.open(redis.port, 20_000, how);
      const root = tempDir();
      const { runs, module } = markerScript(root);
      const worker = await startWorker(link.url(redis.url), 'build-1', root);
      const recorder = new Recorder();
      const executor = await remoteExecutor(redis.url, recorder);
      const seen = noticesSeen(executor, recorder);
      await workersHeard(executor, 1);
      const feed = new TaskFeed(root);
      const tasks = Array.from({ length: 3 }, (_, i) => feed.task(`t${i}`, 'script', { module, export: 'default', args: { id: `t${i}`, ms: 100 } }));
      executor.fill(feed.next);

      // A task's end (with BullMQ's script that writes it) is bigger than the link lets through.
      await waitFor(() => seen.some((n) => n.code === 'REMOTE_WORKER_CUT_OFF'), 60_000, 'the orchestrator to say the worker is cut off');
      await waitFor(() => linkLines(worker).length > 0, 30_000, 'the worker to say it cannot keep a connection');
      const notice = seen.find((n) => n.code === 'REMOTE_WORKER_CUT_OFF')!;
      expect(notice.message).toMatch(/^the remote worker "build-1" on host ".*" \(\d+ connections cut within 10 s, the last .*\) cannot keep a connection to Redis: it takes no new task, a task whose end cannot get through runs again on another worker, and one found stalled twice so fails \(REMOTE_LINK_CUT\); check the network between that machine and Redis \(a VPN or a proxy that cuts connections\)$/);
      // The tasks wait for a worker that can send their ends: none ends meanwhile, neither crashed nor failed.
      expect([...recorder.outcomes.values()].flat().filter((o) => o.type !== 'succeeded')).toEqual([]);

      link.heal();
      for (const task of tasks) await recorder.ended(task, 60_000);
      expectEachSucceededOnce(recorder, tasks);
      for (const task of tasks) expect(begun(runs, task.id), task.id).toBeGreaterThanOrEqual(1);
      // Each attempt cut short is told of in its task's log, naming the link.
      for (const task of recorder.interruptions) expectToldAsKnown(interruptionLines(recorder, task), cutKnownSince(seen));
      await waitFor(() => !executor.notices().some((n) => n.code === 'REMOTE_WORKER_CUT_OFF'), 30_000, 'the notice to clear');
      await waitFor(() => linkLines(worker).length === 2, 30_000, 'the worker to say its connections hold again');
      expect(linkLines(worker)[0]).toMatch(CUT_LINE('build-1', link.port));
      expect(linkLines(worker)[1]).toBe(`threadline worker build-1: the connections to Redis at redis://127.0.0.1:${link.port} hold again; taking tasks`);
      expectNoStack(worker.output());

      // Taking tasks again.
      const after = feed.task('after', 'script', { module, export: 'default', args: { id: 'after', ms: 10 } });
      executor.fill(feed.next);
      expect(await recorder.ended(after, 30_000)).toMatchObject({ type: 'succeeded', result: 'after', worker: expect.stringMatching(/^build-1\/\d+$/) });
      expect(link.cuts).toBeGreaterThanOrEqual(LINK_CUTS);
    }, 180_000);
  }

  it('after 20 KB, never healing, the worker alone: the notice stays, the task is queued again and ends once on the next sound worker; the cut worker drains on SIGTERM', async () => {
    const { redis, link, root, runs, cut, recorder, executor, task } = await firstAttemptCutOff('end', [1]);
    const queue = new Queue(TASK_QUEUE, { connection: { host: '127.0.0.1', port: redis.port }, prefix: KEY_PREFIX });
    onCleanup(() => queue.close());
    let state = '';
    const polling = (async () => {
      while (state !== 'waiting') state = await queue.getJobState(remoteJobId(task.key, 1));
    })();
    polling.catch(() => {});
    await waitFor(() => state === 'waiting', 30_000, 'the task to wait on the queue');
    expect(executor.notices().map((n) => n.code)).toEqual(['REMOTE_WORKER_CUT_OFF']);
    expect(recorder.outcomes.size).toBe(0);

    // A worker that cannot keep its connections still stops when told, in a bounded time.
    cut.child.kill('SIGTERM');
    expect(await cut.exited).toEqual({ code: 0, signal: null });
    expect(linkLines(cut)).toEqual([expect.stringMatching(CUT_LINE('build-1', link.port))]);
    expectNoStack(cut.output());
    await waitFor(() => executor.notices().length === 0, 30_000, 'the notice to clear once the cut worker is gone');

    await startWorker(redis.url, 'build-2', root);
    expect(await recorder.ended(task, 60_000)).toMatchObject({ type: 'succeeded', result: 't0', worker: expect.stringMatching(/^build-2\/\d+$/) });
    expect(recorder.outcomes.get(task)).toHaveLength(1);
    expect(recorder.interruptions).toEqual([task]);
    expect(begun(runs, 't0')).toBe(2);
  }, 180_000);

  it('after 20 KB, healed, then cut again while the task runs a second time, the worker alone: found stalled twice, it fails REMOTE_LINK_CUT once, is taken off the queue and never runs a third time', async () => {
    // Its first end never gets through: found stalled once, it waits on the queue.
    const { redis, link, runs, module, release, cut, recorder, executor, feed, task } = await firstAttemptCutOff('reset', [1, 2]);
    expect(recorder.outcomes.size).toBe(0);
    // The link lets data through again: the worker takes the task again once its connections hold.
    link.heal();
    await waitFor(() => begun(runs, 't0') === 2, 60_000, 'the task to begin a second time');
    // And cuts again before that run can end: the run is held until the cut is made.
    link.cutFrom(20_000);
    release(2);

    const outcome = await recorder.ended(task, 90_000);
    expect(outcome).toMatchObject({ type: 'failed', error: { code: 'REMOTE_LINK_CUT' } });
    expect((outcome as { error: { message: string } }).error.message).toMatch(/^found stalled twice while the connections to Redis of "build-1" kept being cut \(a VPN or a proxy cutting them\): the task's end could not get through, so it is not run a third time; check the network between that machine and Redis, or run the task with runOn: local$/);
    expect(recorder.interruptions).toEqual([task]);
    // The second stall came long after the orchestrator heard of the cut: it names the link.
    const told = interruptionLines(recorder, task);
    expect(told).toHaveLength(2);
    expect(told[1]!.message).toMatch(TOLD_CUT);
    // No worker may take it again: the job is off the queue.
    const queue = new Queue(TASK_QUEUE, { connection: { host: '127.0.0.1', port: redis.port }, prefix: KEY_PREFIX });
    onCleanup(() => queue.close());
    let onQueue = true;
    const polling = (async () => {
      while (onQueue) onQueue = (await queue.getJob(remoteJobId(task.key, 1))) !== undefined;
    })();
    polling.catch(() => {});
    await waitFor(() => !onQueue, 30_000, 'the job to be taken off the queue');

    // Once the link lets data through for good, the worker takes tasks again; the failed one never runs a third time.
    link.heal();
    const after = feed.task('after', 'script', { module, export: 'default', args: { id: 'after', ms: 10 } });
    executor.fill(feed.next);
    expect(await recorder.ended(after, 60_000)).toMatchObject({ type: 'succeeded', result: 'after', worker: expect.stringMatching(/^build-1\/\d+$/) });
    expect(begun(runs, 't0')).toBe(2);
    expect(recorder.outcomes.get(task)).toHaveLength(1);
    expectNoStack(cut.output());
  }, 240_000);

  it('after 20 KB, with a second worker on a sound link: the tasks the cut worker held run again there, each ends once, and it takes no more', async () => {
    const { redis, link, root, runs, module, release, cut, recorder, executor, feed } = await workerOnUncutLink('reset');
    // Each first run waits for the cut, so the task build-1 holds cannot end before it.
    const tasks = Array.from({ length: 6 }, (_, i) => feed.task(`t${i}`, 'script', { module, export: 'default', args: { id: `t${i}`, ms: 100, held: [1] } }));
    executor.fill(feed.next);
    const first = await waitFor(() => recorder.starts.find((s) => s.worker.startsWith('build-1/')), 30_000, 'a task to start on build-1');
    await waitFor(() => begun(runs, first.task.id) === 1, 30_000, `task ${first.task.id} to begin on build-1`);
    link.cutFrom(20_000);
    release(1);
    await waitFor(() => linkLines(cut).length > 0, 60_000, 'the cut worker to say it cannot keep a connection');
    const sound = await startWorker(redis.url, 'build-2', root);

    for (const task of tasks) await recorder.ended(task, 90_000);
    expectEachSucceededOnce(recorder, tasks);
    for (const task of tasks) expect(recorder.outcomeOf(task), task.id).toMatchObject({ worker: expect.stringMatching(/^build-2\/\d+$/) });
    // The task build-1 had taken: its end never got through, so that attempt was interrupted.
    expect(recorder.interruptions).toContain(first.task);
    for (const task of tasks) expect(begun(runs, task.id), task.id).toBeGreaterThanOrEqual(1);
    expect(linkLines(cut)).toEqual([expect.stringMatching(CUT_LINE('build-1', link.port))]);
    expectNoStack(cut.output());
    expect(linkLines(sound)).toEqual([]);
  }, 180_000);

  it('mid-handshake, from a moment on: the worker says so once, is lost to the orchestrator, and its task runs again on a worker with a sound link', async () => {
    const { redis, link, root, runs, module, release, cut, recorder, executor, feed } = await workerOnUncutLink('reset');
    const task = feed.task('long', 'script', { module, export: 'default', args: { id: 'long', ms: 100, held: [1] } });
    executor.fill(feed.next);
    await waitFor(() => begun(runs, 'long') === 1, 30_000, 'the task to begin on build-1');
    // Every connection from now on is cut before Redis has answered its first command; the run ends only after that.
    link.cutFrom(30);
    release(1);
    await waitFor(() => linkLines(cut).length > 0, 60_000, 'the cut worker to say it cannot keep a connection');
    await startWorker(redis.url, 'build-2', root);

    const outcome = await recorder.ended(task, 90_000);
    expect(recorder.outcomes.get(task)).toEqual([expect.objectContaining({ type: 'succeeded', result: 'long' })]);
    expect(outcome).toMatchObject({ worker: expect.stringMatching(/^build-2\/\d+$/) });
    expect(recorder.interruptions).toEqual([task]);
    expect(linkLines(cut)).toEqual([expect.stringMatching(CUT_LINE('build-1', link.port))]);
    expectNoStack(cut.output());
  }, 180_000);
});

describe('a link that cuts every connection between the orchestrator and Redis after 20 KB', () => {
  it('the orchestrator says Redis cannot be reached, and why; once the link lets data through, each task ends once', async () => {
    const redis = await TestRedis.start();
    const link = await CuttingLink.open(redis.port, 20_000, 'reset');
    const root = tempDir();
    const { module } = markerScript(root);
    await startWorker(redis.url, 'build-1', root);
    const recorder = new Recorder();
    const executor = await remoteExecutor(link.url(redis.url), recorder);
    const seen = noticesSeen(executor, recorder);
    await workersHeard(executor, 1);
    const feed = new TaskFeed(root);
    const tasks = Array.from({ length: 3 }, (_, i) => feed.task(`t${i}`, 'script', { module, export: 'default', args: { id: `t${i}`, ms: 10 } }));
    // Putting tasks on the queue (with BullMQ's script that adds a job) is more than the link lets through.
    executor.fill(feed.next);

    await waitFor(() => seen.some((n) => n.code === 'REDIS_UNREACHABLE'), 60_000, 'the orchestrator to say Redis cannot be reached');
    expect(seen.find((n) => n.code === 'REDIS_UNREACHABLE')!.message).toMatch(
      new RegExp(`^Redis at redis://127\\.0\\.0\\.1:${link.port} cannot be reached \\(its connections keep being cut: \\d+ within 10 s, the last (reset \\(ECONNRESET\\)|closed by the other end); is a VPN or a proxy between here and Redis cutting them\\?\\): the tasks on remote workers wait for it`),
    );
    expect(recorder.outcomes.size).toBe(0);

    link.heal();
    for (const task of tasks) await recorder.ended(task, 60_000);
    expectEachSucceededOnce(recorder, tasks);
    await waitFor(() => executor.notices().length === 0, 30_000, 'the notice to clear');
  }, 180_000);
});
