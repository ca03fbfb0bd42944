import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { connectApi } from '../../electron/serve/node-api-client.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { assertBuilt, finished, jobFile, runBin, spawnBin } from './bin.js';

beforeAll(assertBuilt);

const JOB = {
  name: 'nightly',
  tasks: [
    { id: 'prepare', kind: 'demo.echo', value: 1 },
    { id: 'digest', kind: 'file.hash', paths: ['data.txt'], dependsOn: ['prepare'] },
    { id: 'report', kind: 'demo.echo', value: 2, dependsOn: ['digest'] },
  ],
};

interface JobJson {
  job: { id: string; name: string; state: string };
  tasks: Array<{ id: string; state: string; error: { code: string } | null }>;
}

describe('threadline rerun', () => {
  it('runs a job again, or only what did not succeed, from the store; says so when nothing is left', async () => {
    const dataDir = tempDir();
    const file = jobFile(JOB);
    const first = await runBin(['run', file, '--json', '--data-dir', dataDir, '--workers', '1']);
    expect(first.code).toBe(1);
    const original = JSON.parse(first.stdout) as JobJson;
    expect(original.tasks.map((t) => [t.id, t.state, t.error?.code ?? null])).toEqual([
      ['prepare', 'succeeded', null],
      ['digest', 'failed', 'ENOENT'],
      ['report', 'skipped', 'DEPENDENCY_NOT_MET'],
    ]);

    // Fixed on disk, then only the failed task and its dependent run again, in the job file's folder.
    writeFileSync(join(dirname(file), 'data.txt'), 'rows\n');
    const again = await runBin(['rerun', original.job.id, '--failed', '--json', '--data-dir', dataDir, '--workers', '1']);
    expect(again.code, again.stderr).toBe(0);
    const rerun = JSON.parse(again.stdout) as JobJson;
    expect(rerun.job.id).not.toBe(original.job.id);
    expect(rerun.job).toMatchObject({ name: 'nightly', state: 'succeeded' });
    expect(rerun.tasks.map((t) => [t.id, t.state])).toEqual([
      ['digest', 'succeeded'],
      ['report', 'succeeded'],
    ]);

    const nothing = await runBin(['rerun', rerun.job.id, '--failed', '--data-dir', dataDir, '--workers', '1']);
    expect(nothing.code).toBe(0);
    expect(nothing.stderr).toContain(`nothing to re-run: every task of job ${rerun.job.id} succeeded`);

    const whole = await runBin(['rerun', original.job.id, '--data-dir', dataDir, '--workers', '1', '--no-progress']);
    expect(whole.code, whole.stderr).toBe(0);
    expect(whole.stderr).toMatch(/job j-\S+ \(nightly\): every task of j-\S+ again, 3 tasks/);
    expect(whole.stdout).toContain('succeeded');

    for (const id of ['j-nope', '', ' ']) {
      const unknown = await runBin(['rerun', id, '--data-dir', dataDir]);
      expect(unknown.code).toBe(2);
      expect(unknown.stderr).toBe(`threadline: no job ${JSON.stringify(id)} in this data directory\n`);
    }
  });

  it('hands the job to the serve running on the data directory', async () => {
    const dataDir = tempDir();
    const file = jobFile(JOB);
    const first = await runBin(['run', file, '--json', '--data-dir', dataDir, '--workers', '1']);
    const original = JSON.parse(first.stdout) as JobJson;
    const serve = spawnBin(['serve', '--port', '0', '--workers', '1', '--data-dir', dataDir]);
    const serveDone = finished(serve);
    let stdout = '';
    serve.stdout!.on('data', (chunk: string) => (stdout += chunk));
    const url = new URL(await waitFor(() => stdout.includes('\n') && stdout.split('\n')[0], 30_000, 'the serve URL'));
    onCleanup(async () => {
      serve.kill('SIGINT');
      await serveDone;
    });

    const handed = await runBin(['rerun', original.job.id, '--failed', '--json', '--data-dir', dataDir]);
    expect(handed.code, handed.stderr).toBe(0);
    const { job } = JSON.parse(handed.stdout) as { job: { id: string; taskCount: number } };
    expect(job.taskCount).toBe(2);
    const client = await connectApi({ host: '127.0.0.1', port: Number(url.port), token: url.searchParams.get('token')! });
    onCleanup(() => client.close());
    const detail = await waitFor(async () => client.api.jobDetail({ jobId: job.id }), 10_000, 'the new job on the serve');
    expect((await detail).tasks.map((t) => t.id)).toEqual(['digest', 'report']);
  });
});
