/**
 * The preload's API object against the real IPC handlers and a real engine: what the window
 * sees through `window.threadline`, with Electron's processes replaced by the stand-in.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { API_METHODS, apiEventSchema, type ApiEvent, type DeltaMessage, type SnapshotMessage } from '../../contract/api.js';
import { DESKTOP_METHODS } from '../../contract/desktop-api.js';
import { IPC_CHANNELS } from '../../electron/desktop/ipc-channels.js';
import { tempDir, waitFor } from '../support/engine-fixture.js';
import { keepPreloadLoaded, startTestApp, type TestApp, type WindowApi } from './desktop-fixture.js';
import { contextBridge, dialog, ipcMain } from './electron-stand-in.js';

vi.mock('electron', () => import('./electron-stand-in.js'));

let api: WindowApi;
keepPreloadLoaded((loaded) => (api = loaded));

let desktop: TestApp;
beforeEach(async () => {
  desktop = await startTestApp();
});

/** Collects the window's events and checks each against the contract's schema. */
function listen(): { events: ApiEvent[]; stop: () => void } {
  const events: ApiEvent[] = [];
  const stop = api.subscribe((event) => {
    apiEventSchema.parse(event);
    events.push(event);
  });
  return { events, stop };
}

const jobText = (tasks: unknown[], name = 'from the window') => JSON.stringify({ name, tasks });

describe('the preload', () => {
  it('exposes exactly one object, with the contract methods, the desktop methods, subscribe and resync, and nothing else', () => {
    expect([...contextBridge.exposed.keys()]).toEqual(['threadline']);
    const expected = [...API_METHODS, ...DESKTOP_METHODS, 'subscribe', 'resync'].sort();
    expect(Object.keys(api).sort()).toEqual(expected);
    for (const name of expected) expect(typeof (api as unknown as Record<string, unknown>)[name]).toBe('function');
  });
});

describe('calls through IPC', () => {
  it('submits a job, streams a snapshot then deltas in sequence, and the job ends succeeded', async () => {
    const { events, stop } = listen();
    await waitFor(() => events[0], 10_000, 'the first snapshot');
    const first = events[0] as SnapshotMessage;
    expect(first.type).toBe('snapshot');

    const submitted = await api.submitJob({
      text: jobText([
        { id: 'a', kind: 'demo.cpu', ms: 30 },
        { id: 'b', kind: 'demo.echo', value: 7, dependsOn: ['a'] },
      ]),
      fileName: 'window.json',
    });
    if (!submitted.ok) throw new Error(JSON.stringify(submitted.issues));
    const jobId = submitted.job.id;
    const finished = await waitFor(
      () => events.some((event) => event.type === 'delta' && event.jobs.some((job) => job.id === jobId && job.state === 'succeeded')),
      20_000,
      'the job to succeed in a delta',
    );
    expect(finished).toBe(true);
    stop();
    events.forEach((event, index) => expect(event.seq).toBe(first.seq + index));
    const tasks = events.filter((event): event is DeltaMessage => event.type === 'delta').flatMap((delta) => delta.tasks);
    // Deltas carry no results; the task's detail does.
    expect(tasks.find((task) => task.key === `${jobId}:b` && task.state === 'succeeded')?.result).toBeNull();
    expect((await api.taskDetail({ key: `${jobId}:b` })).task.result).toBe(7);

    const detail = await api.taskDetail({ key: `${jobId}:a` });
    expect(detail.task.state).toBe('succeeded');
    expect(detail.attempts).toHaveLength(1);
  });

  it('answers an invalid job with the issues, and submits nothing', async () => {
    const result = await api.submitJob({ text: jobText([{ id: 'x', kind: 'demo.cpu' }]), fileName: 'bad.json' });
    expect(result).toEqual({ ok: false, issues: [expect.objectContaining({ path: 'tasks[0].ms', message: expect.stringMatching(/missing/) })] });
    expect(desktop.running.engine.snapshot().jobs).toEqual([]);
  });

  it('rejects a malformed payload with a message naming the method, the field and what was expected', async () => {
    const bad = api as unknown as Record<string, (params?: unknown) => Promise<unknown>>;
    await expect(bad.cancelTask!({ key: 42 })).rejects.toThrow(/^cancelTask: key: .*expected string/);
    await expect(bad.cancelTask!({ key: 'no-colon' })).rejects.toThrow('cancelTask: key: expected a task key "<jobId>:<taskId>"');
    await expect(bad.runDemo!({ inline: 'yes', extra: 1 })).rejects.toThrow(/^runDemo: /);
    await expect(bad.listJobs!('not an object')).rejects.toThrow(/^listJobs: /);
    await expect(bad.pickFiles!({ multiple: true })).rejects.toThrow(/^pickFiles: .*multiple/);
    await expect(ipcMain.invoke(IPC_CHANNELS.call, trustedEvent(), 'dropDatabase', {})).resolves.toEqual({
      ok: false,
      error: { code: 'UNKNOWN_METHOD', message: 'unknown method "dropDatabase"' },
    });
    expect(dialog.openCalls).toEqual([]);
  });

  it('cancels a running task, and says NOT_FOUND for a task that does not exist', async () => {
    const { events, stop } = listen();
    const submitted = await api.submitJob({ text: jobText([{ id: 'long', kind: 'demo.cpu', ms: 60_000 }]), fileName: 'long.json' });
    if (!submitted.ok) throw new Error('not submitted');
    const key = `${submitted.job.id}:long`;
    await waitFor(() => desktop.running.engine.task(key)?.state === 'running', 20_000, 'the task to run');
    await expect(api.cancelTask({ key })).resolves.toEqual({ cancelled: true });
    await waitFor(
      () => events.some((event) => event.type === 'delta' && event.tasks.some((task) => task.key === key && task.state === 'cancelled')),
      20_000,
      'the cancel in a delta',
    );
    stop();
    await expect(api.cancelTask({ key: 'nojob:notask' })).rejects.toThrow('no task "nojob:notask"');
  });

  it('resyncs with a fresh snapshot that continues the sequence', async () => {
    const { events, stop } = listen();
    await waitFor(() => events[0], 10_000, 'the first snapshot');
    await api.resync();
    await waitFor(() => events.filter((event) => event.type === 'snapshot').length === 2, 10_000, 'a second snapshot');
    stop();
    const snapshots = events.filter((event) => event.type === 'snapshot');
    expect(snapshots[1]!.seq).toBeGreaterThan(snapshots[0]!.seq);
    events.forEach((event, index) => expect(event.seq).toBe(events[0]!.seq + index));
  });

  it('stops sending events to the window once its last listener unsubscribes, or the page reloads', async () => {
    const contents = desktop.window.webContents;
    const eventsSent = () => contents.sent.filter((message) => message.channel === IPC_CHANNELS.event).length;
    const { events, stop } = listen();
    await waitFor(() => events[0], 10_000, 'the first snapshot');
    stop();
    await waitFor(() => contents.listenerCount('destroyed') > 0, 10_000, 'the stream to be set up');
    // unsubscribe is an IPC call too; once it has been handled no delta follows.
    await ipcMain.invoke(IPC_CHANNELS.unsubscribe, trustedEvent());
    const before = eventsSent();
    const done = await api.submitJob({ text: jobText([{ id: 'quiet', kind: 'demo.echo' }]), fileName: 'quiet.json' });
    if (!done.ok) throw new Error('not submitted');
    await desktop.running.engine.waitForJob(done.job.id);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(eventsSent()).toBe(before);

    // A reload of the page ends its stream too.
    const again = listen();
    await waitFor(() => again.events[0], 10_000, 'a snapshot after subscribing again');
    contents.emit('did-start-navigation', { isMainFrame: true, isSameDocument: false, url: contents.mainFrame.url });
    const afterReload = eventsSent();
    const next = await api.submitJob({ text: jobText([{ id: 'quiet', kind: 'demo.echo' }]), fileName: 'quiet.json' });
    if (!next.ok) throw new Error('not submitted');
    await desktop.running.engine.waitForJob(next.job.id);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(eventsSent()).toBe(afterReload);
    again.stop();
  });
});

describe('native dialogs', () => {
  it('picks a job file, reads it for submitJob, and the job runs from its folder', async () => {
    const folder = tempDir();
    const file = join(folder, 'nightly.yaml');
    writeFileSync(file, 'name: nightly\ntasks:\n  - id: one\n    kind: demo.echo\n    value: 1\n');
    dialog.openAnswers.push({ canceled: false, filePaths: [file] });
    const picked = await api.pickJobFile();
    expect(picked).toEqual({ job: { fileName: file, baseDir: folder, text: expect.stringContaining('name: nightly') } });
    expect(dialog.openCalls[0]!.parent).toBe(desktop.window);
    expect(dialog.openCalls[0]!.options.filters?.[0]?.extensions).toEqual(['json', 'yaml', 'yml']);

    const submitted = await api.submitJob(picked.job!);
    if (!submitted.ok) throw new Error(JSON.stringify(submitted.issues));
    expect(submitted.job.baseDir).toBe(folder);
    expect((await desktop.running.engine.waitForJob(submitted.job.id)).state).toBe('succeeded');
  });

  it('answers a dismissed dialog with nothing picked', async () => {
    await expect(api.pickJobFile()).resolves.toEqual({ job: null });
    await expect(api.pickDatabase()).resolves.toEqual({ path: null });
    await expect(api.pickFiles()).resolves.toEqual({ paths: [] });
  });

  it('returns the picked database and files', async () => {
    dialog.openAnswers.push({ canceled: false, filePaths: ['/data/chinook.sqlite'] });
    dialog.openAnswers.push({ canceled: false, filePaths: ['/data/a.csv', '/data/b.csv'] });
    await expect(api.pickDatabase()).resolves.toEqual({ path: '/data/chinook.sqlite' });
    await expect(api.pickFiles()).resolves.toEqual({ paths: ['/data/a.csv', '/data/b.csv'] });
    expect(dialog.openCalls[0]!.options.properties).toEqual(['openFile']);
    expect(dialog.openCalls[1]!.options.properties).toEqual(['openFile', 'multiSelections']);
  });

  it('refuses a picked job file it cannot use, naming the file and the problem', async () => {
    const folder = tempDir();
    const missing = join(folder, 'gone.json');
    const directory = join(folder, 'a-folder.json');
    mkdirSync(directory);
    dialog.openAnswers.push({ canceled: false, filePaths: [missing] }, { canceled: false, filePaths: [directory] });
    await expect(api.pickJobFile()).rejects.toThrow(`${missing}: no such file`);
    await expect(api.pickJobFile()).rejects.toThrow(`${directory}: is not a file; expected a JSON or YAML job file`);
  });
});

function trustedEvent() {
  const contents = desktop.window.webContents;
  return { sender: contents, senderFrame: contents.mainFrame };
}
