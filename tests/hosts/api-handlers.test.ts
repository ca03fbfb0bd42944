import { describe, expect, it } from 'vitest';
import type { ApiResults } from '../../contract/api.js';
import { THREAD_ABOVE_CHARS } from '../../electron/engine/job-reader.js';
import { ApiHandlers, type ApiOutcome } from '../../electron/hosts/api-handlers.js';
import { MAX_NESTING_DEPTH } from '../../shared/nesting.js';
import { DEMO_JOB_DOCUMENT, demoCpuSlices } from '../../electron/hosts/demo-workload.js';
import { jobSpec, makeEngine, tempDir, waitFor } from '../support/engine-fixture.js';

function value<T>(outcome: ApiOutcome): T {
  if (!outcome.ok) throw new Error(`call failed: ${JSON.stringify(outcome.error)}`);
  return outcome.value as T;
}

function setUp(options: { dataDir?: string } = {}) {
  const engine = makeEngine({ ...options, cancelGraceMs: 200 });
  const baseDir = tempDir();
  return { engine, baseDir, api: new ApiHandlers(engine, { defaultBaseDir: baseDir }) };
}

describe('API handlers', () => {
  it('refuses unknown methods and malformed params with the field and the expectation', async () => {
    const { api } = setUp();
    expect(await api.call('dropTables', {})).toEqual({ ok: false, error: { code: 'UNKNOWN_METHOD', message: 'unknown method "dropTables"' } });
    expect(await api.call('__proto__', {})).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    expect(await api.call('cancelTask', { key: 42 })).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST', message: expect.stringMatching(/^cancelTask: key: .*expected string/), issues: [{ path: 'key' }] },
    });
    expect(await api.call('cancelTask', { key: 'no-colon' })).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST', message: 'cancelTask: key: expected a task key "<jobId>:<taskId>"' },
    });
    expect(await api.call('runDemo', { inline: 'yes' })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', issues: [{ path: 'inline' }] } });
    expect(await api.call('cancelAll', { everything: true })).toMatchObject({
      ok: false,
      error: { code: 'BAD_REQUEST', message: expect.stringContaining('everything') },
    });
    expect(await api.call('submitJob', null)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', issues: [{ path: 'text' }, { path: 'fileName' }] } });
    expect(await api.call('cancelTask', { key: 'j-x:missing' })).toEqual({ ok: false, error: { code: 'NOT_FOUND', message: 'no task "j-x:missing" in this engine' } });
    expect(await api.call('cancelJob', { jobId: 'j-nope' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });
    expect(await api.call('taskDetail', { key: 'j-nope:a' })).toEqual({ ok: false, error: { code: 'NOT_FOUND', message: 'no task "j-nope:a"' } });
  });

  it('returns job-file problems as field issues, the same ones the CLI reports', async () => {
    const { api } = setUp();
    const submit = async (text: string, fileName = 'upload.json') => value<ApiResults['submitJob']>(await api.call('submitJob', { text, fileName }));
    expect(await submit('{"name": "x", "tasks": [')).toEqual({ ok: false, issues: [{ path: '', message: expect.stringMatching(/^not valid JSON/) }] });
    expect(await submit('{"name": "x"}')).toEqual({ ok: false, issues: [{ path: 'tasks', message: 'missing; expected array' }] });
    expect(await submit('{"name":"x","tasks":[{"id":"a","kind":"demo.nope"}]}')).toEqual({
      ok: false,
      issues: [{ path: 'tasks[0].kind', message: expect.stringMatching(/^unknown kind "demo.nope"; expected one of .*demo.cpu/) }],
    });
    expect(await submit('name: x\ntasks:\n  - {id: a, kind: demo.cpu, ms: fast}\n', 'upload.yaml')).toEqual({
      ok: false,
      issues: [{ path: 'tasks[0].ms', message: expect.stringContaining('expected number') }],
    });
    expect(await submit('{"name":"x","tasks":[{"id":"a","kind":"demo.echo"},{"id":"a","kind":"demo.echo"}]}')).toMatchObject({
      ok: false,
      issues: [{ path: 'tasks[1].id', message: 'duplicate id "a" (also tasks[0])' }],
    });
    expect(await submit('{"name":"x","tasks":[{"id":"a","kind":"demo.echo","dependsOn":["b"]},{"id":"b","kind":"demo.echo","dependsOn":["a"]}]}')).toMatchObject({
      ok: false,
      issues: [{ path: 'tasks[0].dependsOn', message: 'dependency cycle: a -> b -> a' }],
    });
    expect(value(await api.call('submitJob', { text: '{"name":"x","tasks":[{"id":"a","kind":"demo.echo"}]}', fileName: 'x.json', baseDir: 'relative/dir' }))).toEqual({
      ok: false,
      issues: [{ path: '', message: 'baseDir must be an absolute folder (got "relative/dir")' }],
    });
  });

  it('refuses YAML nested past the limit before composing it, small or read in a thread, with the path the CLI reports', async () => {
    const { api } = setUp();
    const submit = async (text: string) => value<ApiResults['submitJob']>(await api.call('submitJob', { text, fileName: 'deep.yaml' }));
    const job = (value: string) => `name: deep\ntasks:\n  - id: a\n    kind: demo.echo\n    value: ${value}\n`;
    const big = job(`${'['.repeat(100_000)}1${']'.repeat(100_000)}`);
    expect(big.length).toBeGreaterThan(THREAD_ABOVE_CHARS);
    for (const text of [job(`${'{a: '.repeat(3_000)}1${'}'.repeat(3_000)}`), big]) {
      expect(await submit(text)).toEqual({
        ok: false,
        issues: [{ path: text === big ? 'tasks[0].value[0][0]' : 'tasks[0].value.a.a', message: `nests arrays and objects more than ${MAX_NESTING_DEPTH} levels deep; the limit is ${MAX_NESTING_DEPTH}` }],
      });
    }
  });

  it('submits a valid job, resolves its paths against baseDir, and runs it', async () => {
    const { api, engine, baseDir } = setUp();
    const submitted = value<ApiResults['submitJob']>(
      await api.call('submitJob', { text: 'name: upload\ntasks:\n  - {id: a, kind: demo.echo, value: 7}\n  - {id: b, kind: demo.cpu, ms: 20, dependsOn: [a]}\n', fileName: 'up.yaml' }),
    );
    if (!submitted.ok) throw new Error(JSON.stringify(submitted.issues));
    expect(submitted.job).toMatchObject({ name: 'upload', baseDir, taskCount: 2 });
    await engine.waitForJob(submitted.job.id);
    const detail = value<ApiResults['taskDetail']>(await api.call('taskDetail', { key: `${submitted.job.id}:a` }));
    expect(detail.task).toMatchObject({ state: 'succeeded', result: 7 });
    expect(detail.attempts).toEqual([expect.objectContaining({ attempt: 1, state: 'succeeded' })]);
  });

  it('reads a big upload in a thread: the job runs, its problems come back as field issues, a missing thread is named', async () => {
    const { api, engine, baseDir } = setUp();
    const tasks = Array.from({ length: 2000 }, (_, i) => ({ id: `t${i}`, kind: 'demo.echo', value: i, dependsOn: i % 100 ? [`t${i - 1}`] : [] }));
    const text = JSON.stringify({ name: 'big upload', tasks });
    expect(text.length).toBeGreaterThan(THREAD_ABOVE_CHARS);
    const submitted = value<ApiResults['submitJob']>(await api.call('submitJob', { text, fileName: 'big.json' }));
    if (!submitted.ok) throw new Error(JSON.stringify(submitted.issues));
    expect(submitted.job).toMatchObject({ name: 'big upload', baseDir, taskCount: 2000 });
    expect((await engine.waitForJob(submitted.job.id)).state).toBe('succeeded');

    tasks[1999]!.kind = 'demo.nope';
    expect(value(await api.call('submitJob', { text: JSON.stringify({ name: 'big upload', tasks }), fileName: 'big.json' }))).toEqual({
      ok: false,
      issues: [{ path: 'tasks[1999].kind', message: expect.stringMatching(/^unknown kind "demo.nope"; expected one of /) }],
    });

    const broken = new ApiHandlers(engine, { defaultBaseDir: baseDir, jobReaderFile: '/nowhere/job-reader.js' });
    expect(await broken.call('submitJob', { text, fileName: 'big.json' })).toEqual({
      ok: false,
      error: { code: 'INTERNAL', message: 'cannot read the job in a thread (/nowhere/job-reader.js): no such file' },
    });
  });

  it('cancels a running task, a job and everything; retries a failed task', async () => {
    const { api, engine } = setUp();
    const job = await engine.submitJob(
      jobSpec([
        { id: 'long', kind: 'demo.cpu', ms: 60_000 },
        { id: 'waits', kind: 'demo.echo', dependsOn: ['long'] },
        { id: 'boom', kind: 'demo.fail', message: 'always fails' },
        { id: 'fine', kind: 'demo.echo' },
      ]),
      '/',
    );
    await waitFor(() => engine.task(`${job.id}:long`)?.state === 'running');
    expect(value(await api.call('cancelTask', { key: `${job.id}:long` }))).toEqual({ cancelled: true });
    await engine.waitForJob(job.id);
    expect(engine.task(`${job.id}:long`)?.state).toBe('cancelled');
    expect(engine.task(`${job.id}:waits`)?.state).toBe('skipped');
    expect(value(await api.call('cancelTask', { key: `${job.id}:long` }))).toEqual({ cancelled: false });

    expect(value(await api.call('retryTask', { key: `${job.id}:boom` }))).toEqual({ retried: true });
    await engine.waitForJob(job.id);
    expect(engine.task(`${job.id}:boom`)).toMatchObject({ state: 'failed', attempts: 2 });
    expect(value(await api.call('retryTask', { key: `${job.id}:fine` }))).toEqual({ retried: false });

    const other = await engine.submitJob(jobSpec([{ id: 'a', kind: 'demo.cpu', ms: 60_000 }, { id: 'b', kind: 'demo.sleep', ms: 60_000 }]), '/');
    expect(value(await api.call('cancelJob', { jobId: other.id }))).toEqual({ cancelled: 2 });
    await engine.waitForJob(other.id);
    expect(engine.job(other.id)?.state).toBe('cancelled');
    const third = await engine.submitJob(jobSpec([{ id: 'c', kind: 'demo.sleep', ms: 60_000 }]), '/');
    expect(value(await api.call('cancelAll', {}))).toEqual({ cancelled: 1 });
    await engine.waitForJob(third.id);
    expect(engine.task(`${third.id}:c`)?.state).toBe('cancelled');
  });

  it('lists live jobs with their counts, and the history of the store with them', async () => {
    const dataDir = tempDir();
    const earlier = makeEngine({ dataDir });
    const old = await earlier.submitJob(jobSpec([{ id: 'x', kind: 'demo.echo', value: 'from before' }]), '/');
    await earlier.waitForJob(old.id);
    await earlier.shutdown();

    const { api, engine } = setUp({ dataDir });
    const now = await engine.submitJob(jobSpec([{ id: 'a', kind: 'demo.echo' }, { id: 'b', kind: 'demo.fail' }]), '/');
    await engine.waitForJob(now.id);
    const live = value<ApiResults['listJobs']>(await api.call('listJobs', { history: false }));
    expect(live.jobs).toEqual([expect.objectContaining({ id: now.id, state: 'failed', counts: { succeeded: 1, failed: 1 } })]);
    const all = value<ApiResults['listJobs']>(await api.call('listJobs', { history: true }));
    expect(all.jobs.map((j) => j.id)).toEqual([now.id, old.id]);
    expect(all.jobs[1]).toMatchObject({ state: 'succeeded', counts: { succeeded: 1 } });
    // A task of the earlier run comes from the store.
    const detail = value<ApiResults['taskDetail']>(await api.call('taskDetail', { key: `${old.id}:x` }));
    expect(detail).toEqual({ task: expect.objectContaining({ key: `${old.id}:x`, state: 'succeeded', result: 'from before' }), attempts: [expect.objectContaining({ attempt: 1 })], logs: [] });
    expect(detail.task).not.toHaveProperty('seq');
  });

  it('runs the demo on the pool: every demo kind, something to cancel, a failure that retries', async () => {
    const { api, engine } = setUp();
    const result = value<ApiResults['runDemo']>(await api.call('runDemo', { inline: false }));
    if (result.mode !== 'pool') throw new Error('expected a pool run');
    expect(result.job.taskCount).toBe(DEMO_JOB_DOCUMENT.tasks.length);
    const kinds = new Set(engine.tasksOfJob(result.job.id).map((t) => t.kind));
    expect([...kinds].sort()).toEqual(['demo.alloc', 'demo.block', 'demo.cpu', 'demo.echo', 'demo.fail', 'demo.sleep']);
    await waitFor(() => engine.task(`${result.job.id}:stuck-sync-call`)?.state === 'running', 30_000, 'the stuck task to start');
    // The stuck synchronous call ignores the cancel flag: it ends by its thread being terminated.
    expect(value(await api.call('cancelTask', { key: `${result.job.id}:stuck-sync-call` }))).toEqual({ cancelled: true });
    const done = await engine.waitForJob(result.job.id);
    expect(done.state).toBe('failed');
    const byId = new Map(engine.tasksOfJob(result.job.id).map((t) => [t.id, t]));
    expect(byId.get('stuck-sync-call')?.state).toBe('cancelled');
    expect(byId.get('flaky')).toMatchObject({ state: 'failed', attempts: 2 });
    expect(byId.get('after-failure')?.state).toBe('skipped');
    expect(byId.get('summarize')?.state).toBe('succeeded');
    expect(byId.get('allocate-128mb')).toMatchObject({ state: 'succeeded', result: { allocatedMb: 128 } });
  });

  it('runs the demo CPU work inline and answers with what it measured, the stall the loop-delay monitor saw', async () => {
    const watchedFrom = performance.now();
    const { api, engine } = setUp();
    const slices = demoCpuSlices();
    let worstDelay = 0;
    engine.on('telemetry', (sample) => (worstDelay = Math.max(worstDelay, sample.loop.delayMaxMs)));
    const result = value<ApiResults['runDemo']>(await api.call('runDemo', { inline: true }));
    if (result.mode !== 'inline') throw new Error(`expected an inline run, got ${result.mode}`);
    expect(result.slices).toBe(slices.length);
    // Each slice runs at least its task's time (the demo's CPU work spins until its time is up).
    expect(result.longestStallMs).toBeGreaterThanOrEqual(Math.max(...slices));
    expect(result.blockedMs).toBeGreaterThanOrEqual(slices.reduce((a, b) => a + b, 0));
    // The loop-delay monitor's worst delay is the longest stall shown: it saw all of it (less
    // up to its 10 ms tick) ...
    const seen = Math.max(worstDelay, engine.sampleTelemetry().loop.delayMaxMs);
    const watchedMs = performance.now() - watchedFrom;
    expect(seen).toBeGreaterThanOrEqual(result.longestStallMs - 15);
    // ... and it is that one stall, not several: the slices run one per turn of the loop, so the
    // worst delay and the other slices' stalls fit, one after the other, in the time watched.
    expect(seen + result.blockedMs - result.longestStallMs).toBeLessThanOrEqual(watchedMs);
  });

  it('opens a past job with its tasks and attempts, finds jobs by name or id, re-runs a job, and tells its base folder', async () => {
    const dataDir = tempDir();
    const first = setUp({ dataDir });
    const spec = jobSpec([
      { id: 'ok', kind: 'demo.echo', value: 1 },
      { id: 'bad', kind: 'demo.fail', message: 'boom' },
      { id: 'after', kind: 'demo.echo', dependsOn: ['bad'] },
    ], { name: 'nightly-import' });
    const job = await first.engine.submitJob(spec, first.baseDir);
    await first.engine.waitForJob(job.id);
    await first.engine.shutdown();

    const { api, baseDir } = setUp({ dataDir });
    expect(value(await api.call('hostInfo', {}))).toEqual({ defaultBaseDir: baseDir });
    const detail = value<ApiResults['jobDetail']>(await api.call('jobDetail', { jobId: job.id }));
    expect(detail.job).toMatchObject({ id: job.id, name: 'nightly-import', state: 'failed', counts: { succeeded: 1, failed: 1, skipped: 1 } });
    expect(detail.tasks.map((t) => [t.id, t.state, t.error?.code ?? null, t.result])).toEqual([
      ['ok', 'succeeded', null, null],
      ['bad', 'failed', 'DEMO_FAILURE', null],
      ['after', 'skipped', 'DEPENDENCY_NOT_MET', null],
    ]);
    expect(Object.keys(detail.attempts).sort()).toEqual([`${job.id}:bad`, `${job.id}:ok`]);
    expect(await api.call('jobDetail', { jobId: 'j-nope' })).toMatchObject({ ok: false, error: { code: 'NOT_FOUND' } });

    const found = async (search: string) => value<ApiResults['listJobs']>(await api.call('listJobs', { history: true, search })).jobs.map((j) => j.id);
    expect(await found('NIGHTLY')).toEqual([job.id]);
    expect(await found(job.id.slice(2, 8))).toEqual([job.id]);
    expect(await found('weekly')).toEqual([]);

    const rerun = value<ApiResults['rerunJob']>(await api.call('rerunJob', { jobId: job.id, failedOnly: true }));
    if (!rerun.ok) throw new Error(rerun.reason);
    expect(rerun.job).toMatchObject({ name: 'nightly-import', taskCount: 2, baseDir: first.baseDir });
    expect(await found('nightly')).toHaveLength(2);
    expect(await api.call('rerunJob', { jobId: job.id })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', issues: [{ path: 'failedOnly' }] } });
  });

  it('refuses a base folder that does not exist, naming it', async () => {
    const { api, baseDir } = setUp();
    const text = '{"name":"x","tasks":[{"id":"a","kind":"demo.echo"}]}';
    expect(value(await api.call('submitJob', { text, fileName: 'x.json', baseDir: `${baseDir}/missing` }))).toEqual({
      ok: false,
      issues: [{ path: '', message: `baseDir must be an existing folder (nothing at "${baseDir}/missing")` }],
    });
  });
});
