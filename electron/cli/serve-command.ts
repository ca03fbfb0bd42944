import { resolve } from 'node:path';
import { Engine } from '../engine/engine.js';
import { createMetrics } from '../hosts/metrics.js';
import { Scheduler } from '../schedules/scheduler.js';
import { startDashboardServer, type DashboardServer } from '../serve/dashboard-server.js';
import { newToken } from '../serve/access.js';
import { removeServeInfo, writeServeInfo } from '../serve/serve-info.js';
import { builtWebRoot, defaultWebRoot } from '../serve/web-root.js';
import { CliError } from './cli-error.js';
import { noticeLines } from './notice-lines.js';
import { dataDirOf, type EngineFlags } from './options.js';
import type { Output } from './run-command.js';
import { onShutdownSignals } from './shutdown-signals.js';
import { oneLine } from './terminal-text.js';
import { withRemoteWorkers } from '../remote/remote-workers-option.js';

export interface ServeOptions extends EngineFlags {
  port: number;
  host: string;
  webRoot?: string;
  /** A token to keep across runs (bookmarks, scripts); default: $THREADLINE_TOKEN, else a fresh one. */
  token?: string;
}

/** What a token given by a person must look like: URL-safe, and long enough not to be guessed. */
const TOKEN_PATTERN = /^[A-Za-z0-9_-]{16,200}$/;

/** The token of this run: `--token`, else THREADLINE_TOKEN, else a fresh random one. */
export function serveToken(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const [token, source] = given !== undefined ? [given, '--token'] : env.THREADLINE_TOKEN ? [env.THREADLINE_TOKEN, 'THREADLINE_TOKEN'] : [null, ''];
  if (token === null) return newToken();
  if (!TOKEN_PATTERN.test(token)) {
    throw new CliError(`${source} must be 16 to 200 characters of letters, digits, "-" and "_" (got ${token.length} characters${/^[A-Za-z0-9_-]*$/.test(token) ? '' : ', some of them not allowed'})`);
  }
  return token;
}

const SHUTDOWN_DEADLINE_MS = 5000;
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

/**
 * `threadline serve`: the engine plus the headless dashboard until SIGINT or SIGTERM. Prints
 * one line, the URL with the token, on stdout; anything else goes to stderr.
 */
export async function serveDashboard(options: ServeOptions, io: Output): Promise<number> {
  const dataDir = dataDirOf(options);
  const expectedWebRoot = options.webRoot ? resolve(options.webRoot) : defaultWebRoot();
  const webRoot = builtWebRoot(expectedWebRoot);
  const token = serveToken(options.token);
  const engineOptions = { dataDir, poolSize: options.workers || undefined, cancelGraceMs: options.grace, loopConcurrency: options.loopConcurrency, crashBudget: options.crashBudget };
  const engine = new Engine(await withRemoteWorkers(engineOptions, options));
  let server: DashboardServer;
  // Each is a line of the host's log; a schedule's name in it is the job file's, breaks and all.
  const scheduler = new Scheduler({ engine, log: (line) => io.err(oneLine(line)) });
  const metrics = createMetrics(engine, scheduler);
  try {
    server = await startDashboardServer({ engine, host: options.host, port: options.port, token, webRoot, expectedWebRoot, baseDir: process.cwd(), scheduler, metrics });
  } catch (error) {
    metrics.close();
    await engine.shutdown();
    const { code, message } = error as NodeJS.ErrnoException;
    const why = code === 'EADDRINUSE' ? 'the port is in use' : code === 'EACCES' ? 'permission denied' : code === 'EADDRNOTAVAIL' ? 'no such local address' : message;
    throw new CliError(`cannot listen on ${options.host}:${options.port}: ${why}`);
  }

  // The dashboard shows its notices (a full disk, refused remote workers); the log says each too, once when it starts and once when it ends.
  const logNotices = noticeLines(io.err);
  engine.on('notices', logNotices);
  logNotices(engine.notices()); // any raised while the server started

  let stop!: () => void;
  const stopped = new Promise<void>((resolve) => (stop = resolve));
  const removeSignals = onShutdownSignals(() => stop(), io.err);
  try {
    try {
      writeServeInfo(dataDir, { url: server.url, host: options.host, port: server.port, token, pid: process.pid, startedAt: Date.now() });
    } catch (error) {
      throw new CliError(`cannot write the serve file into ${dataDir}: ${(error as Error).message}`);
    }
    io.out(server.url);
    scheduler.start();
    if (!LOOPBACK_HOSTS.has(options.host)) {
      io.err(`warning: listening on ${options.host}: the dashboard is reachable from the network (the token still guards the API)`);
    }
    if (!webRoot) io.err(`the dashboard is not built (no ${expectedWebRoot ?? 'out/renderer'}/index.html): run "npm run build"; the API works meanwhile`);
    await stopped;
  } finally {
    removeServeInfo(dataDir);
    await scheduler.stop();
    await server.close();
    metrics.close();
    await engine.shutdown({ deadlineMs: SHUTDOWN_DEADLINE_MS });
    removeSignals();
  }
  return 0;
}
