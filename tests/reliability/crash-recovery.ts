import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { STORE_FILE } from '../../electron/engine/job-store.js';
import { runBin } from '../cli/bin.js';
import { integrityCheck, sqlite3, sqlite3Json, storeStateCounts } from './sqlite-cli.js';

/** What the store said about one task, read by the sqlite3 shell. */
export interface StoredRow {
  id: string;
  state: string;
  attempts: number;
  result: string | null;
}

export function storeFile(dataDir: string): string {
  return join(dataDir, STORE_FILE);
}

export function storedRows(dataDir: string, jobId: string): Map<string, StoredRow> {
  const rows = sqlite3Json<StoredRow>(storeFile(dataDir), `SELECT id, state, attempts, result FROM tasks WHERE job_id = '${jobId}'`);
  return new Map(rows.map((row) => [row.id, row]));
}

/** Reads a live store; null while it (or its schema) does not exist yet, or it is busy a moment. */
function whileLive<T>(dataDir: string, read: (db: string) => T): T | null {
  if (!existsSync(storeFile(dataDir))) return null;
  try {
    return read(storeFile(dataDir));
  } catch (error) {
    if (/no such table|database is locked/.test(String((error as { stderr?: unknown }).stderr))) return null;
    throw error;
  }
}

export function liveCounts(dataDir: string): Record<string, number> | null {
  return whileLive(dataDir, (db) => storeStateCounts(db));
}

export function liveTaskState(dataDir: string, taskId: string): string | null {
  return whileLive(dataDir, (db) => sqlite3(db, `SELECT state FROM tasks WHERE id = '${taskId}'`, { readonly: true }));
}

export function onlyJobId(dataDir: string): string {
  const jobs = sqlite3Json<{ id: string }>(storeFile(dataDir), 'SELECT id FROM jobs WHERE admitted = 1', { readonly: true });
  expect(jobs).toHaveLength(1);
  return jobs[0]!.id;
}

/**
 * The checks after a SIGKILL, in the order a person would meet them: the store file is sound,
 * every task row is there, what had finished is kept as it was, and `threadline jobs` shows the
 * tasks that were running as interrupted. Returns the ids of those tasks.
 */
export async function expectRecoverableStore(
  dataDir: string,
  jobId: string,
  taskCount: number,
  finishedBefore: ReadonlyMap<string, StoredRow>,
): Promise<Set<string>> {
  const db = storeFile(dataDir);
  expect(integrityCheck(db)).toBe('ok');
  expect(sqlite3(db, 'PRAGMA foreign_key_check')).toBe('');
  const atCrash = storedRows(dataDir, jobId);
  expect(atCrash.size).toBe(taskCount);
  for (const [id, before] of finishedBefore) expect({ ...atCrash.get(id), id }).toEqual({ ...before, id });
  const running = new Set([...atCrash.values()].filter((t) => t.state === 'running' || t.state === 'cancelling').map((t) => t.id));

  const listed = await runBin(['jobs', '--data-dir', dataDir, '--json']);
  expect(listed.stderr).toBe('');
  expect(listed.code).toBe(0);
  const [job, ...others] = JSON.parse(listed.stdout) as Array<{ id: string; state: string; taskCount: number; counts: Record<string, number> }>;
  expect(others).toEqual([]);
  expect(job).toMatchObject({ id: jobId, state: 'interrupted', taskCount });
  expect(job!.counts.running).toBeUndefined();
  expect(job!.counts.cancelling).toBeUndefined();
  expect(job!.counts.interrupted ?? 0).toBe(running.size);
  expect(Object.values(job!.counts).reduce((a, b) => a + b, 0)).toBe(taskCount);
  const after = storedRows(dataDir, jobId);
  for (const id of running) expect({ id, state: after.get(id)?.state }).toEqual({ id, state: 'interrupted' });
  return running;
}

/**
 * `threadline resume` runs the job to the end: every task succeeds, what had finished before
 * the crash did not run again, and what was running ran once more.
 */
export async function expectResumeCompletes(
  dataDir: string,
  jobId: string,
  taskCount: number,
  finishedBefore: ReadonlyMap<string, StoredRow>,
  interrupted: ReadonlySet<string>,
): Promise<void> {
  const resumed = await runBin(['resume', '--data-dir', dataDir, '--workers', '2', '--json']);
  expect(resumed.stderr).toBe('');
  expect(resumed.code).toBe(0);
  const out = JSON.parse(resumed.stdout) as { job: { id: string; state: string }; tasks: Array<{ id: string; state: string }> };
  expect(out.job).toMatchObject({ id: jobId, state: 'succeeded' });
  expect(out.tasks).toHaveLength(taskCount);

  const db = storeFile(dataDir);
  expect(integrityCheck(db)).toBe('ok');
  expect(storeStateCounts(db, jobId)).toEqual({ succeeded: taskCount });
  const final = storedRows(dataDir, jobId);
  for (const [id, before] of finishedBefore) expect({ ...final.get(id), id }).toEqual({ ...before, id });
  for (const id of interrupted) expect({ id, attempts: final.get(id)?.attempts }).toEqual({ id, attempts: 2 });
}
