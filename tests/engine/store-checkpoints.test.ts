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

  it('with a start delay, the thread starts only when it is over; until then the main connection checkpoints', async () => {
    const dataDir = tempDir();
    const late = makeEngine({ dataDir, checkpointIntervalMs: 20, checkpointThreadDelayMs: 60_000 });
    // An engine made after it, without a delay, has its thread checkpointing first.
    const prompt = makeEngine({ checkpointIntervalMs: 20 });
    const job = await late.submitJob(jobSpec(echoes(200)), '/');
    expect((await late.waitForJob(job.id)).state).toBe('succeeded');
    await waitFor(() => prompt.store.db.pragma('wal_autocheckpoint', { simple: true }) === 0, 20_000, 'the prompt engine\'s checkpoint thread');
    expect(late.store.db.pragma('wal_autocheckpoint', { simple: true })).toBe(1000);
    expect(late.checkpointer.checkpoints).toBe(0);
    // Shut down before the delay is over: the thread never starts, and the store is whole.
    await late.shutdown();
    expect(late.checkpointer.failure).toBeNull();
    const db = join(dataDir, STORE_FILE);
    expect(execFileSync('sqlite3', [db, 'PRAGMA integrity_check'], { encoding: 'utf8' }).trim()).toBe('ok');
    expect(execFileSync('sqlite3', [db, `SELECT count(*) FROM tasks WHERE state = 'succeeded'`], { encoding: 'utf8' }).trim()).toBe('200');

    const soon = makeEngine({ checkpointIntervalMs: 20, checkpointThreadDelayMs: 50 });
    await waitFor(() => soon.store.db.pragma('wal_autocheckpoint', { simple: true }) === 0, 20_000, 'the delayed checkpoint thread to start');
    const more = await soon.submitJob(jobSpec(echoes(500)), '/');
    await soon.waitForJob(more.id);
    await waitFor(() => soon.checkpointer.checkpoints > 0, 20_000, 'a checkpoint by the delayed thread');
    expect(soon.checkpointer.failure).toBeNull();
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
