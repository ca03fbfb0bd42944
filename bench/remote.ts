import { Queue, QueueEvents, Worker as QueueWorker } from 'bullmq';
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { Engine } from '../electron/engine/engine.js';
import type { TaskView } from '../electron/engine/task.js';
import { parseRedisUrl } from '../electron/remote/redis-url.js';
import { RemoteExecutor } from '../electron/remote/remote-executor.js';
import { benchEngine, jobDocument, spec, timeJob } from './engine-fixture.js';
import { alternate, percentile, type BenchContext, type Benchmark } from './harness.js';

const BIN = fileURLToPath(new URL('../../bin/threadline.js', import.meta.url));
const WAIT_LIMIT_MS = 60_000;

/** A redis-server of the benchmark's own, on a free loopback port in a scratch folder. */
async function startRedis(ctx: BenchContext): Promise<{ port: number; stop(): void }> {
  const port = await new Promise<number>((resolve, reject) => {
    const server = createServer().on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port: free } = server.address() as { port: number };
      server.close(() => resolve(free));
    });
  });
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--dir', ctx.scratch('redis'), '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'pipe'] });
  await untilOutput(child, 'Ready to accept connections', 'redis-server');
  return { port, stop: () => child.kill('SIGKILL') };
}

function startWorker(url: string, name: string, root: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, [BIN, 'worker', '--redis', url, '--workers', '1', '--name', name, '--root', root], { stdio: ['ignore', 'pipe', 'pipe'] });
  return untilOutput(child, `threadline worker ${name}:`, `threadline worker ${name}`).then(() => child);
}

function untilOutput(child: ChildProcess, text: string, what: string): Promise<void> {
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`remote: ${what} did not start within ${WAIT_LIMIT_MS / 1000} s:\n${output}`)), WAIT_LIMIT_MS);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(text)) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`remote: ${what} exited (${code}) before it was ready:\n${output}`));
    });
  });
}

async function until(check: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + WAIT_LIMIT_MS;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`remote: ${what} did not happen within ${WAIT_LIMIT_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

function untilTask(engine: Engine, id: string, state: string): Promise<TaskView> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`remote: task ${id} did not reach ${state} within ${WAIT_LIMIT_MS / 1000} s`)), WAIT_LIMIT_MS);
    const onTask = (task: TaskView) => {
      if (task.id !== id || task.state !== state) return;
      clearTimeout(timer);
      engine.off('task', onTask);
      resolve(task);
    };
    engine.on('task', onTask);
  });
}

/**
 * Workers on other machines, played by two `threadline worker` processes of one thread each on
 * this machine, with their own redis-server:
 * - `remote.tasks_per_s`: trivial tasks through the engine and the remote executor, against raw
 *   BullMQ (`addBulk` and two Workers doing the same no-op) on the same Redis (`remote.ratio`);
 * - `remote.failover_ms`: from the SIGKILL of the worker running a task to its start on the other;
 * - `remote.cancel_p99_ms`: from `cancelTask` to the `cancelled` event of a cooperative remote task.
 */
export const remote: Benchmark = {
  name: 'remote',
  async run(ctx) {
    const n = ctx.quick ? 200 : 2_000;
    const rounds = ctx.quick ? 1 : 3;
    const redis = await startRedis(ctx);
    const url = `redis://127.0.0.1:${redis.port}`;
    const root = ctx.scratch('remote-root');
    const workers = new Map<string, ChildProcess>();
    const spawnWorker = async (name: string) => workers.set(name, await startWorker(url, name, root));
    let executor: RemoteExecutor | null = null;
    const engine = benchEngine(ctx, { cancelGraceMs: 60_000, executors: { pool: (listener) => (executor = new RemoteExecutor(parseRedisUrl(url), listener)) } });
    const connection = { host: '127.0.0.1', port: redis.port };
    const baselineQueue = new Queue('bench-baseline', { connection });
    const baselineWorkers: QueueWorker[] = [];
    try {
      await Promise.all([spawnWorker('bench-a'), spawnWorker('bench-b')]);
      await until(() => executor!.machines().filter((m) => m.state === 'ready').length === 2, 'both workers announcing themselves');
      for (let i = 0; i < 2; i++) baselineWorkers.push(new QueueWorker('bench-baseline', async (job) => job.data as unknown, { connection, concurrency: 1, removeOnComplete: { count: 0 } }));
      let completed = 0;
      for (const worker of baselineWorkers) worker.on('completed', () => completed++);
      await Promise.all(baselineWorkers.map((worker) => worker.waitUntilReady()));

      const tasks = Array.from({ length: n }, (_, i) => ({ id: `t${i}`, kind: 'demo.echo', value: i }));
      await timeJob(engine, jobDocument(tasks.slice(0, 50)));
      const rates = await alternate(
        rounds,
        async () => {
          completed = 0;
          const start = performance.now();
          await baselineQueue.addBulk(Array.from({ length: n }, (_, i) => ({ name: 'noop', data: i, opts: { removeOnComplete: true } })));
          await until(() => completed >= n, 'the raw BullMQ round');
          return n / ((performance.now() - start) / 1000);
        },
        async () => n / ((await timeJob(engine, jobDocument(tasks))) / 1000),
      );

      // Failover: the worker running a long task dies; the other one must take it up.
      const events = new QueueEvents('threadline-tasks', { connection, prefix: 'threadline' });
      await events.waitUntilReady();
      const failovers: number[] = [];
      for (let round = 0; round < rounds; round++) {
        const running = untilTask(engine, 'long', 'running');
        const job = await engine.submitJob(spec([{ id: 'long', kind: 'demo.block', ms: 3000 }]), root);
        const task = await running;
        const victim = task.worker!.split('/')[0]!;
        const activeAgain = new Promise<number>((resolve) => events.once('active', () => resolve(performance.now())));
        const killedAt = performance.now();
        workers.get(victim)!.kill('SIGKILL');
        failovers.push((await activeAgain) - killedAt);
        await engine.waitForJob(job.id);
        await spawnWorker(victim);
        await until(() => executor!.machines().filter((m) => m.state === 'ready').length === 2, 'the replaced worker announcing itself');
      }
      await events.close();

      const cancels: number[] = [];
      for (let round = 0; round < (ctx.quick ? 5 : 30); round++) {
        const running = untilTask(engine, 'spin', 'running');
        const job = await engine.submitJob(spec([{ id: 'spin', kind: 'demo.cpu', ms: 60_000, cooperative: true }]), root);
        await running;
        const cancelled = untilTask(engine, 'spin', 'cancelled');
        const start = performance.now();
        engine.cancelTask(`${job.id}:spin`);
        await cancelled;
        cancels.push(performance.now() - start);
        await engine.waitForJob(job.id);
      }
      return {
        'remote.tasks_per_s': rates.candidate,
        'remote.bullmq_tasks_per_s': rates.baseline,
        'remote.ratio': rates.candidate / rates.baseline,
        'remote.failover_ms': Math.max(...failovers),
        'remote.cancel_p99_ms': percentile(cancels, 99),
      };
    } finally {
      await Promise.allSettled(baselineWorkers.map((worker) => worker.close(true)));
      await baselineQueue.close();
      await engine.shutdown();
      for (const worker of workers.values()) worker.kill('SIGKILL');
      redis.stop();
    }
  },
};
