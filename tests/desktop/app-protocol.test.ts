/**
 * The app scheme's file server: real files on disk, including a symlink out of the folder.
 */
import { mkdirSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { beforeEach, describe, expect, it } from 'vitest';
import { APP_ORIGIN, rendererResponse } from '../../electron/desktop/app-protocol.js';
import { contentSecurityPolicy } from '../../electron/desktop/security.js';
import { tempDir } from '../support/engine-fixture.js';

let renderer: string;
let outside: string;

beforeEach(() => {
  const root = tempDir();
  renderer = join(root, 'renderer');
  outside = join(root, 'secret.txt');
  mkdirSync(join(renderer, 'assets'), { recursive: true });
  writeFileSync(join(renderer, 'index.html'), '<!doctype html><title>Threadline</title>');
  writeFileSync(join(renderer, 'assets', 'index-abc.js'), 'console.log(1)');
  writeFileSync(join(renderer, 'assets', 'index-abc.css'), 'body{}');
  writeFileSync(join(renderer, 'assets', 'name with space.svg'), '<svg/>');
  writeFileSync(outside, 'do not serve');
  symlinkSync(outside, join(renderer, 'assets', 'link.txt'));
});

async function get(path: string) {
  const response = await rendererResponse(`${APP_ORIGIN}${path}`, renderer);
  return { status: response.status, type: response.headers.get('content-type'), csp: response.headers.get('content-security-policy'), body: await response.text() };
}

describe('threadline://app', () => {
  it('serves the built pages with their content type, nosniff, and the CSP on HTML', async () => {
    const page = await rendererResponse(`${APP_ORIGIN}/index.html`, renderer);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(page.headers.get('content-security-policy')).toBe(contentSecurityPolicy('production'));
    expect(page.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await page.text()).toContain('<title>Threadline</title>');
    expect(await get('/')).toMatchObject({ status: 200, body: expect.stringContaining('Threadline') });
    expect(await get('/assets/index-abc.js')).toMatchObject({ status: 200, type: 'text/javascript; charset=utf-8', csp: null, body: 'console.log(1)' });
    expect(await get('/assets/index-abc.css')).toMatchObject({ status: 200, type: 'text/css; charset=utf-8' });
    expect(await get('/assets/name%20with%20space.svg')).toMatchObject({ status: 200, type: 'image/svg+xml' });
    expect(await get('/assets/index-abc.js?v=1#x')).toMatchObject({ status: 200 });
  });

  it('serves nothing outside the renderer folder, however the path is spelled', async () => {
    for (const path of [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/assets/%2E%2E%2F%2E%2E%2Fsecret.txt',
      '/..%2fsecret.txt',
      '/..%5csecret.txt',
      '/assets/link.txt',
      `/${encodeURIComponent(outside)}`,
    ]) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(response.body, path).not.toContain('do not serve');
    }
  });

  it('answers a bad path, a folder, a missing file and another host with an error, not a file', async () => {
    expect(await get('/%E0%A4%A')).toMatchObject({ status: 400, body: 'bad URL encoding' });
    expect(await get('/index.html%00.js')).toMatchObject({ status: 400 });
    expect(await get('/assets')).toMatchObject({ status: 404 });
    expect(await get('/assets/')).toMatchObject({ status: 404 });
    expect(await get('/nope.js')).toMatchObject({ status: 404 });
    const otherHost = await rendererResponse('threadline://evil/index.html', renderer);
    expect(otherHost.status).toBe(404);
    const otherScheme = await rendererResponse('file:///etc/passwd', renderer);
    expect(otherScheme.status).toBe(404);
    const notBuilt = await rendererResponse(`${APP_ORIGIN}/index.html`, join(renderer, 'missing'));
    expect(notBuilt.status).toBe(404);
    expect(await notBuilt.text()).toBe('the renderer has not been built');
  });

  it('answers a file it cannot read with a one-line error, never a rejection', async () => {
    // Sparse, so it takes no disk: over the 2 GiB that one read can hold, so reading it fails.
    writeFileSync(join(renderer, 'assets', 'huge.bin'), '');
    truncateSync(join(renderer, 'assets', 'huge.bin'), 2 ** 31 + 1);
    expect(await get('/assets/huge.bin')).toEqual({ status: 500, type: 'text/plain; charset=utf-8', csp: null, body: 'could not read assets/huge.bin (ERR_FS_FILE_TOO_LARGE)' });
  });

  it('answers any URL at all, never rejects', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.string(), fc.webPath(), fc.webUrl({ withQueryParameters: true, withFragments: true })), async (tail) => {
        for (const url of [`${APP_ORIGIN}${tail}`, `${APP_ORIGIN}/${tail}`, tail]) {
          const response = await rendererResponse(url, renderer);
          expect([200, 400, 404]).toContain(response.status);
          expect(await response.text()).not.toContain('do not serve');
        }
      }),
      { numRuns: 100 },
    );
  });
});
