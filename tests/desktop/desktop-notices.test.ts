/**
 * The desktop's notice when a long job ends, in the running app (stand-in Electron, real engine).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { LONG_JOB_MS } from '../../electron/desktop/long-job-notifier.js';
import { jobSpec, waitFor } from '../support/engine-fixture.js';
import { startTestApp } from './desktop-fixture.js';
import { Notification, resetElectron } from './electron-stand-in.js';

vi.mock('electron', () => import('./electron-stand-in.js'));

afterEach(() => vi.restoreAllMocks());

describe('long job notices', () => {
  it('shows one when a job that ran over 10 s ends, and a click on it brings the window back', async () => {
    resetElectron();
    const { running, window } = await startTestApp();
    const engine = running.engine;
    const job = await engine.submitJob(jobSpec([{ id: 'wait', kind: 'demo.sleep', ms: 300 }], { name: 'nightly' }), '/');
    await waitFor(() => engine.task(`${job.id}:wait`)?.state === 'running', 20_000, 'the task to run');
    // The clock jumps past the threshold while the job runs, instead of the test waiting for it.
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + LONG_JOB_MS + 1000);
    await engine.waitForJob(job.id);

    expect(Notification.shown.map((notice) => notice.options)).toEqual([{ title: 'Job "nightly" finished', body: expect.stringMatching(/^1 task in 1\d s$/) }]);
    window.minimized = true;
    window.focused = false;
    Notification.shown[0]!.emit('click');
    expect(window).toMatchObject({ minimized: false, visible: true, focused: true });
  });

  it('shows none where the system has no notifications', async () => {
    resetElectron();
    Notification.supported = false;
    const { running } = await startTestApp();
    const job = await running.engine.submitJob(jobSpec([{ id: 'wait', kind: 'demo.sleep', ms: 50 }]), '/');
    const realNow = Date.now.bind(Date);
    vi.spyOn(Date, 'now').mockImplementation(() => realNow() + LONG_JOB_MS + 1000);
    await running.engine.waitForJob(job.id);
    expect(Notification.shown).toEqual([]);
  });
});
