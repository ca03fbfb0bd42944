/**
 * What every end-to-end file starts from: the renderer built as it is now, served by a real
 * `threadline serve`, and a page of Debian's Chromium with its console errors collected.
 */
import type { Browser, Page } from 'playwright-core';
import { collectConsoleErrors, launchChromium } from './browser';
import { buildRenderer, startServe, type ServeOptions, type ServeProcess } from './serve-process';

export interface DashboardInChromium {
  /** The serve running now (`restartServe` replaces it). */
  readonly serve: ServeProcess;
  readonly browser: Browser;
  /** The page opened at the start. */
  readonly page: Page;
  readonly consoleErrors: string[];
  /** Stops serve and starts it again on the same built renderer. */
  restartServe(options: Omit<ServeOptions, 'webRoot'>): Promise<ServeProcess>;
  /** Another page of the same size, with its own console errors collected. */
  newPage(): Promise<{ page: Page; consoleErrors: string[] }>;
  /** Closes Chromium, stops serve and removes the built renderer; safe after a failed start. */
  close(): Promise<void>;
}

export async function openDashboardInChromium(options: {
  serve: Omit<ServeOptions, 'webRoot'>;
  viewport: { width: number; height: number };
  chromiumArgs?: string[];
}): Promise<DashboardInChromium> {
  const web = await buildRenderer();
  let serve: ServeProcess | undefined;
  let browser: Browser | undefined;
  const close = async (): Promise<void> => {
    await browser?.close();
    await serve?.stop();
    await web.remove();
  };
  try {
    serve = await startServe({ ...options.serve, webRoot: web.dir });
    browser = await launchChromium(options.chromiumArgs);
    const openPage = async (): Promise<{ page: Page; consoleErrors: string[] }> => {
      const page = await browser!.newPage({ viewport: options.viewport });
      return { page, consoleErrors: collectConsoleErrors(page) };
    };
    const { page, consoleErrors } = await openPage();
    return {
      get serve() {
        return serve!;
      },
      browser,
      page,
      consoleErrors,
      restartServe: async (serveOptions) => {
        await serve!.stop();
        serve = undefined;
        serve = await startServe({ ...serveOptions, webRoot: web.dir });
        return serve;
      },
      newPage: openPage,
      close,
    };
  } catch (error) {
    await close();
    throw error;
  }
}
