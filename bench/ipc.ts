import { WebSocket } from 'ws';
import { API_WEBSOCKET_PATH, TOKEN_QUERY_PARAM } from '../contract/api.js';
import { startDashboardServer } from '../electron/serve/dashboard-server.js';
import { newToken } from '../electron/serve/access.js';
import { benchEngine, spec } from './engine-fixture.js';
import type { Benchmark } from './harness.js';

const TRANSITIONS_PER_S = 10_000;
/** queued -> running -> succeeded: a trivial task makes two transitions. */
const TASKS_PER_S = TRANSITIONS_PER_S / 2;
const TICK_MS = 50;

/** Messages and bytes a connected dashboard receives while the engine makes 10,000 transitions a second. */
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
      socket.on('message', (data: Buffer) => {
        if (!counting) return;
        messages++;
        bytes += data.length;
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
      counting = false;
      await Promise.all(jobs);
      const after = engine.stateCounts();
      const transitions = 2 * (after.succeeded - before.succeeded);
      ctx.log(`${submitted} tasks submitted, ~${Math.round(transitions / elapsed)} transitions/s`);
      return { 'ipc.messages_per_s': messages / elapsed, 'ipc.bytes_per_s': bytes / elapsed };
    } finally {
      socket.close();
      await server.close();
      await engine.shutdown();
    }
  },
};
