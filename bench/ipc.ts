import { WebSocket } from 'ws';
import { API_WEBSOCKET_PATH, TOKEN_QUERY_PARAM, type ApiEvent } from '../contract/api.js';
import { startDashboardServer } from '../electron/serve/dashboard-server.js';
import { newToken } from '../electron/serve/access.js';
import { benchEngine, spec } from './engine-fixture.js';
import { percentile, type Benchmark } from './harness.js';

const TRANSITIONS_PER_S = 10_000;
/** queued -> running -> succeeded: a trivial task makes two transitions. */
const TASKS_PER_S = TRANSITIONS_PER_S / 2;
const TICK_MS = 50;
/** The transitions timed, in the order a task makes them. */
const RANK: Partial<Record<string, number>> = { running: 1, succeeded: 2 };

/**
 * Messages and bytes a connected dashboard receives while the engine makes 10,000 transitions a
 * second, and how long a transition takes from the engine's event to its arrival at the client.
 */
export const ipc: Benchmark = {
  name: 'ipc',
  async run(ctx) {
    const seconds = ctx.quick ? 1 : 5;
    const engine = benchEngine(ctx);
    const token = newToken();
    const server = await startDashboardServer({ engine, host: '127.0.0.1', port: 0, token, webRoot: null, baseDir: '/' });
    const socket = new WebSocket(`ws://127.0.0.1:${server.port}${API_WEBSOCKET_PATH}?${TOKEN_QUERY_PARAM}=${token}`);
    try {
      await new Promise((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      let counting = false;
      let messages = 0;
      let bytes = 0;
      // When each transition happened in the engine, by task, until a message shows it.
      const pending = new Map<string, Array<{ rank: number; at: number }>>();
      const latencies: number[] = [];
      engine.on('task', (task) => {
        const rank = RANK[task.state];
        if (!counting || rank === undefined) return;
        let events = pending.get(task.key);
        if (!events) pending.set(task.key, (events = []));
        events.push({ rank, at: performance.now() });
      });
      socket.on('message', (data: Buffer) => {
        if (!counting) return;
        const arrived = performance.now();
        messages++;
        bytes += data.length;
        // What a client does with every message: parse it. A record shows its own state and
        // every transition before it (a delta carries each task's latest state).
        const message = JSON.parse(data.toString()) as ApiEvent;
        if (message.type !== 'delta') return;
        for (const record of message.tasks) {
          const events = pending.get(record.key);
          const shown = RANK[record.state];
          if (!events || shown === undefined) continue;
          while (events.length > 0 && events[0]!.rank <= shown) latencies.push(arrived - events.shift()!.at);
          if (events.length === 0) pending.delete(record.key);
        }
      });
      socket.send(JSON.stringify({ type: 'subscribe' }));
      await new Promise((resolve) => setTimeout(resolve, 200));

      const perTick = Math.round((TASKS_PER_S * TICK_MS) / 1000);
      let submitted = 0;
      const jobs: Array<Promise<unknown>> = [];
      const before = engine.stateCounts();
      counting = true;
      const start = performance.now();
      const feeder = setInterval(() => {
        const tasks = Array.from({ length: perTick }, (_, i) => ({ id: `t${submitted + i}`, kind: 'demo.echo', value: i }));
        submitted += perTick;
        jobs.push(engine.submitJob(spec(tasks), '/').then((job) => engine.waitForJob(job.id)));
      }, TICK_MS);
      await new Promise((resolve) => setTimeout(resolve, seconds * 1000));
      clearInterval(feeder);
      const elapsed = (performance.now() - start) / 1000;
      const counted = { messages, bytes };
      await Promise.all(jobs);
      // The last transitions reach the client in the next message or two.
      const drainUntil = performance.now() + 2_000;
      while (pending.size > 0 && performance.now() < drainUntil) await new Promise((resolve) => setTimeout(resolve, 20));
      counting = false;
      if (pending.size > 0) throw new Error(`ipc: ${pending.size} tasks' transitions never reached the WebSocket client`);
      const after = engine.stateCounts();
      const transitions = 2 * (after.succeeded - before.succeeded);
      ctx.log(`${submitted} tasks submitted, ~${Math.round(transitions / elapsed)} transitions/s`);
      ctx.log(`${latencies.length} transitions timed from the engine's event to the client`);
      return {
        'ipc.messages_per_s': counted.messages / elapsed,
        'ipc.bytes_per_s': counted.bytes / elapsed,
        'ipc.latency_p99_ms': percentile(latencies, 99),
      };
    } finally {
      socket.close();
      await server.close();
      await engine.shutdown();
    }
  },
};
