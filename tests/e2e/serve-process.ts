/** A real `threadline serve` child process for end-to-end tests, and the renderer it serves. */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

export const REPO = fileURLToPath(new URL('../..', import.meta.url));

export interface ServeProcess {
  url: string;
  dataDir: string;
  stderr(): string;
  stop(): Promise<void>;
}

export interface ServeOptions {
  webRoot: string;
  workers?: number;
  graceMs?: number;
  dataDir?: string;
  env?: NodeJS.ProcessEnv;
  /** A Redis whose `threadline worker`s run sync tasks too (`--redis`). */
  redis?: string;
}

/** Builds the renderer as it is now into a fresh folder (so a stale out/renderer cannot pass the test). */
export async function buildRenderer(): Promise<{ dir: string; remove: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'threadline-web-'));
  await build({
    configFile: join(REPO, 'renderer/vite.config.ts'),
    logLevel: 'warn',
    build: { outDir: dir, emptyOutDir: true },
  });
  return { dir, remove: () => rm(dir, { recursive: true, force: true }) };
}

/**
 * Starts `threadline serve --port 0` and resolves with the URL it prints. A `dataDir` given is
 * the caller's (kept on stop, for a restart on the same store); `env` adds to its environment.
 */
export async function startServe(options: ServeOptions): Promise<ServeProcess> {
  const ownDataDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'threadline-serve-')));
  const args = ['bin/threadline.js', 'serve', '--port', '0', '--data-dir', dataDir, '--workers', String(options.workers ?? 2), '--web-root', options.webRoot];
  if (options.graceMs !== undefined) args.push('--grace', String(options.graceMs));
  if (options.redis !== undefined) args.push('--redis', options.redis);
  const child = spawn(process.execPath, args, { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...options.env } });
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const url = await new Promise<string>((ok, fail) => {
    let stdout = '';
    const timer = setTimeout(() => fail(new Error(`threadline serve printed no URL in 30 s; stderr: ${stderr}`)), 30_000);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const line = stdout.split('\n').find((l) => l.startsWith('http://'));
      if (line) {
        clearTimeout(timer);
        ok(line.trim());
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`threadline serve exited with ${code} before printing its URL; stderr: ${stderr}`));
    });
  });
  return {
    url,
    dataDir,
    stderr: () => stderr,
    stop: async () => {
      await stopChild(child);
      if (ownDataDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((ok) => child.once('exit', () => ok()));
  child.kill('SIGINT');
  const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}
