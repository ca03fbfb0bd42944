import { execFileSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { STORE_FILE } from '../../electron/engine/job-store.js';
import { jobSpec, makeEngine, tempDir, waitFor } from '../support/engine-fixture.js';

const echoes = (n: number) => Array.from({ length: n }, (_, i) => ({ id: `t${i}`, kind: 'demo.echo', value: i }));

describe('store checkpoints on their own thread', () => {
  it('the main connection stops checkpointing, and the thread folds the whole log into the file', async () => {
    const dataDir = tempDir();
    const engine = makeEngine({ dataDir, checkpointIntervalMs: 20 });
    await waitFor(() => engine.store.db.pragma('wal_autocheckpoint', { simple: true }) === 0, 20_000, 'the checkpoint thread to start');
    const job = await engine.submitJob(jobSpec(echoes(5_000)), '/');
    await engine.waitForJob(job.id);
    const before = engine.checkpointer.checkpoints;
    // After the writer's last slice, a later checkpoint finds every frame of the log in the file.
    await waitFor(() => engine.checkpointer.checkpoints > before && engine.checkpointer.lastResult?.checkpointedFrames === engine.checkpointer.lastResult?.logFrames, 20_000, 'a full checkpoint');
    expect(engine.checkpointer.failure).toBeNull();
    expect(engine.checkpointer.lastResult!.logFrames).toBeGreaterThan(0);

    await engine.shutdown();
    const db = join(dataDir, STORE_FILE);
    expect(execFileSync('sqlite3', [db, 'PRAGMA integrity_check'], { encoding: 'utf8' }).trim()).toBe('ok');
    expect(execFileSync('sqlite3', [db, `SELECT count(*) FROM tasks WHERE state = 'succeeded'`], { encoding: 'utf8' }).trim()).toBe('5000');
    // The last connection to close folds and removes the log.
    expect(!existsSync(`${db}-wal`) || statSync(`${db}-wal`).size === 0).toBe(true);
  });

  it('without its thread file, the main connection keeps checkpointing and the engine works as before', async () => {
    const engine = makeEngine({ checkpointFile: join(tempDir(), 'missing-thread.js') });
    await waitFor(() => engine.checkpointer.failure !== null, 20_000, 'the thread to fail');
    expect(engine.checkpointer.failure!.message).toMatch(/missing-thread\.js/);
    expect(engine.store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    const job = await engine.submitJob(jobSpec(echoes(100)), '/');
    expect((await engine.waitForJob(job.id)).state).toBe('succeeded');
  });
});
