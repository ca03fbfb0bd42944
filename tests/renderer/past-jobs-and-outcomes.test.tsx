// @vitest-environment happy-dom
import { act, cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import { jobIdOfHash, jobHref } from '../../renderer/src/app/job-route';
import { outcomeText } from '../../renderer/src/app/JobOutcomeWatcher';
import { queueTimes } from '../../renderer/src/detail/TaskDetail';
import { RecordingApi } from './recording-api';
import { mountApp } from './mount-app';
import { giveTaskListAHeight } from './task-list-layout';
import { attempt, counts, delta, job, snapshot, T0, task } from './records';
import './dom-waits';

giveTaskListAHeight();
afterEach(() => {
  cleanup();
  window.history.replaceState(null, '', '/');
});

const row = (taskId: string) => screen.getAllByRole('row').find((r) => within(r).queryByRole('cell', { name: taskId }))!;
const notices = () => screen.getByRole('status', { name: 'Notices' });

const PAST_JOB = job({ id: 'j-old', name: 'nightly', state: 'failed', createdAt: T0 - 3_600_000, finishedAt: T0 - 3_500_000, taskCount: 2 });
const PAST_TASKS = [
  task('export', { jobId: 'j-old', state: 'succeeded', attempts: 1, startedAt: T0 - 3_599_000, finishedAt: T0 - 3_598_000, worker: 'w1', progress: 1 }),
  task('digest', {
    jobId: 'j-old',
    kind: 'file.hash',
    state: 'failed',
    attempts: 1,
    startedAt: T0 - 3_598_000,
    finishedAt: T0 - 3_597_000,
    worker: 'w1',
    error: { code: 'ENOENT', message: "no such file or directory, open '/data/x.csv'" },
  }),
];

describe('past jobs, links and outcomes', () => {
  it('opens a job of the history from a link with its id, keeping the page’s query (token)', async () => {
    window.history.replaceState(null, '', `/?token=abc${jobHref('j-old')}`);
    const api = new RecordingApi();
    api.answers.jobDetail = () => ({
      job: { ...PAST_JOB, counts: { succeeded: 1, failed: 1 } },
      tasks: PAST_TASKS,
      attempts: { 'j-old:export': [attempt(1, T0 - 3_599_000, T0 - 3_598_000, 'w1')] },
    });
    const { send, flush } = mountApp(api);
    expect(api.callsOf('jobDetail')).toEqual([]); // not before the first snapshot: the host may hold it
    send(snapshot(1, { jobs: [job({ id: 'j-live', name: 'nightly', createdAt: T0 })], tasks: [task('export', { jobId: 'j-live' })] }));
    await waitFor(() => expect(api.callsOf('jobDetail')).toEqual([{ jobId: 'j-old' }]));
    flush();
    // The table shows that job only; two runs of "nightly" are told apart by their start time.
    await waitFor(() => expect(screen.getByTestId('task-count').textContent).toBe('2 of 3'));
    const jobCell = within(row('digest')).getAllByRole('cell')[4]!;
    expect(jobCell.textContent).toMatch(/^nightly · \d\d:\d\d:\d\d$/);
    const options = within(screen.getByRole('combobox', { name: 'Job' })).getAllByRole('option').map((o) => o.textContent);
    expect(options).toHaveLength(3);
    expect(new Set(options.slice(1).map((o) => o!.replace(/ \(.*\)$/, ''))).size).toBe(2);
    expect(window.location.search).toBe('?token=abc');
    // A later snapshot (a reconnect) keeps the job opened from the history.
    send(snapshot(5, { jobs: [job({ id: 'j-live', name: 'nightly' })], tasks: [task('export', { jobId: 'j-live' })] }));
    expect(screen.getByTestId('task-count').textContent).toBe('2 of 3');
    // Choosing "all jobs" leaves the job's URL.
    fireEvent.change(screen.getByRole('combobox', { name: 'Job' }), { target: { value: '' } });
    expect(screen.getByTestId('task-count').textContent).toBe('3 of 3');
    expect(window.location.hash).toBe('');
  });

  it('says why a job of the link cannot be opened', async () => {
    window.history.replaceState(null, '', `/?token=abc${jobHref('j-gone')}`);
    const api = new RecordingApi();
    api.answers.jobDetail = () => Promise.reject(new Error('no job j-gone'));
    mountApp(api, snapshot(1));
    await waitFor(() => expect(screen.getByText(/Cannot open job j-gone: no job j-gone/)).toBeTruthy());
  });

  it('searches the history by name, and opens a job found', async () => {
    const api = new RecordingApi();
    api.answers.listJobs = (params: { search?: string }) => ({
      jobs: params.search === 'night' ? [{ ...PAST_JOB, counts: { succeeded: 1, failed: 1 } }] : [],
    });
    api.answers.jobDetail = () => ({ job: { ...PAST_JOB, counts: {} }, tasks: PAST_TASKS, attempts: {} });
    const { flush } = mountApp(api, snapshot(1));
    fireEvent.click(screen.getByRole('button', { name: 'Earlier jobs' }));
    fireEvent.change(screen.getByRole('searchbox', { name: 'Find a job' }), { target: { value: 'night' } });
    const found = await screen.findByRole('list', { name: 'Earlier jobs' });
    expect(api.callsOf('listJobs').at(-1)).toEqual({ history: true, limit: 50, search: 'night' });
    fireEvent.click(within(found).getByRole('link', { name: 'nightly' }));
    expect(window.location.hash).toBe('#/jobs/j-old');
    await waitFor(() => expect(api.callsOf('jobDetail')).toEqual([{ jobId: 'j-old' }]));
    flush();
    await waitFor(() => expect(screen.getByTestId('task-count').textContent).toBe('2 of 2'));
    // Search covers error codes.
    fireEvent.change(screen.getByRole('searchbox', { name: 'Search' }), { target: { value: 'enoent' } });
    expect(screen.getByTestId('task-count').textContent).toBe('1 of 2');
    expect(row('digest')).toBeTruthy();
  });

  it('re-runs a job, or its failed tasks, and says when there is nothing to run again', async () => {
    const api = new RecordingApi();
    const { send } = mountApp(api, snapshot(1, { jobs: [PAST_JOB], tasks: PAST_TASKS }));
    const item = within(screen.getByRole('list', { name: 'Job list' })).getByRole('listitem');
    fireEvent.click(within(item).getByRole('button', { name: 'Re-run failed' }));
    expect(api.callsOf('rerunJob')).toEqual([{ jobId: 'j-old', failedOnly: true }]);
    await waitFor(() => expect(notices().textContent).toMatch(/Re-run of the failed tasks of j-old: job again \(j-rerun\) started/));
    api.answers.rerunJob = () => ({ ok: false, code: 'NOTHING_TO_RERUN', reason: 'nothing to re-run: every task of job j-old succeeded' });
    fireEvent.click(within(item).getByRole('button', { name: 'Run again' }));
    expect(api.callsOf('rerunJob').at(-1)).toEqual({ jobId: 'j-old', failedOnly: false });
    await waitFor(() => expect(notices().textContent).toMatch(/nothing to re-run/));
    // A running job offers Cancel job instead.
    send(delta(2, { jobs: [{ ...PAST_JOB, state: 'running' }] }));
    expect(within(item).queryByRole('button', { name: 'Run again' })).toBeNull();
    expect(within(item).getByRole('button', { name: 'Cancel job' })).toBeTruthy();
  });

  it('ends a submitted job with a notice of its outcome in place of "started", with a link when it failed', async () => {
    const api = new RecordingApi();
    api.answers.runDemo = () => ({ mode: 'pool', job: job({ id: 'j-demo', name: 'demo', taskCount: 3 }) });
    const { send } = mountApp(api, snapshot(1));
    fireEvent.click(screen.getByRole('button', { name: 'Run demo' }));
    await waitFor(() => expect(notices().textContent).toMatch(/Demo: job demo \(j-demo\) started, 3 tasks/));
    send(
      delta(2, {
        jobs: [job({ id: 'j-demo', name: 'demo', taskCount: 3 })],
        tasks: [task('a', { jobId: 'j-demo', state: 'running' }), task('b', { jobId: 'j-demo' }), task('c', { jobId: 'j-demo' })],
      }),
    );
    expect(notices().textContent).not.toMatch(/failed/);
    send(
      delta(3, {
        jobs: [job({ id: 'j-demo', name: 'demo', taskCount: 3, state: 'failed' })],
        tasks: [
          task('a', { jobId: 'j-demo', state: 'succeeded' }),
          task('b', { jobId: 'j-demo', state: 'failed' }),
          task('c', { jobId: 'j-demo', state: 'skipped' }),
        ],
        counts: counts({ succeeded: 1, failed: 1, skipped: 1 }),
      }),
    );
    await waitFor(() => expect(notices().textContent).toMatch(/Demo: job demo \(j-demo\) failed: 1 of 3 tasks failed, 1 skipped/));
    // One notice per job: the outcome replaced "started".
    expect(notices().querySelectorAll('[data-topic="j-demo"]')).toHaveLength(1);
    const link = within(notices()).getByRole('link', { name: 'Show its tasks' });
    expect(link.getAttribute('href')).toBe('#/jobs/j-demo');
  });

  it('words each outcome', () => {
    const n = (c: Record<string, number>) => (state: string) => c[state] ?? 0;
    expect(outcomeText(job({ id: 'j', name: 'x', state: 'succeeded', taskCount: 1 }), n({ succeeded: 1 }))).toBe('job x (j) succeeded: 1 task');
    expect(outcomeText(job({ id: 'j', name: 'x', state: 'failed', taskCount: 12 }), n({ failed: 1, timed_out: 1, succeeded: 10 }))).toBe('job x (j) failed: 2 of 12 tasks failed');
    expect(outcomeText(job({ id: 'j', name: 'x', state: 'cancelled', taskCount: 4 }), n({ cancelled: 1, skipped: 2 }))).toBe('job x (j) was cancelled: 1 cancelled, 2 skipped of 4 tasks');
    expect(jobIdOfHash('#/jobs/j-a%3Ab')).toBe('j-a:b');
    expect(jobIdOfHash('#/tasks')).toBeNull();
    expect(jobIdOfHash('#/jobs/%E0%A4%A')).toBeNull();
  });

  it('closes the drawer with Escape; a failed task says why it has no result; a retried task’s times are in order', async () => {
    const retried = task('flaky', {
      kind: 'demo.fail',
      state: 'failed',
      attempts: 2,
      retries: 1,
      queuedAt: T0 + 600, // queued again after attempt 1 failed
      startedAt: T0 + 700,
      finishedAt: T0 + 1000,
      worker: 'w1',
      error: { code: 'DEMO', message: 'the demo failure' },
    });
    const attempts = [attempt(1, T0 + 100, T0 + 500, 'w1', 'failed'), attempt(2, T0 + 700, T0 + 1000, 'w1', 'failed')];
    const api = new RecordingApi();
    api.answers.taskDetail = () => ({ task: retried, attempts, logs: [] });
    mountApp(api, snapshot(1, { jobs: [job({ createdAt: T0 })], tasks: [retried], attempts: { 'j1:flaky': attempts } }));
    const open = within(row('flaky')).getByRole('button', { name: 'flaky' });
    open.focus();
    fireEvent.click(open);
    const drawer = await screen.findByRole('complementary', { name: 'Task detail' });
    expect(document.activeElement).toBe(drawer);
    await waitFor(() => expect(within(drawer).getByText('No result: the task failed (see the error above).')).toBeTruthy());
    expect(within(drawer).queryByText('No result yet.')).toBeNull();
    const facts = [...drawer.querySelectorAll('dt')].map((dt) => [dt.textContent, dt.nextElementSibling!.textContent]);
    expect(facts.map(([label]) => label)).toEqual(expect.arrayContaining(['queued', 'queued again', 'started (attempt 2)']));
    fireEvent.keyDown(document, { key: 'Escape' });
    expect(screen.queryByRole('complementary', { name: 'Task detail' })).toBeNull();
    expect(document.activeElement).toBe(within(row('flaky')).getByRole('button', { name: 'flaky' }));
  });

  it('puts a retried task’s first queue time before its first attempt', () => {
    const retried = task('t', { attempts: 2, queuedAt: T0 + 600, startedAt: T0 + 700 });
    const attempts = [attempt(1, T0 + 100, T0 + 500, 'w1', 'failed'), attempt(2, T0 + 700, null, 'w1')];
    expect(queueTimes(retried, attempts, T0)).toEqual({ firstQueuedAt: T0, requeuedAt: T0 + 600, forAttempt: 2, startedAttempt: 2 });
    // Waiting for its second attempt.
    const waiting = task('t', { state: 'queued', attempts: 1, queuedAt: T0 + 600, startedAt: T0 + 100 });
    expect(queueTimes(waiting, attempts.slice(0, 1), T0)).toMatchObject({ firstQueuedAt: T0, requeuedAt: T0 + 600, forAttempt: 2 });
    // Never retried: its own queue time.
    expect(queueTimes(task('u', { queuedAt: T0 + 5 }), [], T0)).toEqual({ firstQueuedAt: T0 + 5, requeuedAt: null, forAttempt: 1, startedAttempt: 0 });
  });

  it('says when the host refused the page’s token, and what to do', () => {
    const { store, flush } = mountApp(new RecordingApi());
    act(() => store.connectionLost('refused'));
    flush();
    expect(screen.getByTestId('stream-state').textContent).toBe('token refused');
    expect(screen.getByTestId('connection-problem').textContent).toMatch(/refused this page's token.*Open the URL threadline serve printed/);
    // A snapshot (the right page reconnected) clears it.
    act(() => store.apply(snapshot(1)));
    flush();
    expect(screen.queryByTestId('connection-problem')).toBeNull();
    expect(screen.getByTestId('stream-state').textContent).toBe('live');
  });
});
