/**
 * The one app window. Its security settings come from security.ts; it shows once its first
 * paint is ready, so it never flashes an empty frame.
 */
import { BrowserWindow } from 'electron';
import { createSecureWindow } from './security.js';

export interface MainWindowOptions {
  preloadFile: string;
  startUrl: string;
}

export function createMainWindow(options: MainWindowOptions): BrowserWindow {
  const window = createSecureWindow(
    BrowserWindow,
    { title: 'Threadline', width: 1400, height: 900, minWidth: 900, minHeight: 600, show: false, backgroundColor: '#111318' },
    options.preloadFile,
  );
  window.once('ready-to-show', () => window.show());
  void window.loadURL(options.startUrl);
  return window;
}
