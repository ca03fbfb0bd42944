import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach } from 'vitest';
import type { JobSpec, TaskSpec } from '../../contract/job-spec.js';
import { validateJobSpec } from '../../contract/job-spec.js';
import { Engine, type EngineOptions } from '../../electron/engine/engine.js';

const cleanups: Array<() => Promise<void> | void> = [];

afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** A fresh folder, removed after the test. */
export function tempDir(prefix = 'threadline-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A real engine on a temp data dir, shut down after the test. */
export function makeEngine(options: Partial<EngineOptions> = {}): Engine {
  const engine = new Engine({ dataDir: options.dataDir ?? tempDir(), poolSize: 2, telemetryIntervalMs: 100, ...options });
  cleanups.push(() => engine.shutdown({ deadlineMs: 1000 }));
  return engine;
}

export function onCleanup(fn: () => Promise<void> | void): void {
  cleanups.push(fn);
}

/** Builds a job spec the way a job file would, through the real validator. */
export function jobSpec(tasks: Array<Record<string, unknown>>, header: Record<string, unknown> = {}): JobSpec {
  const result = validateJobSpec({ name: 'test', ...header, tasks });
  if (!result.ok) throw new Error(`bad test job: ${JSON.stringify(result.issues)}`);
  return result.spec;
}

export type { TaskSpec };

/**
 * Polls until `check` returns a truthy value (or throws after `timeoutMs`). A check that starts a
 * process (the sqlite3 shell) takes a longer `intervalMs`, so as not to load the machine it waits on.
 */
export async function waitFor<T>(check: () => T | undefined | null | false, timeoutMs = 20_000, what = 'condition', intervalMs = 10): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
