// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import axe from 'axe-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { DesktopParams, RemoteWorkersStatus } from '../../contract/desktop-api';
import { DashboardContext } from '../../renderer/src/app/dashboard-context';
import { RemoteWorkersSetting } from '../../renderer/src/settings/RemoteWorkersSetting';
import { DashboardStore } from '../../renderer/src/store/dashboard-store';
import { mountApp } from './mount-app';
import { RecordingApi } from './recording-api';
import { snapshot, T0 } from './records';
import './dom-waits';

afterEach(() => cleanup());

const NOTHING_SET: RemoteWorkersStatus = {
  setting: { redisUrl: null, localThreads: true },
  running: { redisUrl: null, localThreads: true },
  restartNeeded: false,
  problem: null,
};

/** Hides a password as the host does. */
const hidden = (url: string) => url.replace(/:[^:@/]+@/, ':***@');

/** The window API as the desktop's preload exposes it, with a host that keeps the setting as the app does. */
class DesktopWindowApi extends RecordingApi {
  readonly changes: Array<DesktopParams<'setRemoteWorkers'>> = [];
  status: RemoteWorkersStatus = NOTHING_SET;
  refuse: string | null = null;
  remoteWorkers = async () => this.status;
  setRemoteWorkers = async (params: DesktopParams<'setRemoteWorkers'> = {}) => {
    this.changes.push(params);
    if (this.refuse) throw new Error(this.refuse);
    const redisUrl = params.redisUrl === undefined ? this.status.setting.redisUrl : params.redisUrl === null ? null : hidden(params.redisUrl);
    const setting = { redisUrl, localThreads: params.localThreads ?? this.status.setting.localThreads };
    const { running } = this.status;
    this.status = { ...this.status, setting, restartNeeded: setting.redisUrl !== running.redisUrl || setting.localThreads !== running.localThreads };
    return this.status;
  };
}

function mount(api: RecordingApi) {
  render(
    <DashboardContext.Provider value={{ api, store: new DashboardStore({ onGap: () => {} }) }}>
      <RemoteWorkersSetting />
    </DashboardContext.Provider>,
  );
}

const urlField = () => screen.getByRole('textbox', { name: 'Redis URL' }) as HTMLInputElement;
const localThreads = () => screen.getByRole('checkbox', { name: /^Local threads/ }) as HTMLInputElement;

describe('the desktop settings: remote workers', () => {
  it('is absent in a browser, where serve takes --redis instead', () => {
    mount(new RecordingApi());
    expect(screen.queryByRole('region', { name: 'Remote workers' })).toBeNull();
  });

  it('sets a Redis URL, shows it back without its password, turns local threads off, and says it takes effect at the next start', async () => {
    const api = new DesktopWindowApi();
    mount(api);
    await waitFor(() => expect(urlField().disabled).toBe(false));
    expect(screen.getByTestId('remote-workers-set').textContent).toBe('No Redis set: sync tasks run on this computer only.');
    // Local threads cannot be turned off while there is no Redis to run sync tasks.
    expect(localThreads().checked).toBe(true);
    expect(localThreads().disabled).toBe(true);
    expect(screen.queryByRole('status')).toBeNull();

    fireEvent.change(urlField(), { target: { value: 'redis://:pa55word@queue-host:6379' } });
    fireEvent.click(screen.getByRole('button', { name: 'Use this Redis' }));
    await screen.findByText('redis://:***@queue-host:6379');
    expect(api.changes).toEqual([{ redisUrl: 'redis://:pa55word@queue-host:6379' }]);
    expect(urlField().value).toBe('');
    expect(document.body.textContent).not.toContain('pa55word');
    expect(screen.getByRole('status').textContent).toBe('Takes effect when Threadline starts again. Running now: no Redis, local threads on.');

    await waitFor(() => expect(localThreads().disabled).toBe(false));
    fireEvent.click(localThreads());
    await waitFor(() => expect(localThreads().checked).toBe(false));
    expect(api.changes.at(-1)).toEqual({ localThreads: false });

    fireEvent.click(screen.getByRole('button', { name: 'Remove Redis' }));
    await screen.findByText('No Redis set: sync tasks run on this computer only.');
    expect(api.changes.at(-1)).toEqual({ redisUrl: null, localThreads: true });
    expect(localThreads().checked).toBe(true);
    expect(screen.queryByRole('status')).toBeNull();
  });

  it('shows the host\'s refusal of a URL, and why the engine runs without the Redis set', async () => {
    const api = new DesktopWindowApi();
    api.status = {
      setting: { redisUrl: 'redis://:***@127.0.0.1:6390', localThreads: true },
      running: { redisUrl: null, localThreads: true },
      restartNeeded: true,
      problem: 'Redis at redis://:***@127.0.0.1:6390 could not be reached when the app started (connection refused); the app runs its local threads only until it starts again',
    };
    mount(api);
    expect((await screen.findByRole('alert')).textContent).toBe(api.status.problem);
    api.refuse = 'redisUrl: expected a redis:// or rediss:// URL, got http://';
    fireEvent.change(urlField(), { target: { value: 'http://queue-host' } });
    fireEvent.click(screen.getByRole('button', { name: 'Use this Redis' }));
    await waitFor(() => expect(screen.getByRole('alert').textContent).toBe('redisUrl: expected a redis:// or rediss:// URL, got http://'));
    // What was typed stays, to be corrected.
    expect(urlField().value).toBe('http://queue-host');
  });

  it('has no accessibility violations axe can find', async () => {
    mount(new DesktopWindowApi());
    await waitFor(() => expect(urlField().disabled).toBe(false));
    const results = await axe.run(document.body, { rules: { 'color-contrast': { enabled: false }, region: { enabled: false } } });
    expect(results.violations).toEqual([]);
  });
});

describe('the dashboard\'s banner for an unreachable Redis', () => {
  it('shows the host\'s notice as it is, without the words of a store notice', () => {
    const message = 'Redis at redis://:***@127.0.0.1:6390 could not be reached when the app started (connection refused); the app runs its local threads only until it starts again';
    mountApp(new RecordingApi(), snapshot(1, { notices: [{ code: 'REDIS_UNREACHABLE', message, since: T0 }] }));
    expect(screen.getByTestId('host-notices').textContent).toBe(`Remote workers: ${message}.`);
  });
});
