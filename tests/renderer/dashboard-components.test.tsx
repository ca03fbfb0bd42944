// @vitest-environment happy-dom
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../contract/api';
import type { TaskRecord } from '../../contract/records';
import { RecordingApi, RecordingDesktopApi } from './recording-api';
import { attempt, counts, delta, job, sample, snapshot, T0, task } from './records';
import { mountApp } from './mount-app';
import { giveTaskListAHeight } from './task-list-layout';
import './dom-waits';

giveTaskListAHeight();
afterEach(() => cleanup());

function demoSnapshot(extra: TaskRecord[] = []): ApiEvent {
  const tasks = [
    task('crunch-1', { state: 'succeeded', attempts: 1, startedAt: T0 + 10, finishedAt: T0 + 510, worker: 'w1', progress: 1, result: { ms: 500 } }),
    task('crunch-2', { state: 'running', attempts: 1, startedAt: T0 + 20, worker: 'w2', progress: 0.4, progressMessage: 'crunching' }),
    task('flaky', {
      kind: 'demo.fail',
      state: 'failed',
      attempts: 2,
      retries: 1,
      startedAt: T0 + 700,
      finishedAt: T0 + 1000,
      worker: 'w1',
      error: { code: 'DEMO', message: 'the demo failure', stack: 'Error: the demo failure\n    at fail (demo.js:1:1)' },
    }),
    task('later', { state: 'queued' }),
    task('other', { jobId: 'j2', state: 'running', attempts: 1, startedAt: T0 + 30, worker: 'loop', kind: 'demo.sleep' }),
    ...extra,
  ];
  return snapshot(1, {
    jobs: [job({ id: 'j1', name: 'demo', taskCount: 4 + extra.length }), job({ id: 'j2', name: 'second', taskCount: 1 })],
    tasks,
    attempts: {
      'j1:crunch-1': [attempt(1, T0 + 10, T0 + 510, 'w1')],
      'j1:crunch-2': [attempt(1, T0 + 20, null, 'w2')],
      'j1:flaky': [attempt(1, T0 + 100, T0 + 400, 'w1', 'failed'), attempt(2, T0 + 700, T0 + 1000, 'w1', 'failed')],
      'j2:other': [attempt(1, T0 + 30, null, 'loop')],
    },
    telemetry: [sample(T0), sample(T0 + 500)],
    counts: counts({ succeeded: 1, running: 2, failed: 1, queued: 1 }),
  });
}

const row = (taskId: string) => screen.getAllByRole('row').find((r) => r.getAttribute('data-task-key')?.endsWith(`:${taskId}`))!;

describe('the dashboard with a host', () => {
  it('subscribes, and shows the headline numbers, the tasks and the jobs of the snapshot', () => {
    const { api } = mountApp(new RecordingApi(), demoSnapshot());
    expect(api.listeners.size).toBe(1);
    expect(screen.getByTestId('stream-state').textContent).toBe('live');
    const headline = screen.getByLabelText('Headline numbers');
    expect(within(headline).getByText('running').nextElementSibling?.textContent).toMatch(/^2/);
    expect(within(headline).getByText('queued').nextElementSibling?.textContent).toBe('1');
    expect(within(headline).getByText('failed').nextElementSibling?.textContent).toMatch(/^1/);
    expect(within(row('crunch-2')).getByTestId('task-state').textContent).toBe('running');
    expect(within(row('crunch-2')).getByText('thread 2')).toBeTruthy();
    expect(within(row('other')).getByText('event loop')).toBeTruthy();
    expect(screen.getByTestId('task-count').textContent).toBe('5 of 5');
    const jobs = screen.getByRole('list', { name: 'Job list' });
    expect(within(jobs).getAllByRole('listitem').map((li) => li.getAttribute('data-job-id'))).toEqual(['j1', 'j2']);
  });

  it('names its buttons exactly: Cancel on unfinished rows, Retry on ended ones, Cancel job, Cancel all', () => {
    mountApp(new RecordingApi(), demoSnapshot());
    expect(within(row('crunch-2')).getByRole('button', { name: 'Cancel' })).toBeTruthy();
    expect(within(row('later')).getByRole('button', { name: 'Cancel' })).toBeTruthy();
    expect(within(row('flaky')).getByRole('button', { name: 'Retry' })).toBeTruthy();
    expect(within(row('flaky')).queryByRole('button', { name: 'Cancel' })).toBeNull();
    // An ended task that succeeded has only its id, which opens it.
    expect(within(row('crunch-1')).getAllByRole('button').map((b) => b.textContent)).toEqual(['crunch-1']);
    expect(screen.getAllByRole('button', { name: 'Cancel job' })).toHaveLength(2);
    expect(screen.getAllByRole('button', { name: 'Cancel all' })).toHaveLength(1);
  });

  it('cancels a running task from its row; it shows cancelling, then cancelled with Retry', async () => {
    const { api, send } = mountApp(new RecordingApi(), demoSnapshot());
    fireEvent.click(within(row('crunch-2')).getByRole('button', { name: 'Cancel' }));
    expect(api.callsOf('cancelTask')).toEqual([{ key: 'j1:crunch-2' }]);
    const running = { state: 'running' as const, attempts: 1, startedAt: T0 + 20, worker: 'w2' };
    send(delta(2, { tasks: [task('crunch-2', { ...running, state: 'cancelling' })], counts: counts({ cancelling: 1 }) }));
    expect(within(row('crunch-2')).getByTestId('task-state').textContent).toBe('cancelling');
    send(
      delta(3, {
        tasks: [task('crunch-2', { ...running, state: 'cancelled', finishedAt: T0 + 2600, error: { code: 'CANCELLED', message: 'cancelled' } })],
        attempts: { 'j1:crunch-2': [attempt(1, T0 + 20, T0 + 2600, 'w2', 'cancelled')] },
        counts: counts({ cancelled: 1 }),
      }),
    );
    expect(within(row('crunch-2')).getByTestId('task-state').textContent).toBe('cancelled');
    fireEvent.click(within(row('crunch-2')).getByRole('button', { name: 'Retry' }));
    expect(api.callsOf('retryTask')).toEqual([{ key: 'j1:crunch-2' }]);
  });

  it('tells the user when a cancel came too late or failed', async () => {
    const api = new RecordingApi();
    api.answers.cancelTask = () => ({ cancelled: false });
    mountApp(api, demoSnapshot());
    fireEvent.click(within(row('later')).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.getByRole('status', { name: 'Notices' }).textContent).toMatch(/j1:later had already ended/));
    api.answers.retryTask = () => Promise.reject(new Error('the connection to the Threadline host closed'));
    fireEvent.click(within(row('flaky')).getByRole('button', { name: 'Retry' }));
    await waitFor(() => expect(document.querySelector('.notice-error')?.textContent).toMatch(/Retry j1:flaky: the connection/));
  });

  it('cancels the tasks selected, and jobs, and all', async () => {
    const { api } = mountApp(new RecordingApi(), demoSnapshot());
    fireEvent.click(within(row('crunch-2')).getByRole('checkbox'));
    fireEvent.click(within(row('later')).getByRole('checkbox'));
    fireEvent.click(within(row('crunch-1')).getByRole('checkbox')); // ended: not cancellable
    const cancelSelected = screen.getByRole('button', { name: 'Cancel selected (2)' });
    fireEvent.click(cancelSelected);
    await waitFor(() => expect(api.callsOf('cancelTask')).toHaveLength(2));
    expect(api.callsOf('cancelTask')).toEqual(expect.arrayContaining([{ key: 'j1:crunch-2' }, { key: 'j1:later' }]));
    await waitFor(() => expect(screen.getByText(/Asked 2 tasks to stop/)).toBeTruthy());

    const jobs = screen.getByRole('list', { name: 'Job list' });
    fireEvent.click(within(within(jobs).getByLabelText('Job second')).getByRole('button', { name: 'Cancel job' }));
    expect(api.callsOf('cancelJob')).toEqual([{ jobId: 'j2' }]);
    fireEvent.click(screen.getByRole('button', { name: 'Cancel all' }));
    expect(api.calls.filter((c) => c.method === 'cancelAll')).toHaveLength(1);
  });

  it('lists earlier jobs of the store on request, without the ones shown live', async () => {
    const api = new RecordingApi();
    api.answers.listJobs = () => ({
      jobs: [
        { ...job({ id: 'j1', name: 'demo' }), counts: {} },
        { ...job({ id: 'j-old', name: 'last night', state: 'failed', finishedAt: T0 }), counts: { succeeded: 40, failed: 2 } },
      ],
    });
    mountApp(api, demoSnapshot());
    fireEvent.click(screen.getByRole('button', { name: 'Earlier jobs' }));
    const earlier = await screen.findByRole('list', { name: 'Earlier jobs' });
    expect(api.callsOf('listJobs')).toEqual([{ history: true, limit: 50 }]);
    const items = within(earlier).getAllByRole('listitem');
    expect(items.map((li) => li.getAttribute('data-job-id'))).toEqual(['j-old']);
    expect(items[0]!.textContent).toMatch(/last night.*failed.*40 succeeded, 2 failed/);
    expect(within(earlier).queryByRole('button', { name: 'Cancel job' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Earlier jobs' }));
    expect(screen.queryByRole('list', { name: 'Earlier jobs' })).toBeNull();
  });

  it('filters the table by state, job and text', () => {
    mountApp(new RecordingApi(), demoSnapshot());
    const [stateSelect, jobSelect] = screen.getAllByRole('combobox');
    fireEvent.change(stateSelect!, { target: { value: 'running' } });
    expect(screen.getByTestId('task-count').textContent).toBe('2 of 5');
    fireEvent.change(jobSelect!, { target: { value: 'j2' } });
    expect(screen.getByTestId('task-count').textContent).toBe('1 of 5');
    expect(row('other')).toBeTruthy();
    fireEvent.change(stateSelect!, { target: { value: 'all' } });
    fireEvent.change(jobSelect!, { target: { value: '' } });
    fireEvent.change(screen.getByRole('searchbox'), { target: { value: 'demo failure' } });
    expect(screen.getByTestId('task-count').textContent).toBe('1 of 5');
    expect(row('flaky')).toBeTruthy();
    fireEvent.change(screen.getByRole('searchbox'), { target: { value: 'no such task' } });
    expect(screen.getByText('No task matches the filter.')).toBeTruthy();
  });

  it('renders only the rows on screen, whatever the number of tasks', () => {
    const many = Array.from({ length: 5000 }, (_, i) => task(`bulk-${i}`, { state: 'queued' }));
    mountApp(new RecordingApi(), demoSnapshot(many));
    expect(screen.getByTestId('task-count').textContent).toBe('5,005 of 5,005');
    const rendered = screen.getAllByRole('row').length;
    expect(rendered).toBeGreaterThan(5);
    expect(rendered).toBeLessThan(60);
    expect(screen.getByRole('table', { name: 'Task list' }).getAttribute('aria-rowcount')).toBe('5006');
  });

  it('opens a task: input, attempts, error with stack, logs; SQL rows as a table', async () => {
    const api = new RecordingApi();
    const rows = [
      { ArtistId: 1, Name: 'AC/DC' },
      { ArtistId: 2, Name: 'Accept' },
    ];
    const sqlResult = { columns: ['ArtistId', 'Name'], rows, rowCount: 275 };
    api.answers.taskDetail = (({ key }: { key: string }) => ({
      task: key === 'j1:sql' ? task('sql', { kind: 'sql.query', state: 'succeeded', result: sqlResult }) : task(key.split(':')[1]!),
      attempts: [],
      logs: [{ taskKey: key, at: T0 + 5, level: 'warn' as const, message: 'slow query' }],
    })) as never;
    const { send } = mountApp(api, demoSnapshot());
    fireEvent.click(within(row('flaky')).getByText('demo.fail'));
    const drawer = screen.getByRole('complementary', { name: 'Task detail' });
    expect(api.callsOf('taskDetail')).toEqual([{ key: 'j1:flaky' }]);
    expect(within(drawer).getByTestId('detail-state').textContent).toBe('failed');
    expect(within(drawer).getByRole('alert').textContent).toMatch(/DEMO the demo failure/);
    expect(within(drawer).getByText(/at fail \(demo\.js:1:1\)/)).toBeTruthy();
    expect(within(drawer).getAllByRole('row')).toHaveLength(3); // header + two attempts
    await waitFor(() => expect(within(drawer).getByText('slow query')).toBeTruthy());
    send(delta(2, { logs: [{ taskKey: 'j1:flaky', at: T0 + 9, level: 'info', message: 'streamed line' }] }));
    expect(within(drawer).getByText('streamed line')).toBeTruthy();
    fireEvent.click(within(drawer).getByRole('button', { name: 'Close task detail' }));
    expect(screen.queryByRole('complementary', { name: 'Task detail' })).toBeNull();

    // Deltas carry no results: the drawer fetches the rows with taskDetail.
    send(delta(3, { tasks: [task('sql', { kind: 'sql.query', state: 'succeeded', result: null })] }));
    fireEvent.click(within(row('sql')).getByText('sql.query'));
    const table = await screen.findByRole('table', { name: 'Result rows' });
    expect(within(table).getAllByRole('columnheader').map((th) => th.textContent)).toEqual(['ArtistId', 'Name']);
    expect(within(table).getByText('AC/DC')).toBeTruthy();
    expect(screen.getByText('Showing 2 of 275 rows.')).toBeTruthy();
  });

  it('keeps the timeline bar count up to date for the whole store', async () => {
    const { send } = mountApp(new RecordingApi(), demoSnapshot());
    const canvas = screen.getByTestId('timeline-canvas');
    await waitFor(() => expect(canvas.getAttribute('data-bar-count')).toBe('5'));
    send(delta(2, { tasks: [task('later', { state: 'running', attempts: 1 })], attempts: { 'j1:later': [attempt(1, T0 + 2000, null, 'w2')] } }));
    await waitFor(() => expect(canvas.getAttribute('data-bar-count')).toBe('6'));
    expect(canvas.getAttribute('data-lane-count')).toBe('3');
  });

  it('leaves live time when the timeline is moved by keyboard, and returns with Live', () => {
    mountApp(new RecordingApi(), demoSnapshot());
    const live = screen.getByRole('button', { name: 'Live' });
    expect(live.getAttribute('aria-pressed')).toBe('true');
    fireEvent.keyDown(screen.getByTestId('timeline-canvas'), { key: 'ArrowLeft' });
    expect(live.getAttribute('aria-pressed')).toBe('false');
    fireEvent.click(live);
    expect(live.getAttribute('aria-pressed')).toBe('true');
    fireEvent.keyDown(screen.getByTestId('timeline-canvas'), { key: '+' });
    expect(live.getAttribute('aria-pressed')).toBe('false');
    fireEvent.click(screen.getByRole('button', { name: 'Fit all' }));
    expect(live.getAttribute('aria-pressed')).toBe('false');
  });

  it('shows the charts’ latest values where no canvas exists, and how many points they hold', () => {
    mountApp(new RecordingApi(), demoSnapshot());
    const memory = screen.getByRole('figure', { name: 'Memory' });
    expect(memory.getAttribute('data-points')).toBe('2');
    expect(memory.textContent).toMatch(/main rss: 191 MiB/);
    expect(memory.textContent).toMatch(/renderer heap: n\/a in this browser/);
    expect(screen.getByRole('figure', { name: 'Worker heaps' }).textContent).toMatch(/thread 1: 9\.5 MiB/);
  });

  it('runs the demo on the pool, or inline with its warning', async () => {
    const { api } = mountApp(new RecordingApi(), demoSnapshot());
    fireEvent.click(screen.getByRole('button', { name: 'Run demo' }));
    await waitFor(() => expect(screen.getByText(/Demo: job demo \(j-demo\) started/)).toBeTruthy());
    fireEvent.click(screen.getByRole('button', { name: 'Run demo inline (blocks the event loop)' }));
    await waitFor(() => expect(screen.getByText(/event loop was blocked 9 times, 5\.41 s in all, the longest stall 1\.00 s\./)).toBeTruthy());
    expect(api.callsOf('runDemo')).toEqual([{ inline: false }, { inline: true }]);
  });

  it('asks for a resync when a delta is missing', () => {
    const { api, send } = mountApp(new RecordingApi(), demoSnapshot());
    send(delta(5));
    expect(api.resyncs).toBe(1);
    expect(screen.getByTestId('stream-state').textContent).toBe('catching up…');
    send(demoSnapshot());
    expect(screen.getByTestId('stream-state').textContent).toBe('live');
  });

  it('shows the host\'s notice of a full disk until a delta clears it', () => {
    const message = 'the disk is full: the job store in /data cannot be written (database or disk is full)';
    const { send } = mountApp(new RecordingApi(), snapshot(1, { notices: [{ code: 'DISK_FULL', message, since: T0 }] }));
    expect(screen.getByTestId('host-notices').textContent).toBe(`Disk full: ${message}. No new task starts until it can be written again.`);
    send(delta(2, { counts: counts({ queued: 1 }) }));
    expect(screen.getByRole('alert').textContent).toContain(message);
    send(delta(3, { notices: [] }));
    expect(screen.queryByTestId('host-notices')).toBeNull();
  });

  it('offers native pickers only where the host has them', async () => {
    mountApp(new RecordingApi(), demoSnapshot());
    expect(screen.queryByRole('button', { name: 'Choose…' })).toBeNull();
    cleanup();
    const desktop = new RecordingDesktopApi();
    mountApp(desktop, demoSnapshot());
    const form = screen.getByRole('form', { name: 'SQL query' });
    fireEvent.click(within(form).getByRole('button', { name: 'Choose…' }));
    await waitFor(() => expect((within(form).getByLabelText(/^db/) as HTMLInputElement).value).toBe('/home/me/chinook.sqlite'));
    expect(desktop.callsOf('pickDatabase')).toHaveLength(1);
  });
});
