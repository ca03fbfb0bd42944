// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import axe from 'axe-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { ScheduleRecord } from '../../contract/schedule';
import { DashboardContext } from '../../renderer/src/app/dashboard-context';
import { NoticesProvider } from '../../renderer/src/app/notices';
import { lastOutcome, SchedulesPanel } from '../../renderer/src/schedules/SchedulesPanel';
import { DashboardStore } from '../../renderer/src/store/dashboard-store';
import { RecordingApi } from './recording-api';
import './dom-waits';

afterEach(() => cleanup());

const NEXT = Date.parse('2026-11-27T01:00:00Z');

function schedule(name: string, fields: Partial<ScheduleRecord> = {}): ScheduleRecord {
  return {
    name,
    cron: '0 2 * * *',
    timezone: 'Europe/Paris',
    catchUp: 'once',
    overlap: 'skip',
    paused: false,
    fileName: `/jobs/${name}.yaml`,
    createdAt: NEXT - 86_400_000,
    updatedAt: NEXT - 86_400_000,
    nextRunAt: NEXT,
    lastRun: null,
    ...fields,
  };
}

function mount(schedules: ScheduleRecord[]) {
  const api = new RecordingApi();
  api.answers.listSchedules = () => ({ schedules });
  api.answers.runSchedule = ({ name }: { name: string }) => ({
    run: { dueAt: NEXT, at: NEXT, trigger: 'manual', outcome: 'started', jobId: `j-${name}`, jobState: 'running', note: null },
  });
  const store = new DashboardStore({ onGap: () => {} });
  render(
    <DashboardContext.Provider value={{ api, store }}>
      <NoticesProvider>
        <SchedulesPanel />
      </NoticesProvider>
    </DashboardContext.Provider>,
  );
  return api;
}

describe('the Schedules panel', () => {
  it('lists each schedule with its cron, zone, next run and last outcome', async () => {
    mount([
      schedule('nightly', {
        lastRun: { dueAt: NEXT - 86_400_000, at: NEXT - 86_400_000, trigger: 'catch-up', outcome: 'started', jobId: 'j-1', jobState: 'failed', note: '3 due times missed' },
      }),
      schedule('hourly', { cron: '0 * * * *', timezone: null, paused: true, nextRunAt: null }),
    ]);
    const nightly = await screen.findByRole('listitem', { name: 'Schedule nightly' });
    expect(nightly.textContent).toContain('0 2 * * *');
    expect(nightly.textContent).toContain('Europe/Paris');
    expect([...nightly.querySelectorAll('time')].map((time) => time.getAttribute('datetime'))).toEqual(['2026-11-27T01:00:00.000Z', '2026-11-26T01:00:00.000Z']);
    expect(nightly.textContent).toContain('failed (catch-up) · job j-1');
    const hourly = screen.getByRole('listitem', { name: 'Schedule hourly' });
    expect(hourly.textContent).toContain('none while paused');
    expect(hourly.textContent).toContain('not run yet');
    expect(within(hourly).getByRole('button', { name: 'Resume hourly' })).toBeTruthy();
  });

  it('pauses, resumes, runs now and removes (after a confirmation) by name, then reads the list again', async () => {
    const api = mount([schedule('nightly'), schedule('hourly', { paused: true, nextRunAt: null })]);
    fireEvent.click(await screen.findByRole('button', { name: 'Pause nightly' }));
    fireEvent.click(screen.getByRole('button', { name: 'Resume hourly' }));
    fireEvent.click(screen.getByRole('button', { name: 'Run now nightly' }));
    await waitFor(() => expect(api.callsOf('runSchedule')).toEqual([{ name: 'nightly' }]));
    // A notice is shown for a few seconds: looked for as soon as its call is made.
    expect(await screen.findByText('Started nightly (job j-nightly)')).toBeTruthy();
    expect(api.callsOf('pauseSchedule')).toEqual([{ name: 'nightly' }]);
    expect(api.callsOf('resumeSchedule')).toEqual([{ name: 'hourly' }]);

    fireEvent.click(screen.getByRole('button', { name: 'Remove nightly' }));
    expect(api.callsOf('removeSchedule')).toEqual([]);
    const confirm = screen.getByRole('button', { name: 'Really remove nightly' });
    expect(document.activeElement).toBe(confirm);
    fireEvent.click(screen.getByRole('button', { name: 'Keep nightly' }));
    expect(screen.queryByRole('button', { name: 'Really remove nightly' })).toBeNull();
    fireEvent.click(screen.getByRole('button', { name: 'Remove nightly' }));
    fireEvent.click(screen.getByRole('button', { name: 'Really remove nightly' }));
    await waitFor(() => expect(api.callsOf('removeSchedule')).toEqual([{ name: 'nightly' }]));
    expect(await screen.findByText('Removed nightly')).toBeTruthy();
    // The list is read again after the removal.
    const methods = api.calls.map((call) => call.method);
    expect(methods.lastIndexOf('listSchedules')).toBeGreaterThan(methods.indexOf('removeSchedule'));
  });

  it('closes a direction override in a name before the rest of its notice, and calls the host with the name as it is', async () => {
    const name = '\u202Egnp.exe';
    const api = mount([schedule(name)]);
    fireEvent.click(await screen.findByRole('button', { name: `Run now ${name}` }));
    await waitFor(() => expect(api.callsOf('runSchedule')).toEqual([{ name }]));
    expect(await screen.findByText(`Started ${name}\u202C (job j-${name})`)).toBeTruthy();
  });

  it('says when there are none, and when the host cannot list them', async () => {
    mount([]);
    expect(await screen.findByText(/No schedules\./)).toBeTruthy();
    cleanup();
    const api = new RecordingApi();
    api.answers.listSchedules = () => Promise.reject(new Error('this host runs no schedules'));
    render(
      <DashboardContext.Provider value={{ api, store: new DashboardStore({ onGap: () => {} }) }}>
        <SchedulesPanel />
      </DashboardContext.Provider>,
    );
    expect(await screen.findByText('Schedules cannot be read: this host runs no schedules')).toBeTruthy();
  });

  it('has no accessibility violations axe can find', async () => {
    mount([schedule('nightly'), schedule('hourly', { paused: true, nextRunAt: null })]);
    await screen.findByRole('listitem', { name: 'Schedule nightly' });
    const results = await axe.run(document.body, { rules: { 'color-contrast': { enabled: false }, region: { enabled: false } } });
    expect(results.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.html).join(' | ')}`)).toEqual([]);
  });

  it('names the outcome of a run in a word or two', () => {
    expect(lastOutcome(null)).toBe('not run yet');
    const run = { dueAt: 0, at: 0, trigger: 'due' as const, outcome: 'started' as const, jobId: 'j', jobState: 'succeeded', note: null };
    expect(lastOutcome(run)).toBe('succeeded');
    expect(lastOutcome({ ...run, outcome: 'skipped', jobId: null, jobState: null })).toBe('skipped');
    expect(lastOutcome({ ...run, trigger: 'manual', jobState: 'running' })).toBe('running (manual)');
  });
});
