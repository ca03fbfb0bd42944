/**
 * Electron's security checklist (electronjs.org/docs/latest/tutorial/security), the items that
 * apply and that tests/desktop/ does not already assert: #9 experimental features, #10 Blink
 * features, #13 navigation by a dropped file, #15 shell.openExternal, #19 fuses, #20 no Electron
 * object reaches the page. The rest is asserted there (see docs/reliability.md for the map).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import type { ApiEvent } from '../../contract/api.js';
import { REPO_ROOT } from '../support/cli.js';
import { waitFor } from '../support/engine-fixture.js';
import { keepPreloadLoaded, startTestApp, type WindowApi } from '../desktop/desktop-fixture.js';
import { BrowserWindow } from '../desktop/electron-stand-in.js';

vi.mock('electron', () => import('../desktop/electron-stand-in.js'));

let api: WindowApi;
keepPreloadLoaded((loaded) => (api = loaded));

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true, recursive: true })
    .filter((entry) => entry.isFile() && /\.(ts|mts|cts|js|mjs|cjs)$/.test(entry.name))
    .map((entry) => join(entry.parentPath, entry.name));
}

describe("Electron's security checklist", () => {
  it('#9, #10, #13: every window the app opens: no experimental features, no Blink feature turned on, no navigation by a dropped file', async () => {
    await startTestApp();
    expect(BrowserWindow.created.length).toBeGreaterThan(0);
    for (const window of BrowserWindow.created) {
      const preferences = window.options.webPreferences ?? {};
      expect(preferences.experimentalFeatures).toBe(false);
      expect(preferences.enableBlinkFeatures).toBeUndefined();
      expect(preferences.navigateOnDragDrop).toBe(false);
      // The isolation rules hold for every window, not only the first.
      expect(preferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
    }
  });

  it('#15: nothing in the app hands a URL to shell.openExternal', () => {
    const files = [...sourceFiles(join(REPO_ROOT, 'electron')), ...sourceFiles(join(REPO_ROOT, 'renderer', 'src'))];
    expect(files.length).toBeGreaterThan(20);
    const calling = files.filter((file) => /\bopenExternal\b/.test(readFileSync(file, 'utf8')));
    expect(calling).toEqual([]);
  });

  it('#19: the packaged app flips the fuses that would let anyone run it as plain Node or attach a debugger', () => {
    const config = parse(readFileSync(join(REPO_ROOT, 'electron-builder.yml'), 'utf8')) as { electronFuses?: Record<string, unknown> };
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      onlyLoadAppFromAsar: true,
    });
  });

  it('#20: the page gets no Electron object: only functions on window.threadline, and events without the IPC event (whose sender is ipcRenderer)', async () => {
    await startTestApp();
    for (const [name, value] of Object.entries(api)) expect({ name, type: typeof value }).toEqual({ name, type: 'function' });
    const calls: unknown[][] = [];
    const stop = api.subscribe((...args: unknown[]) => calls.push(args));
    await waitFor(() => calls.length > 0, 10_000, 'the first event');
    stop();
    for (const args of calls) {
      expect(args).toHaveLength(1);
      const [event] = args as [ApiEvent];
      expect(event).not.toHaveProperty('sender');
      // Plain data only: a structured clone of it is equal to it (no function, no live object).
      expect(structuredClone(event)).toEqual(event);
    }
    const listed = await api.listJobs({ history: true });
    expect(structuredClone(listed)).toEqual(listed);
    expect(typeof stop).toBe('function');
  });
});
