// @vitest-environment happy-dom
import { cleanup, fireEvent, render, screen, waitFor } from '@testing-library/react';
import axe from 'axe-core';
import { afterEach, describe, expect, it } from 'vitest';
import type { DesktopParams, MetricsEndpointStatus } from '../../contract/desktop-api';
import { DashboardContext } from '../../renderer/src/app/dashboard-context';
import { MetricsSetting } from '../../renderer/src/settings/MetricsSetting';
import { DashboardStore } from '../../renderer/src/store/dashboard-store';
import { RecordingApi } from './recording-api';
import './dom-waits';

afterEach(() => cleanup());

/** The window API as the desktop's preload exposes it: the contract's methods plus the desktop's. */
class DesktopWindowApi extends RecordingApi {
  readonly settings: Array<DesktopParams<'setMetricsEndpoint'>> = [];
  status: MetricsEndpointStatus = { enabled: false, port: 9740, url: null, token: null, problem: null };
  metricsEndpoint = async () => this.status;
  setMetricsEndpoint = async (params: DesktopParams<'setMetricsEndpoint'>) => {
    this.settings.push(params);
    const port = params.port ?? this.status.port;
    this.status = params.enabled
      ? { enabled: true, port, url: `http://127.0.0.1:${port}/metrics`, token: 'tok-1', problem: null }
      : { enabled: false, port, url: null, token: null, problem: null };
    return this.status;
  };
}

function mount(api: RecordingApi) {
  render(
    <DashboardContext.Provider value={{ api, store: new DashboardStore({ onGap: () => {} }) }}>
      <MetricsSetting />
    </DashboardContext.Provider>,
  );
}

describe('the desktop settings: the metrics endpoint', () => {
  it('is absent in a browser, where serve answers /metrics always', () => {
    mount(new RecordingApi());
    expect(screen.queryByRole('region', { name: 'Settings' })).toBeNull();
  });

  it('is off by default, turns on at the port asked for and shows what a scrape needs, and turns off', async () => {
    const api = new DesktopWindowApi();
    mount(api);
    const toggle = await screen.findByRole('checkbox', { name: 'Serve Prometheus metrics on 127.0.0.1' });
    await waitFor(() => expect((toggle as HTMLInputElement).disabled).toBe(false));
    expect((toggle as HTMLInputElement).checked).toBe(false);
    fireEvent.change(screen.getByRole('spinbutton', { name: 'Port' }), { target: { value: '9901' } });
    fireEvent.click(toggle);
    await screen.findByText('http://127.0.0.1:9901/metrics');
    expect(api.settings).toEqual([{ enabled: true, port: 9901 }]);
    expect(screen.getByText('Authorization: Bearer tok-1')).toBeTruthy();
    fireEvent.click(screen.getByRole('checkbox', { name: 'Serve Prometheus metrics on 127.0.0.1' }));
    await waitFor(() => expect(screen.queryByText('http://127.0.0.1:9901/metrics')).toBeNull());
    expect(api.settings).toEqual([
      { enabled: true, port: 9901 },
      { enabled: false, port: 9901 },
    ]);
  });

  it('refuses a port out of range without calling the host, and shows the host\'s problem', async () => {
    const api = new DesktopWindowApi();
    api.status = { enabled: false, port: 9740, url: null, token: null, problem: 'port 9740 is in use' };
    mount(api);
    expect((await screen.findByRole('alert')).textContent).toBe('port 9740 is in use');
    fireEvent.change(screen.getByRole('spinbutton', { name: 'Port' }), { target: { value: '70000' } });
    fireEvent.click(screen.getByRole('checkbox', { name: 'Serve Prometheus metrics on 127.0.0.1' }));
    expect((await screen.findByRole('alert')).textContent).toContain('from 0 to 65535');
    expect(api.settings).toEqual([]);
  });

  it('has no accessibility violations axe can find', async () => {
    mount(new DesktopWindowApi());
    await screen.findByRole('checkbox', { name: 'Serve Prometheus metrics on 127.0.0.1' });
    const results = await axe.run(document.body, { rules: { 'color-contrast': { enabled: false }, region: { enabled: false } } });
    expect(results.violations).toEqual([]);
  });
});
