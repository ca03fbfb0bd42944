import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { startDesktopApp } from '../../electron/desktop/desktop-app.js';
import { APP_ORIGIN, APP_SCHEME, APP_START_URL } from '../../electron/desktop/app-protocol.js';
import { IPC_CHANNELS } from '../../electron/desktop/ipc-channels.js';
import { contentSecurityPolicy, isAppUrl, originOf } from '../../electron/desktop/security.js';
import { STORE_FILE } from '../../electron/engine/job-store.js';
import { defaultWorkerFile } from '../../electron/engine/paths.js';
import { tempDir } from '../support/engine-fixture.js';
import { PRELOAD_FILE, setEnv, startTestApp } from './desktop-fixture.js';
import { app, BrowserWindow, dialog, ipcMain, protocol, resetElectron, session, StandInEvent, StandInFrame, StandInWebContents } from './electron-stand-in.js';

vi.mock('electron', () => import('./electron-stand-in.js'));

// Before, not after: the engine fixture's cleanup quits each app through the stand-in's listeners.
beforeEach(() => resetElectron());

/** A trusted IPC event from the window's main frame, or one with the parts a test swaps out. */
function ipcEvent(sender: StandInWebContents, frame: StandInFrame | null = sender.mainFrame) {
  return { sender, senderFrame: frame };
}

/**
 * What the items of Electron's security checklist (electronjs.org/docs/latest/tutorial/security)
 * ask of a window's web preferences, item by item, so that a failure names the rule it breaks.
 */
const CHECKLIST_WEB_PREFERENCES: Array<[item: string, asked: Record<string, unknown>]> = [
  ['#2 no Node.js integration for remote content', { nodeIntegration: false, nodeIntegrationInWorker: false, nodeIntegrationInSubFrames: false }],
  ['#3 context isolation', { contextIsolation: true }],
  ['#4 process sandboxing', { sandbox: true }],
  ['#6 webSecurity left on', { webSecurity: true }],
  ['#8 no allowRunningInsecureContent', { allowRunningInsecureContent: false }],
  ['#11 no <webview> (so none with allowpopups)', { webviewTag: false }],
];

describe('the desktop window', () => {
  it('is isolated, sandboxed, without Node, with web security, and loads the app page', async () => {
    const { window } = await startTestApp();
    expect(window.options.webPreferences?.preload).toBe(PRELOAD_FILE);
    for (const [item, asked] of CHECKLIST_WEB_PREFERENCES) expect(window.options.webPreferences, item).toMatchObject(asked);
    expect(window.loadedUrl).toBe(APP_START_URL);
    // It shows only once its first paint is ready.
    expect(window.visible).toBe(false);
    await new Promise((resolve) => setImmediate(resolve));
    expect(window.visible).toBe(true);
  });

  it('puts the engine on <userData>/data, the folder the CLI uses, with userData named Threadline', async () => {
    const { running, configHome } = await startTestApp();
    expect(app.getPath('userData')).toBe(join(configHome, 'Threadline'));
    expect(running.dataDir).toBe(join(configHome, 'Threadline', 'data'));
    expect(existsSync(join(running.dataDir, STORE_FILE))).toBe(true);
  });

  it('registers its own privileged scheme before the app is ready and serves pages from it', async () => {
    await startTestApp();
    expect(protocol.privileged).toEqual([{ scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } }]);
    expect(protocol.handlers.has(APP_SCHEME)).toBe(true);
  });

  it('sends a strict Content-Security-Policy with every app page, replacing any other', async () => {
    await startTestApp();
    const response = await session.defaultSession.respond(`${APP_ORIGIN}/index.html`, {
      'content-security-policy': ["default-src *"],
      'Content-Type': ['text/html'],
    });
    expect(response.responseHeaders).toEqual({
      'Content-Type': ['text/html'],
      'Content-Security-Policy': [contentSecurityPolicy('production')],
    });
    const policy = contentSecurityPolicy('production');
    for (const directive of [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "connect-src 'self'",
      "object-src 'none'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ]) {
      expect(policy.split('; ')).toContain(directive);
    }
    expect(policy).not.toMatch(/unsafe-inline|unsafe-eval|\*|https?:/);
    // Responses from elsewhere are left alone (the app loads nothing from elsewhere anyway).
    expect(await session.defaultSession.respond('https://example.com/', { 'X-Any': ['1'] })).toEqual({});
  });

  it('in development allows only what the dev server needs, for the dev server origin', async () => {
    await startTestApp({ devServerUrl: 'http://localhost:5173/' });
    const response = await session.defaultSession.respond('http://localhost:5173/src/main.tsx');
    const policy = response.responseHeaders?.['Content-Security-Policy'];
    expect(policy).toEqual([contentSecurityPolicy('development')]);
    expect(contentSecurityPolicy('development')).toContain("script-src 'self' 'unsafe-inline'");
    expect(contentSecurityPolicy('development')).not.toContain('unsafe-eval');
    expect(await session.defaultSession.respond('http://localhost:5174/')).toEqual({});
  });

  it('blocks navigation, new windows and <webview>', async () => {
    const { window } = await startTestApp();
    const contents = window.webContents;
    expect(contents.attemptNavigation('https://example.com/phish')).toBe(false);
    expect(contents.attemptNavigation(`${APP_ORIGIN}/other.html`)).toBe(false);
    expect(contents.mainFrame.url).toBe(APP_START_URL);
    expect(contents.attemptWindowOpen('https://example.com/')).toBe('deny');
    expect(contents.attemptWindowOpen(`${APP_ORIGIN}/index.html`)).toBe('deny');

    const webview = { preventDefault: vi.fn() };
    contents.emit('will-attach-webview', webview, {}, {});
    expect(webview.preventDefault).toHaveBeenCalled();
    const redirect = { url: 'https://example.com/', preventDefault: vi.fn() };
    contents.emit('will-redirect', redirect);
    expect(redirect.preventDefault).toHaveBeenCalled();
    const subframe = { url: 'https://example.com/', preventDefault: vi.fn() };
    contents.emit('will-frame-navigate', subframe);
    expect(subframe.preventDefault).toHaveBeenCalled();
  });

  it('secures web contents it did not create itself too', async () => {
    await startTestApp();
    const stray = new StandInWebContents();
    app.emit('web-contents-created', {}, stray);
    expect(stray.attemptNavigation('https://example.com/')).toBe(false);
    expect(stray.attemptWindowOpen('https://example.com/')).toBe('deny');
  });

  it('denies every permission request and check', async () => {
    await startTestApp();
    const ses = session.defaultSession;
    for (const permission of ['media', 'geolocation', 'notifications', 'clipboard-read', 'openExternal', 'fullscreen']) {
      expect(await ses.requestPermission(permission)).toBe(false);
      expect(ses.permissionCheckHandler?.(null, permission, APP_ORIGIN, {})).toBe(false);
    }
    expect(ses.devicePermissionHandler?.({ deviceType: 'usb', origin: APP_ORIGIN })).toBe(false);
  });

  it('tells the person, without a stack, when the engine cannot start, and exits', async () => {
    const blocker = join(tempDir(), 'a-file');
    writeFileSync(blocker, 'not a folder');
    setEnv('XDG_CONFIG_HOME', tempDir());
    setEnv('THREADLINE_DATA_DIR', join(blocker, 'data'));
    app.onExit = () => {};
    const started = await startDesktopApp({ workerFile: defaultWorkerFile(), preloadFile: PRELOAD_FILE, rendererDir: '/nowhere' });
    expect(started).toBeNull();
    expect(app.exitCodes).toEqual([2]);
    expect(dialog.errorBoxes).toHaveLength(1);
    const [box] = dialog.errorBoxes;
    expect(box!.title).toBe('Threadline cannot start');
    // The data directory's lock is taken before its store is opened: that is what fails here.
    expect(box!.content).toContain(`cannot open the lock of the data directory ${join(blocker, 'data')}: ENOTDIR: not a directory`);
    // Without an Electron build of better-sqlite3 next to the app, the message says how to get one.
    expect(box!.content).toContain('no Electron build of better-sqlite3');
    expect(box!.content).not.toMatch(/\n\s+at /);
    expect(BrowserWindow.created).toHaveLength(0);
  });

  it('brings its window back when a second instance is started', async () => {
    const { window } = await startTestApp();
    window.minimized = true;
    app.emit('second-instance', new StandInEvent(), [], '/');
    expect(window).toMatchObject({ minimized: false, focused: true });
  });

  it('leaves at once when another instance already runs', async () => {
    app.singleInstanceLock = false;
    const started = await startDesktopApp({ workerFile: 'unused', preloadFile: PRELOAD_FILE, rendererDir: '/nowhere' });
    expect(started).toBeNull();
    expect(app.quitCalls).toBe(1);
  });
});

describe('IPC sender checks', () => {
  it('refuses a call from another web contents, a subframe, or a page not of the app, before touching the engine', async () => {
    const { window, running } = await startTestApp();
    const call = (event: ReturnType<typeof ipcEvent>) =>
      ipcMain.invoke(IPC_CHANNELS.call, event, 'cancelAll', {});
    const submitted = running.engine.snapshot().jobs.length;

    const stranger = new StandInWebContents();
    stranger.mainFrame.url = APP_START_URL;
    await expect(call(ipcEvent(stranger))).rejects.toThrow('refused an IPC call: it does not come from the Threadline window');

    const iframe = new StandInFrame(APP_START_URL, window.webContents.mainFrame);
    await expect(call(ipcEvent(window.webContents, iframe))).rejects.toThrow("does not come from the window's main frame");
    await expect(call(ipcEvent(window.webContents, null))).rejects.toThrow("does not come from the window's main frame");

    window.webContents.mainFrame.url = 'https://evil.example/page';
    await expect(call(ipcEvent(window.webContents))).rejects.toThrow(
      `refused an IPC call from https://evil.example/page: expected a page of ${APP_ORIGIN}`,
    );
    window.webContents.mainFrame.url = 'file:///etc/passwd';
    await expect(call(ipcEvent(window.webContents))).rejects.toThrow('refused an IPC call from file:///etc/passwd');
    for (const channel of [IPC_CHANNELS.subscribe, IPC_CHANNELS.unsubscribe, IPC_CHANNELS.resync]) {
      await expect(ipcMain.invoke(channel, ipcEvent(window.webContents))).rejects.toThrow('refused an IPC call from file:///etc/passwd');
    }
    expect(window.webContents.sent).toEqual([]);
    expect(running.engine.snapshot().jobs.length).toBe(submitted);

    window.webContents.mainFrame.url = APP_START_URL;
    await expect(call(ipcEvent(window.webContents))).resolves.toEqual({ ok: true, value: { cancelled: 0 } });
  });

  it('refuses calls once the window is closed', async () => {
    const { window } = await startTestApp();
    // Another window (say, devtools) keeps the app from quitting with the last window.
    new BrowserWindow();
    window.close();
    await expect(ipcMain.invoke(IPC_CHANNELS.call, ipcEvent(window.webContents), 'cancelAll', {})).rejects.toThrow(
      'does not come from the Threadline window',
    );
  });
});

describe('URL origins', () => {
  it('compares scheme and host, also for the app scheme whose URL.origin is "null"', () => {
    expect(new URL(APP_START_URL).origin).toBe('null');
    expect(originOf(APP_START_URL)).toBe(APP_ORIGIN);
    expect(isAppUrl(`${APP_ORIGIN}/a/b.js?x#y`, APP_ORIGIN)).toBe(true);
    expect(isAppUrl('threadline://evil/index.html', APP_ORIGIN)).toBe(false);
    expect(isAppUrl('threadline://app.evil/index.html', APP_ORIGIN)).toBe(false);
    expect(isAppUrl('http://localhost:5173/', 'http://localhost:5173')).toBe(true);
    expect(isAppUrl('http://localhost:5174/', 'http://localhost:5173')).toBe(false);
    expect(isAppUrl('not a url', APP_ORIGIN)).toBe(false);
    expect(isAppUrl('', APP_ORIGIN)).toBe(false);
  });
});
