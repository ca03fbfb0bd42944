// @vitest-environment happy-dom
/**
 * Remote worker machines in the dashboard: the Workers panel, remote thread lanes grouped under
 * their machine on the timeline, and remote worker names shown as the engine gives them.
 */
import axe from 'axe-core';
import { cleanup, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { afterEach, describe, expect, it } from 'vitest';
import type { ApiEvent } from '../../contract/api';
import type { RemoteMachine, TelemetrySample } from '../../contract/telemetry';
import { formatAgo } from '../../renderer/src/format';
import { RingBuffer } from '../../renderer/src/store/ring-buffer';
import { TimelineIndex } from '../../renderer/src/timeline/timeline-index';
import { AXIS_HEIGHT, LABEL_WIDTH, laneAtY, laneLabel, layoutLanes, MACHINE_HEADER_HEIGHT } from '../../renderer/src/timeline/timeline-layout';
import { machineHeaderText, paintTimeline, type PaintTarget } from '../../renderer/src/timeline/timeline-painter';
import { remoteThread, workerLabel } from '../../renderer/src/worker-names';
import { sortMachines } from '../../renderer/src/workers/WorkersPanel';
import { mountApp } from './mount-app';
import { RecordingApi } from './recording-api';
import { attempt, counts, delta, job, sample, snapshot, T0, task } from './records';
import { giveTaskListAHeight } from './task-list-layout';
import './dom-waits';

giveTaskListAHeight();
afterEach(() => cleanup());

function machine(name: string, overrides: Partial<RemoteMachine> = {}): RemoteMachine {
  return { name, host: `${name}.lan`, threads: 8, running: 2, state: 'ready', lastHeardAt: T0, rssBytes: 120 * 1024 * 1024, loopDelayP99Ms: 4, ...overrides };
}

const done = { queuedAt: T0, state: 'succeeded' as const };

describe('remote worker names', () => {
  it('split `<machine>/<thread>` at the last slash; local threads and the loop are not remote', () => {
    expect(remoteThread('build-07/3')).toEqual({ machine: 'build-07', thread: '3' });
    expect(remoteThread('rack/a/12')).toEqual({ machine: 'rack/a', thread: '12' });
    for (const local of ['w3', '3', 'loop', '/3', 'build-07/', null, 7]) expect(remoteThread(local)).toBeNull();
    expect(workerLabel('build-07/3')).toBe('build-07/3');
    expect(workerLabel('w3')).toBe('thread 3');
  });

  it('say how long ago in words', () => {
    expect([0, 999, 1000, 59_999, 60_000, 3_599_999, 3_600_000, 90_000_000].map(formatAgo)).toEqual([
      'just now',
      'just now',
      '1 s ago',
      '59 s ago',
      '1 min ago',
      '59 min ago',
      '1 h ago',
      '1 d ago',
    ]);
  });
});

describe('remote lanes on the timeline', () => {
  it('group remote threads by machine after the local lanes, machines by name and threads by number', () => {
    const index = new TimelineIndex();
    const workers = ['build-10/1', 'build-07/10', 'w1', 'build-07/2', 'build-2/1', 'build-07/1'];
    workers.forEach((worker, i) => index.setAttempts(`j:t${i}`, [attempt(1, T0 + i, T0 + i + 5, worker)], done));
    // A local thread seen later still comes before every remote lane.
    index.observeWorkers(T0 + 100, [1, 2]);
    expect(index.lanes.map((lane) => lane.id)).toEqual(['loop', '1', '2', 'build-2/1', 'build-07/1', 'build-07/2', 'build-07/10', 'build-10/1']);
    expect(index.lane('build-07/2')).toMatchObject({ kind: 'remote', remote: { machine: 'build-07', thread: '2' } });
    expect(index.lane('1')).toMatchObject({ kind: 'worker', remote: null });
    // Pool telemetry does not retire remote lanes: they are not pool threads.
    expect(index.lane('build-07/1')!.retiredAt).toBeNull();
  });

  it('retire the lanes of a machine that is lost or no longer listed, and bring them back when it is heard again', () => {
    const index = new TimelineIndex();
    index.setAttempts('j:a', [attempt(1, T0, T0 + 10, 'build-07/1')], done);
    index.setAttempts('j:b', [attempt(1, T0, T0 + 10, 'build-08/1')], done);
    const before = index.version;
    index.observeMachines(T0 + 100, [machine('build-07'), machine('build-08')]);
    expect(index.version).toBe(before);
    index.observeMachines(T0 + 200, [machine('build-07', { state: 'lost' }), machine('build-08', { state: 'draining' })]);
    expect(index.lane('build-07/1')!.retiredAt).toBe(T0 + 200);
    expect(index.lane('build-08/1')!.retiredAt).toBeNull();
    index.observeMachines(T0 + 300, [machine('build-07')]);
    expect(index.lane('build-07/1')!.retiredAt).toBeNull();
    expect(index.lane('build-08/1')!.retiredAt).toBe(T0 + 300);
    expect(index.version).toBeGreaterThan(before);
    // A retired lane stays in view while its bars are; later windows leave it out.
    expect(index.lanesIn(T0, T0 + 1000).map((lane) => lane.id)).toEqual(['loop', 'build-07/1', 'build-08/1']);
    expect(index.lanesIn(T0 + 5000, T0 + 6000).map((lane) => lane.id)).toEqual(['loop', 'build-07/1']);
  });

  it('put one header above each machine’s lanes; a header is no lane under the pointer', () => {
    const index = new TimelineIndex();
    for (const [i, worker] of ['w1', 'build-07/1', 'build-07/2', 'build-08/1'].entries()) index.setAttempts(`j:t${i}`, [attempt(1, T0, T0 + 10, worker)], done);
    const laid = layoutLanes(index.lanesIn(T0, T0 + 1000));
    expect(laid.headers.map((h) => h.machine)).toEqual(['build-07', 'build-08']);
    const [loop, local, b7t1, b7t2, b8t1] = laid.lanes;
    expect(loop!.top).toBe(AXIS_HEIGHT);
    expect(laid.headers[0]!.top).toBe(local!.top + local!.height);
    expect(b7t1!.top).toBe(laid.headers[0]!.top + MACHINE_HEADER_HEIGHT);
    expect(b7t2!.top).toBe(b7t1!.top + b7t1!.height);
    expect(laid.headers[1]!.top).toBe(b7t2!.top + b7t2!.height);
    expect(b8t1!.top).toBe(laid.headers[1]!.top + MACHINE_HEADER_HEIGHT);
    expect(laid.height).toBe(b8t1!.top + b8t1!.height + 2);
    expect(laneAtY(laid.lanes, laid.headers[0]!.top + 1)).toBeNull();
    expect(laneAtY(laid.lanes, b7t1!.rowsTop + 1)?.lane.lane.id).toBe('build-07/1');
    expect(laneLabel(b7t2!.lane)).toBe('build-07/2');
  });

  it('paints each machine’s header with its host and state, and its threads by number under it', () => {
    const index = new TimelineIndex();
    index.setAttempts('j:a', [attempt(1, T0 + 100, T0 + 400, 'build-07/3')], done);
    index.setAttempts('j:b', [attempt(1, T0 + 100, T0 + 400, 'build-09/1')], done);
    const telemetry = new RingBuffer<TelemetrySample>(4);
    telemetry.push(sample(T0 + 500, { machines: [machine('build-07', { state: 'draining' })] }));
    index.observeMachines(T0 + 500, telemetry.last()!.machines);
    const view = { t0: T0, msPerPx: 1, follow: false };
    const laid = layoutLanes(index.lanesIn(T0, T0 + 1000));
    const texts: string[] = [];
    const ctx = new Proxy({} as PaintTarget, {
      get: (_target, key) => (key === 'fillText' ? (text: string) => texts.push(text) : () => undefined),
      set: () => true,
    });
    paintTimeline(ctx, { width: LABEL_WIDTH + 1000, height: laid.height, view, now: T0 + 1000, layout: laid.lanes, headers: laid.headers, index, telemetry, hovered: null, selectedKey: null });
    expect(texts).toContain('build-07 · build-07.lan · draining');
    expect(texts).toContain('thread 3');
    // build-09 is not in the latest sample: its lane has ended and its header says so.
    expect(texts).toContain('thread 1 · ended');
    expect(texts).toContain('build-09 · gone');
    expect(machineHeaderText('build-07', machine('build-07', { state: 'lost' }))).toBe('build-07 · build-07.lan · lost');
  });
});

function remoteSnapshot(machines: RemoteMachine[]): ApiEvent {
  return snapshot(1, {
    jobs: [job({ id: 'j1', name: 'spread', taskCount: 4 })],
    tasks: [
      task('hash-1', { state: 'succeeded', attempts: 1, startedAt: T0 + 10, finishedAt: T0 + 300, worker: 'build-07/1' }),
      task('hash-2', { state: 'running', attempts: 1, startedAt: T0 + 20, worker: 'build-07/12' }),
      task('hash-3', { state: 'running', attempts: 1, startedAt: T0 + 30, worker: 'build-10/1' }),
      task('local', { state: 'succeeded', attempts: 1, startedAt: T0 + 40, finishedAt: T0 + 90, worker: 'w1' }),
    ],
    attempts: {
      'j1:hash-1': [attempt(1, T0 + 10, T0 + 300, 'build-07/1')],
      'j1:hash-2': [attempt(1, T0 + 20, null, 'build-07/12')],
      'j1:hash-3': [attempt(1, T0 + 30, null, 'build-10/1')],
      'j1:local': [attempt(1, T0 + 40, T0 + 90, 'w1')],
    },
    telemetry: [sample(T0 + 500, { machines })],
    counts: counts({ succeeded: 2, running: 2 }),
  });
}

/**
 * axe-core's structural rules on the panel (names, roles, table headers). happy-dom lays nothing
 * out, so colour contrast is left to axe in Chromium (tests/e2e).
 */
async function axeViolations(element: Element): Promise<string[]> {
  const result = await axe.run(element, {
    runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
    rules: { 'color-contrast': { enabled: false } },
  });
  return result.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
}

const taskRow = (taskId: string) => screen.getAllByRole('row').find((r) => r.getAttribute('data-task-key')?.endsWith(`:${taskId}`))!;

describe('the Workers panel', () => {
  it('is one line when there are no remote workers', () => {
    mountApp(new RecordingApi(), remoteSnapshot([]));
    const panel = screen.getByRole('region', { name: 'Workers' });
    expect(panel.textContent).toBe('WorkersNo remote workers: every task runs on this machine.');
    expect(within(panel).queryByRole('table')).toBeNull();
  });

  it('lists the machines by name: host, threads, running, state, last heard on the engine’s clock, memory, loop p99', () => {
    const machines = [
      machine('build-10', { host: 'ci-runner-4', threads: 4, running: 1, lastHeardAt: T0 + 500 - 250 }),
      machine('build-07', { running: 7, lastHeardAt: T0 + 500 - 4200, rssBytes: 1.5 * 1024 ** 3, loopDelayP99Ms: 12 }),
      machine('build-2', { state: 'lost', running: 0, lastHeardAt: T0 + 500 - 95_000 }),
      machine('build-08', { state: 'draining', threads: 2, running: 1 }),
    ];
    mountApp(new RecordingApi(), remoteSnapshot(machines));
    const table = within(screen.getByRole('region', { name: 'Workers' })).getByRole('table', { name: 'Workers' });
    const headers = within(table).getAllByRole('columnheader').map((th) => th.textContent);
    expect(headers).toEqual(['Machine', 'Host', 'Threads', 'Running', 'State', 'Last heard', 'Memory', 'Loop p99', 'Tasks']);
    const rows = within(table)
      .getAllByRole('row')
      .slice(1)
      .map((tr) => [...tr.querySelectorAll('th, td')].map((cell) => cell.textContent));
    expect(rows).toEqual([
      ['build-2', 'build-2.lan', '8', '0', 'lost', '1 min ago', '120 MiB', '4 ms', 'Tasks on build-2'],
      ['build-07', 'build-07.lan', '8', '7', 'ready', '4 s ago', '1.5 GiB', '12 ms', 'Tasks on build-07'],
      ['build-08', 'build-08.lan', '2', '1', 'draining', 'just now', '120 MiB', '4 ms', 'Tasks on build-08'],
      ['build-10', 'ci-runner-4', '4', '1', 'ready', 'just now', '120 MiB', '4 ms', 'Tasks on build-10'],
    ]);
    expect(screen.getByRole('region', { name: 'Workers' }).querySelector('.panel-header')!.textContent).toBe('Workers4 machines, 14 remote threads not lost');
    expect(sortMachines(machines).map((m) => m.name)).toEqual(['build-2', 'build-07', 'build-08', 'build-10']);
  });

  it('has nothing axe-core finds wrong in its structure, with machines and without', async () => {
    const { send } = mountApp(new RecordingApi(), remoteSnapshot([machine('build-07'), machine('build-10', { state: 'lost' })]));
    expect(await axeViolations(screen.getByRole('region', { name: 'Workers' }))).toEqual([]);
    send(delta(2, { telemetry: [sample(T0 + 1000, { machines: [] })] }));
    expect(await axeViolations(screen.getByRole('region', { name: 'Workers' }))).toEqual([]);
  });

  it('follows the telemetry: a machine that drains, is lost, or leaves changes the table', () => {
    const { send } = mountApp(new RecordingApi(), remoteSnapshot([machine('build-07'), machine('build-10')]));
    const states = () =>
      within(screen.getByRole('region', { name: 'Workers' }))
        .queryAllByRole('row')
        .slice(1)
        .map((tr) => `${tr.getAttribute('data-machine')}:${tr.querySelector('.machine-state')!.textContent}`);
    expect(states()).toEqual(['build-07:ready', 'build-10:ready']);
    send(delta(2, { telemetry: [sample(T0 + 1000, { machines: [machine('build-07', { state: 'draining' }), machine('build-10', { state: 'lost' })] })] }));
    expect(states()).toEqual(['build-07:draining', 'build-10:lost']);
    send(delta(3, { telemetry: [sample(T0 + 1500, { machines: [machine('build-10', { state: 'lost' })] })] }));
    expect(states()).toEqual(['build-10:lost']);
    send(delta(4, { telemetry: [sample(T0 + 2000, { machines: [] })] }));
    expect(screen.getByRole('region', { name: 'Workers' }).textContent).toMatch(/No remote workers/);
  });

  it('narrows the task table to a machine’s tasks from its Tasks button, reached by the keyboard', () => {
    mountApp(new RecordingApi(), remoteSnapshot([machine('build-07'), machine('build-10')]));
    expect(screen.getByTestId('task-count').textContent).toBe('4 of 4');
    const button = screen.getByRole('button', { name: 'Tasks on build-07' });
    expect(button.tagName).toBe('BUTTON');
    expect(button.tabIndex).toBe(0);
    button.focus();
    expect(document.activeElement).toBe(button);
    fireEvent.click(button);
    expect(screen.getByTestId('task-count').textContent).toBe('2 of 4');
    expect(within(taskRow('hash-1')).getByText('build-07/1')).toBeTruthy();
    expect(within(taskRow('hash-2')).getByText('build-07/12')).toBeTruthy();
    expect((screen.getByRole('combobox', { name: 'Machine' }) as HTMLSelectElement).value).toBe('build-07');
    expect((screen.getByRole('searchbox', { name: 'Search' }) as HTMLInputElement).value).toBe('');
  });

  it('narrows to all of a machine’s tasks and only its own: those it refused, those it ran in an earlier attempt, not another machine’s with a longer name', () => {
    const failedHere = { state: 'failed' as const, attempts: 1, startedAt: T0 + 5, finishedAt: T0 + 5, error: { code: 'PATH_OUTSIDE_ROOT', message: 'outside --root' } };
    const tasks = [
      task('ran-1', { state: 'succeeded', attempts: 1, startedAt: T0 + 10, finishedAt: T0 + 50, worker: 'build-1/1' }),
      task('refused-1', { ...failedHere, worker: 'build-1' }),
      task('ran-10', { state: 'succeeded', attempts: 1, startedAt: T0 + 10, finishedAt: T0 + 50, worker: 'build-10/2' }),
      task('refused-10', { ...failedHere, worker: 'build-10' }),
      task('moved', { state: 'succeeded', attempts: 2, startedAt: T0 + 60, finishedAt: T0 + 90, worker: 'build-10/1' }),
      task('local', { state: 'succeeded', attempts: 1, startedAt: T0 + 10, finishedAt: T0 + 50, worker: 'w1' }),
      task('fetch', { state: 'succeeded', attempts: 1, startedAt: T0 + 10, finishedAt: T0 + 50, worker: 'loop' }),
    ];
    const attempts: Record<string, ReturnType<typeof attempt>[]> = Object.fromEntries(tasks.map((t) => [t.key, [attempt(1, t.startedAt!, t.finishedAt, t.worker)]]));
    attempts['j1:moved'] = [attempt(1, T0 + 10, T0 + 40, 'build-1/2', 'interrupted'), attempt(2, T0 + 60, T0 + 90, 'build-10/1')];
    mountApp(
      new RecordingApi(),
      snapshot(1, { jobs: [job({ id: 'j1', taskCount: tasks.length })], tasks, attempts, telemetry: [sample(T0 + 500, { machines: [machine('build-1'), machine('build-10')] })], counts: counts({ succeeded: 5, failed: 2 }) }),
    );
    const shown = () =>
      screen
        .getAllByRole('row')
        .map((r) => r.getAttribute('data-task-key')?.split(':')[1])
        .filter((id) => id !== undefined)
        .sort();
    const machineFilter = screen.getByRole('combobox', { name: 'Machine' }) as HTMLSelectElement;
    expect([...machineFilter.options].map((o) => o.textContent)).toEqual(['all machines', 'build-1', 'build-10']);

    fireEvent.click(screen.getByRole('button', { name: 'Tasks on build-1' }));
    expect(screen.getByTestId('task-count').textContent).toBe('3 of 7');
    expect(shown()).toEqual(['moved', 'ran-1', 'refused-1']);
    fireEvent.click(screen.getByRole('button', { name: 'Tasks on build-10' }));
    expect(shown()).toEqual(['moved', 'ran-10', 'refused-10']);
    expect(machineFilter.value).toBe('build-10');
    // The filter goes with the other filters, and is undone from its own control.
    fireEvent.change(screen.getByRole('combobox', { name: 'State' }), { target: { value: 'failed' } });
    expect(shown()).toEqual(['refused-10']);
    fireEvent.change(machineFilter, { target: { value: '' } });
    expect(shown()).toEqual(['refused-1', 'refused-10']);
  });

  it('shows remote workers as the engine names them in the table and the task drawer, and counts their lanes', async () => {
    const api = new RecordingApi();
    api.answers.taskDetail = (({ key }: { key: string }) => ({
      task: task(key.split(':')[1]!, { state: 'running', attempts: 1, startedAt: T0 + 20, worker: 'build-07/12' }),
      attempts: [attempt(1, T0 + 20, null, 'build-07/12')],
      logs: [],
    })) as never;
    const { store } = mountApp(api, remoteSnapshot([machine('build-07'), machine('build-10')]));
    expect(within(taskRow('hash-3')).getByText('build-10/1')).toBeTruthy();
    expect(within(taskRow('local')).getByText('thread 1')).toBeTruthy();
    fireEvent.click(within(taskRow('hash-2')).getByText('demo.cpu'));
    const drawer = screen.getByRole('complementary', { name: 'Task detail' });
    await waitFor(() => expect(within(drawer).getByText('build-07/12')).toBeTruthy());
    expect(store.timeline.lanes.map((lane) => lane.id)).toEqual(['loop', '1', '2', 'build-07/1', 'build-07/12', 'build-10/1']);
  });
});
