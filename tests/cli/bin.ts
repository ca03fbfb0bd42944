import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { onCleanup, tempDir } from '../support/engine-fixture.js';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = join(ROOT, 'bin', 'threadline.js');

/** The bin runs the compiled CLI: a stale or missing build would test the wrong code. */
export function assertBuilt(): void {
  if (!existsSync(join(ROOT, 'dist', 'electron', 'cli', 'main.js'))) {
    throw new Error('the CLI is not built: run "npx tsc -b tsconfig.node.json" (npm test does) before these tests');
  }
}

export interface BinResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `node bin/threadline.js ...`; it is killed after the test if still running. */
export function spawnBin(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChildProcess {
  const child = spawn(process.execPath, [BIN, ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, THREADLINE_DATA_DIR: join(tempDir(), 'default-data'), ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onCleanup(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  return child;
}

export function finished(child: ChildProcess): Promise<BinResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

export function runBin(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<BinResult> {
  return finished(spawnBin(args, options));
}

/** Writes a job file into a fresh folder; returns its path. */
export function jobFile(content: unknown, name = 'job.json'): string {
  const file = join(tempDir(), name);
  writeFileSync(file, typeof content === 'string' ? content : JSON.stringify(content));
  return file;
}

/** No stack trace: no "    at fn (file:line)" frames, no Error class dump. */
export function expectNoStack(text: string): void {
  if (/^\s+at .+:\d+/m.test(text) || /\n\s*at /.test(text)) throw new Error(`output has a stack trace:\n${text}`);
}

/**
 * A script task, `{ kind: 'script', module, export: 'run', args }`, that reports `message` at
 * progress 0.5 and then holds its thread until `release()`: running, with that message, for as
 * long as a test needs.
 */
export function heldScriptTask(id: string, message: string): { task: Record<string, unknown>; release: () => void } {
  const dir = tempDir();
  const module = join(dir, 'held.mjs');
  writeFileSync(
    module,
    "import { existsSync } from 'node:fs';\n" +
      'export async function run(args, ctx) {\n' +
      '  ctx.progress(0.5, args.message);\n' +
      '  while (!existsSync(args.file)) await new Promise((resolve) => setTimeout(resolve, 10));\n' +
      '  return 1;\n' +
      '}\n',
  );
  const file = join(dir, 'release');
  return { task: { id, kind: 'script', module, export: 'run', args: { message, file } }, release: () => writeFileSync(file, '') };
}

/**
 * What a pseudo-terminal (util-linux `script`) received from the bin. `onOutput` is called with
 * all the output so far each time more arrives.
 */
export function onTerminal(args: string[], options: { onOutput?: (output: string) => void } = {}): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, BIN, ...args].map((arg) => `'${arg.replaceAll("'", `'\\''`)}'`).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], { env: { ...process.env, TERM: 'xterm-256color', COLUMNS: '160', LINES: '40' }, stdio: ['ignore', 'pipe', 'pipe'] });
  onCleanup(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let output = '';
  const onData = (chunk: string) => {
    output += chunk;
    options.onOutput?.(output);
  };
  child.stdout.setEncoding('utf8').on('data', onData);
  child.stderr.setEncoding('utf8').on('data', onData);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}
