import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, copyFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse/sync';
import { expect } from 'vitest';
import type { TaskRecord } from '../../contract/records.js';
import type { Engine } from '../../electron/engine/engine.js';
import { resolveJobPaths } from '../../electron/engine/job-file.js';
import { CLI, REPO_ROOT, type CliResult } from '../support/cli.js';
import { jobSpec, waitFor } from '../support/engine-fixture.js';

/** The shared sample database; never written to (tests copy it first). */
export const CHINOOK = fileURLToPath(new URL('../../../shared/datasets/chinook.sqlite', import.meta.url));

/** A writable copy of the sample database in `dir`. */
export function copyChinook(dir: string, name = 'chinook.sqlite'): string {
  const path = join(dir, name);
  copyFileSync(CHINOOK, path);
  chmodSync(path, 0o644);
  return path;
}

/** Submits tasks as one job, paths resolved against `baseDir` as for a job file there; resolves when it ends. */
export async function runJob(engine: Engine, baseDir: string, tasks: Array<Record<string, unknown>>): Promise<TaskRecord[]> {
  const job = await engine.submitJob(resolveJobPaths(jobSpec(tasks), baseDir), baseDir);
  await engine.waitForJob(job.id);
  return engine.tasksOfJob(job.id);
}

export async function runTask(engine: Engine, baseDir: string, task: Record<string, unknown>): Promise<TaskRecord> {
  const [record] = await runJob(engine, baseDir, [{ id: 't', ...task }]);
  return record!;
}

/** Submits one task and returns its key at once (for cancel tests). */
export async function startTask(engine: Engine, baseDir: string, task: Record<string, unknown>): Promise<{ key: string; jobId: string }> {
  const job = await engine.submitJob(resolveJobPaths(jobSpec([{ id: 't', ...task }]), baseDir), baseDir);
  return { key: `${job.id}:t`, jobId: job.id };
}

/** Waits until the task has reported progress from its handler (it is past its setup). */
export async function waitForProgress(engine: Engine, key: string, what = 'progress'): Promise<void> {
  await waitFor(() => {
    const task = engine.task(key);
    if (task && task.state !== 'running' && task.state !== 'queued') throw new Error(`task ended ${task.state} before reporting ${what}: ${JSON.stringify(task.error)}`);
    return task?.progressMessage !== null && task?.progressMessage !== undefined;
  }, 30_000, what);
}

export function succeeded<T>(task: TaskRecord): T {
  expect(task.error, `${task.id} failed`).toBeNull();
  expect(task.state).toBe('succeeded');
  return task.result as T;
}

/** A failed task with this code, a message matching `message`, on one line. */
export function expectTaskError(task: TaskRecord, code: string, message?: RegExp): void {
  expect(task.state, JSON.stringify(task.error)).toBe('failed');
  expect(task.error?.code).toBe(code);
  if (message) expect(task.error?.message).toMatch(message);
  expect(task.error?.message).not.toContain('\n');
}

export interface ToolRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a command-line tool to the end. */
export function toolRun(command: string, args: string[], options: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): ToolRun {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 1 << 30, ...options });
  if (result.error) throw result.error;
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Runs a command-line tool and returns its output; a non-zero exit fails the test with its stderr. */
export function tool(command: string, args: string[], options: { cwd?: string; input?: string | Buffer; env?: NodeJS.ProcessEnv } = {}): string {
  const result = toolRun(command, args, options);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} exited ${result.status}: ${result.stderr}`);
  return result.stdout;
}

/** The sqlite3 CLI on `db`; waits for locks instead of failing. */
export function sqlite3(db: string, ...commands: string[]): string {
  return tool('sqlite3', ['-batch', '-bail', '-cmd', '.timeout 60000', db, ...commands]);
}

/** A query's rows as the sqlite3 CLI prints them in CSV mode, parsed. */
export function sqlite3Csv(db: string, sql: string): string[][] {
  return parse(tool('sqlite3', ['-batch', '-csv', '-header', db, sql]), { bom: false, relax_column_count: false }) as string[][];
}

export function parseCsv(text: string): string[][] {
  return parse(text) as string[][];
}

/**
 * Two parsed CSV tables hold the same rows. Cells equal as text, or as numbers where the CLI
 * printed a real with 15 significant digits and Threadline the shortest exact form.
 */
export function expectSameRows(actual: string[][], expected: string[][]): void {
  expect(actual.length).toBe(expected.length);
  for (let r = 0; r < expected.length; r++) {
    const a = actual[r]!;
    const e = expected[r]!;
    expect(a.length, `row ${r} width`).toBe(e.length);
    for (let c = 0; c < e.length; c++) {
      if (a[c] === e[c]) continue;
      const x = Number(a[c]);
      const y = Number(e[c]);
      if (a[c] !== '' && e[c] !== '' && Number.isFinite(x) && Number.isFinite(y) && Number(x.toPrecision(15)) === Number(y.toPrecision(15))) continue;
      expect(a[c], `row ${r}, column ${c} (${expected[0]?.[c]})`).toBe(e[c]);
    }
  }
}

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

/** True when the process may read any file whatever its permissions (root). */
export const privileged = process.getuid?.() === 0;

/** Runs the real `threadline` bin to the end without blocking this process (which may be serving it). */
export function runCliAsync(args: string[], options: { uid?: number; gid?: number } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'], ...options });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
