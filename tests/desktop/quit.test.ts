/**
 * Quitting the desktop app waits for the engine: a real engine with a real pool and store,
 * and app.exit observed through the electron stand-in.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { IPC_CHANNELS } from '../../electron/desktop/ipc-channels.js';
import { STORE_FILE } from '../../electron/engine/job-store.js';
import { waitFor } from '../support/engine-fixture.js';
import { startTestApp, type TestApp } from './desktop-fixture.js';
import { app, ipcMain, resetElectron } from './electron-stand-in.js';

vi.mock('electron', () => import('./electron-stand-in.js'));

beforeEach(() => resetElectron());

interface AtExit {
  code: number;
  storeOpen: boolean;
  owners: string;
  tasks: string;
  jobs: string;
}

/** What an independent reader (the sqlite3 CLI) finds in the store at the moment the app exits. */
function recordExit(desktop: TestApp): Promise<AtExit> {
  const db = join(desktop.running.dataDir, STORE_FILE);
  const query = (sql: string) => execFileSync('sqlite3', [db, sql], { encoding: 'utf8' }).trim();
  return new Promise((resolve) => {
    app.onExit = (code) =>
      resolve({
        code,
        storeOpen: desktop.running.engine.store.db.open,
        owners: query('SELECT count(*) FROM owner'),
        tasks: query('SELECT id, state FROM tasks ORDER BY id'),
        jobs: query('SELECT state FROM jobs'),
      });
  });
}

async function submitThroughIpc(desktop: TestApp, tasks: unknown[]): Promise<string> {
  const contents = desktop.window.webContents;
  const outcome = (await ipcMain.invoke(IPC_CHANNELS.call, { sender: contents, senderFrame: contents.mainFrame }, 'submitJob', {
    text: JSON.stringify({ name: 'at quit', tasks }),
    fileName: 'quit.json',
  })) as { ok: true; value: { ok: true; job: { id: string } } };
  return outcome.value.job.id;
}

describe('quitting', () => {
  it('exits only after the engine stopped its running tasks, flushed the store and released it', async () => {
    const desktop = await startTestApp({ quitDeadlineMs: 500 });
    const jobId = await submitThroughIpc(desktop, [
      // Cooperative: stops when asked. Blocked in a sync call: its thread is ended after the deadline.
      { id: 'crunching', kind: 'demo.cpu', ms: 600_000 },
      { id: 'stuck', kind: 'demo.block', ms: 600_000 },
    ]);
    const engine = desktop.running.engine;
    await waitFor(() => engine.task(`${jobId}:crunching`)?.state === 'running' && engine.task(`${jobId}:stuck`)?.state === 'running', 20_000, 'both tasks to run');

    const exit = recordExit(desktop);
    app.quit();
    // The quit was held back for the engine, which is now shutting down.
    expect(app.exitCodes).toEqual([]);
    expect(engine.isClosing).toBe(true);
    // Asking again while it shuts down changes nothing.
    app.quit();

    const atExit = await exit;
    expect(atExit).toEqual({
      code: 0,
      storeOpen: false,
      owners: '0',
      tasks: 'crunching|interrupted\nstuck|interrupted',
      jobs: 'interrupted',
    });
    expect(app.exitCodes).toEqual([0]);
    // Nothing answers the window any more.
    expect(ipcMain.handlers.size).toBe(0);
  });

  it('quits the same graceful way on SIGTERM', async () => {
    const signalListenersBefore = process.listenerCount('SIGTERM');
    const desktop = await startTestApp();
    expect(process.listenerCount('SIGTERM')).toBe(signalListenersBefore + 1);
    const jobId = await submitThroughIpc(desktop, [{ id: 'crunching', kind: 'demo.cpu', ms: 600_000 }]);
    await waitFor(() => desktop.running.engine.task(`${jobId}:crunching`)?.state === 'running', 20_000, 'the task to run');
    const exit = recordExit(desktop);
    const logged = vi.spyOn(console, 'error').mockImplementation(() => {});
    process.emit('SIGTERM', 'SIGTERM');
    const atExit = await exit;
    expect(atExit).toMatchObject({ code: 0, storeOpen: false, owners: '0', tasks: 'crunching|interrupted' });
    expect(logged).toHaveBeenCalledWith('SIGTERM: stopping; running tasks are asked to stop');
    logged.mockRestore();
    // The app's signal handlers went with it.
    expect(process.listenerCount('SIGTERM')).toBe(signalListenersBefore);
  });

  it('quits when the last window closes (not on macOS, where apps stay open)', async () => {
    const desktop = await startTestApp();
    const exit = recordExit(desktop);
    desktop.window.close();
    if (process.platform === 'darwin') {
      expect(app.quitCalls).toBe(0);
      return;
    }
    expect(app.quitCalls).toBe(1);
    expect(await exit).toMatchObject({ code: 0, storeOpen: false, owners: '0' });
  });
});
