import { describe, expect, it } from 'vitest';
import { startDashboardServer } from '../../electron/serve/dashboard-server.js';
import { checkToken } from '../../renderer/src/transport/token-check';
import { makeEngine, onCleanup, tempDir } from '../support/engine-fixture.js';

const TOKEN = 'token-check-0123456789abcdef';

describe('checkToken against a real threadline serve', () => {
  it('tells a refused token from an accepted one, and from no server at all', async () => {
    const server = await startDashboardServer({ engine: makeEngine(), host: '127.0.0.1', port: 0, token: TOKEN, webRoot: null, baseDir: tempDir() });
    let closed = false;
    onCleanup(() => (closed ? undefined : server.close()));
    const origin = `http://127.0.0.1:${server.port}`;
    expect(await checkToken({ origin, search: `?token=${TOKEN}` })).toBe('accepted');
    expect(await checkToken({ origin, search: '?token=from-an-earlier-run' })).toBe('refused');
    expect(await checkToken({ origin, search: '' })).toBe('refused');
    await server.close();
    closed = true;
    expect(await checkToken({ origin, search: `?token=${TOKEN}` })).toBe('unreachable');
  });
});
