/**
 * The "long job ended" notification, on a real engine. The clock the notifier reads is a test
 * clock, so a job "takes" eleven seconds without the test waiting for them.
 */
import { describe, expect, it } from 'vitest';
import { formatDuration, LONG_JOB_MS, notifyWhenLongJobsEnd, type JobNotice } from '../../electron/desktop/long-job-notifier.js';
import { jobSpec, makeEngine, waitFor } from '../support/engine-fixture.js';

function watch(engine: ReturnType<typeof makeEngine>) {
  const clock = { now: 1_000_000 };
  const notices: JobNotice[] = [];
  const stop = notifyWhenLongJobsEnd(engine, (notice) => notices.push(notice), { now: () => clock.now });
  return { clock, notices, stop };
}

describe('long job notifications', () => {
  it('notifies when a job that ran longer than 10 s ends, with its outcome and duration', async () => {
    const engine = makeEngine();
    const { clock, notices } = watch(engine);
    const job = await engine.submitJob(jobSpec([{ id: 'a', kind: 'demo.sleep', ms: 200 }, { id: 'b', kind: 'demo.fail', message: 'boom' }], { name: 'nightly' }), '/');
    clock.now += LONG_JOB_MS + 1500;
    await engine.waitForJob(job.id);
    expect(notices).toEqual([{ title: 'Job "nightly" failed', body: '2 tasks in 12 s' }]);
  });

  it('stays quiet for a short job, and for a job interrupted by a quit', async () => {
    const engine = makeEngine();
    const { clock, notices } = watch(engine);
    const quick = await engine.submitJob(jobSpec([{ id: 'a', kind: 'demo.echo' }]), '/');
    await engine.waitForJob(quick.id);
    const long = await engine.submitJob(jobSpec([{ id: 'a', kind: 'demo.cpu', ms: 600_000 }]), '/');
    await waitFor(() => engine.task(`${long.id}:a`)?.state === 'running', 20_000, 'the task to run');
    clock.now += LONG_JOB_MS * 6;
    await engine.shutdown({ deadlineMs: 1000 });
    expect(engine.job(long.id)?.state).toBe('interrupted');
    expect(notices).toEqual([]);
  });

  it('times a retried job from its new start, and stops when asked', async () => {
    const engine = makeEngine();
    const { clock, notices, stop } = watch(engine);
    const job = await engine.submitJob(jobSpec([{ id: 'a', kind: 'demo.fail' }], { name: 'flaky' }), '/');
    await engine.waitForJob(job.id);
    clock.now += LONG_JOB_MS * 10;
    expect(engine.retryTask(`${job.id}:a`)).toBe(true);
    await engine.waitForJob(job.id);
    expect(notices).toEqual([]);

    expect(engine.retryTask(`${job.id}:a`)).toBe(true);
    clock.now += LONG_JOB_MS + 1;
    await engine.waitForJob(job.id);
    expect(notices).toEqual([{ title: 'Job "flaky" failed', body: '1 task in 10 s' }]);

    stop();
    expect(engine.retryTask(`${job.id}:a`)).toBe(true);
    clock.now += LONG_JOB_MS * 2;
    await engine.waitForJob(job.id);
    expect(notices).toHaveLength(1);
  });

  it('formats durations for people', () => {
    expect(formatDuration(10_400)).toBe('10 s');
    expect(formatDuration(125_000)).toBe('2 min 5 s');
    expect(formatDuration(2 * 3600_000 + 7 * 60_000)).toBe('2 h 7 min');
  });
});
