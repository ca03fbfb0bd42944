import type { ChildProcess } from 'node:child_process';
import type { TaskLogLine } from '../../contract/records.js';
import type { ExecutorListener, ExecutorOutcome, ReadyRequest } from '../../electron/engine/executor.js';
import { Job } from '../../electron/engine/job.js';
import { Task } from '../../electron/engine/task.js';
import { parseRedisUrl } from '../../electron/remote/redis-url.js';
import { RemoteExecutor } from '../../electron/remote/remote-executor.js';
import { spawnBin } from '../cli/bin.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';

export interface StartedWorker {
  child: ChildProcess;
  name: string;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** Starts `threadline worker` (the built bin); `ready` resolves once it has written its ready line. */
export function spawnWorker(redisUrl: string, name: string, root: string, threads = 1): StartedWorker & { ready: Promise<void> } {
  const child = spawnBin(['worker', '--redis', redisUrl, '--workers', String(threads), '--name', name, '--root', root]);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));
  const ready = Promise.race([
    waitFor(() => output.includes(`threadline worker ${name}:`), 30_000, `worker ${name} to start`).then(() => {}),
    exited.then((end) => {
      throw new Error(`worker ${name} exited (${end.code ?? end.signal}) before it was ready:\n${output}`);
    }),
  ]);
  ready.catch(() => {}); // told to whoever awaits it
  return { child, name, output: () => output, exited, ready };
}

/** Starts `threadline worker` (the built bin) and waits for its ready line. */
export async function startWorker(redisUrl: string, name: string, root: string, threads = 1): Promise<StartedWorker> {
  const { ready, ...worker } = spawnWorker(redisUrl, name, root, threads);
  await ready;
  return worker;
}

/** What an executor reported, in order. */
export class Recorder implements ExecutorListener {
  readonly starts: Array<{ task: Task; worker: string; at: number }> = [];
  readonly interruptions: Task[] = [];
  readonly logs: TaskLogLine[] = [];
  readonly outcomes = new Map<Task, ExecutorOutcome[]>();
  /** How often the executor said its notices changed. */
  noticeChanges = 0;

  started(task: Task, worker: string, at: number): void {
    this.starts.push({ task, worker, at });
  }
  interrupted(task: Task): void {
    this.interruptions.push(task);
  }
  progress(): void {}
  log(line: TaskLogLine): void {
    this.logs.push(line);
  }
  finished(task: Task, outcome: ExecutorOutcome): void {
    this.outcomes.set(task, [...(this.outcomes.get(task) ?? []), outcome]);
  }
  beginning(): void {}
  noticesChanged(): void {
    this.noticeChanges++;
  }

  outcomeOf(task: Task): ExecutorOutcome | undefined {
    return this.outcomes.get(task)?.[0];
  }

  async ended(task: Task, timeoutMs = 30_000): Promise<ExecutorOutcome> {
    return waitFor(() => this.outcomeOf(task), timeoutMs, `task ${task.id} to end`);
  }
}

/** Engine tasks for an executor under test, as the engine would hand them over. */
export class TaskFeed {
  private readonly job: Job;
  private readonly ready: Task[] = [];
  private seq = 0;

  constructor(baseDir: string, readonly jobId = `j-test-${Math.random().toString(36).slice(2, 8)}`) {
    this.job = new Job(jobId, 'remote test', null, 'continue', baseDir, Date.now());
  }

  task(id: string, kind: string, input: Record<string, unknown>): Task {
    const task = new Task(this.job, `${this.job.id}:${id}`, id, this.seq++, kind, 'pool', input, 0, null, 0, 0, [], Date.now());
    this.ready.push(task);
    return task;
  }

  /** As the engine's ready source: a task the request does not accept stays first in line. */
  readonly next = (request?: ReadyRequest): Task | null => {
    const first = this.ready[0];
    if (!first || (request?.accept && !request.accept(first))) return null;
    return this.ready.shift()!;
  };
}

export async function remoteExecutor(redisUrl: string, recorder: Recorder): Promise<RemoteExecutor> {
  const executor = new RemoteExecutor(parseRedisUrl(redisUrl), recorder);
  onCleanup(() => executor.close());
  await executor.ready();
  return executor;
}

/** Waits until the executor has heard from `count` workers. */
export async function workersHeard(executor: RemoteExecutor, count: number): Promise<void> {
  await waitFor(() => executor.machines().filter((m) => m.state === 'ready').length >= count, 20_000, `${count} workers to announce themselves`);
}

/** A Redis of the test's own, a fresh root, a worker `build-1` on them and an executor that has heard from it. */
export async function oneWorker(threads = 1): Promise<{ redis: TestRedis; root: string; worker: StartedWorker; recorder: Recorder; executor: RemoteExecutor }> {
  const redis = await TestRedis.start();
  const root = tempDir();
  const worker = await startWorker(redis.url, 'build-1', root, threads);
  const recorder = new Recorder();
  const executor = await remoteExecutor(redis.url, recorder);
  await workersHeard(executor, 1);
  return { redis, root, worker, recorder, executor };
}
