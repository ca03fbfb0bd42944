import { join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { newJobId } from '../../electron/engine/ids.js';
import { STORE_FILE } from '../../electron/engine/job-store.js';
import { jobSpec, makeEngine, tempDir } from '../support/engine-fixture.js';

describe('job ids', () => {
  it('are never issued twice within one millisecond, and sort in the order they were issued', () => {
    // 2^16 ids in the same millisecond: two random 16-bit suffixes alone would meet long before.
    const now = Date.now() + 3_600_000;
    const ids = Array.from({ length: 70_000 }, () => newJobId(now));
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    expect(ids[0]).toMatch(/^j-[0-9a-z]+-[0-9a-f]{4}$/);
  });

  it('keep sorting in the order they were issued when the clock is set back', () => {
    const ahead = Date.now() + 7_200_000;
    const before = newJobId(ahead);
    const after = newJobId(ahead - 60_000);
    expect(after > before).toBe(true);
  });

  it('three hundred jobs submitted at once are all stored, each under its own id', async () => {
    const dataDir = tempDir();
    const engine = makeEngine({ dataDir });
    const jobs = await Promise.all(
      Array.from({ length: 300 }, (_, n) => engine.submitJob(jobSpec([{ id: 'a', kind: 'demo.echo', value: n }], { name: `job-${n}` }), '/')),
    );
    expect(new Set(jobs.map((job) => job.id)).size).toBe(300);
    for (const job of jobs) expect((await engine.waitForJob(job.id)).state).toBe('succeeded');
    await engine.shutdown();
    const stored = execFileSync('sqlite3', ['-batch', join(dataDir, STORE_FILE), 'SELECT count(DISTINCT id) FROM jobs'], { encoding: 'utf8' }).trim();
    expect(stored).toBe('300');
  });
});
