/**
 * `threadline serve`'s locked doors, the parts tests/hosts/ and tests/cli/ leave open: where it
 * really listens (read from the kernel), a token compared in constant time, more spellings of
 * path traversal and of foreign origins, and security headers on every refusal.
 */
import * as crypto from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { startDashboardServer } from '../../electron/serve/dashboard-server.js';
import { tokensMatch } from '../../electron/serve/access.js';
import { assertBuilt, finished, spawnBin } from '../cli/bin.js';
import { httpRequest, openSocket } from '../hosts/ws-test-client.js';
import { makeEngine, onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';

vi.mock('node:crypto', async (importOriginal) => {
  const real = await importOriginal<typeof import('node:crypto')>();
  return { ...real, timingSafeEqual: vi.fn(real.timingSafeEqual) };
});

beforeAll(assertBuilt);

const TOKEN = 'headless-token-0123456789abcdefghij';
const SECRET = 'outside the web root';

/** Listening TCP sockets on `port`, as the kernel lists them: local addresses in hex. */
function listeners(port: number): { v4: string[]; v6: string[] } {
  const read = (file: string) =>
    (existsSync(file) ? readFileSync(file, 'utf8') : 'header\n')
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.trim().split(/\s+/))
      // local_address is "ADDR:PORT" in hex; state 0A is LISTEN.
      .filter((fields) => fields[3] === '0A' && parseInt(fields[1]!.split(':')[1]!, 16) === port)
      .map((fields) => fields[1]!.split(':')[0]!);
  return { v4: read('/proc/net/tcp'), v6: read('/proc/net/tcp6') };
}

function connects(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function startServe(extra: string[] = []) {
  const child = spawnBin(['serve', '--port', '0', '--workers', '1', '--data-dir', tempDir(), ...extra]);
  const exit = finished(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.on('data', (chunk: string) => (stderr += chunk));
  const url = new URL(await waitFor(() => stdout.includes('\n') && stdout.split('\n')[0], 30_000, 'the serve URL'));
  return { child, exit, port: Number(url.port), url, stderr: () => stderr };
}

describe('where `threadline serve` listens', () => {
  it('on loopback only by default: the kernel lists one listener, on 127.0.0.1, and the other addresses refuse', async () => {
    const serve = await startServe();
    expect(serve.url.hostname).toBe('127.0.0.1');
    expect(listeners(serve.port)).toEqual({ v4: ['0100007F'], v6: [] });
    expect(await connects('127.0.0.1', serve.port)).toBe(true);
    const outward = Object.values(networkInterfaces())
      .flat()
      .filter((address) => address && !address.internal && address.family === 'IPv4')
      .map((address) => address!.address);
    for (const address of outward) expect({ address, connects: await connects(address, serve.port) }).toEqual({ address, connects: false });
    serve.child.kill('SIGTERM');
    expect((await serve.exit).code).toBe(0);
  });

  it('beyond loopback only when asked, and then it says so', async () => {
    const serve = await startServe(['--host', '0.0.0.0']);
    expect(listeners(serve.port).v4).toEqual(['00000000']);
    await waitFor(() => serve.stderr().includes('reachable from the network'), 10_000, 'the warning');
    expect(serve.stderr()).toContain('warning: listening on 0.0.0.0: the dashboard is reachable from the network (the token still guards the API)');
    serve.child.kill('SIGTERM');
    await serve.exit;
  });
});

describe('the token', () => {
  it('is compared in constant time: one timingSafeEqual over two fixed-size digests, whatever was sent', () => {
    const spy = vi.mocked(crypto.timingSafeEqual);
    const attempts = ['', 'x', TOKEN.slice(0, -1), `${TOKEN}x`, TOKEN.toUpperCase(), `${TOKEN.slice(0, 10)}${'\0'.repeat(TOKEN.length - 10)}`, 'ü'.repeat(50), 'a'.repeat(100_000), TOKEN];
    for (const given of attempts) {
      spy.mockClear();
      const matched = tokensMatch(given, TOKEN);
      expect({ given: given.slice(0, 20), matched }).toEqual({ given: given.slice(0, 20), matched: given === TOKEN });
      expect(spy).toHaveBeenCalledTimes(1);
      const [a, b] = spy.mock.calls[0]! as [Buffer, Buffer];
      expect([a.length, b.length]).toEqual([32, 32]);
    }
    for (const given of [null, undefined]) expect(tokensMatch(given, TOKEN)).toBe(false);
  });
});

async function startServer() {
  const engine = makeEngine({ poolSize: 1 });
  const dir = tempDir();
  const webRoot = join(dir, 'web');
  mkdirSync(join(webRoot, 'assets'), { recursive: true });
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>Threadline</title>');
  writeFileSync(join(webRoot, 'assets', 'app.js'), 'export {};');
  mkdirSync(join(dir, 'private'));
  writeFileSync(join(dir, 'private', 'secret.txt'), SECRET);
  writeFileSync(join(dir, 'secret.txt'), SECRET);
  symlinkSync(join(dir, 'private'), join(webRoot, 'assets', 'linked-folder'));
  const server = await startDashboardServer({ engine, host: '127.0.0.1', port: 0, token: TOKEN, webRoot, baseDir: dir });
  onCleanup(() => server.close());
  return server;
}

function expectHeaders(headers: Record<string, string | string[] | undefined>, what: string): void {
  expect({ what, nosniff: headers['x-content-type-options'] }).toEqual({ what, nosniff: 'nosniff' });
  expect({ what, csp: String(headers['content-security-policy']) }).toEqual({ what, csp: expect.stringContaining("default-src 'self'") });
}

describe('static files', () => {
  it('never serves a file outside the web root, however the path is spelled', async () => {
    const server = await startServer();
    const attempts = [
      '/assets/linked-folder/secret.txt',
      '/assets/linked-folder/',
      '/%252e%252e/secret.txt',
      '/%c0%ae%c0%ae/secret.txt',
      '/%e0%80%ae%e0%80%ae/secret.txt',
      '/%ef%bc%8e%ef%bc%8e/secret.txt',
      '/..%c0%afsecret.txt',
      '/assets/..;/..;/secret.txt',
      '/assets/%2e%2e%2f%2e%2e%2fsecret.txt',
      '/assets/.%2e/.%2e/secret.txt',
      '/assets/%2e./%2e./secret.txt',
      '/.%2e/secret.txt',
      '/%5c..%5csecret.txt',
      '/assets/..%00/secret.txt',
      '/./../secret.txt',
      '/assets/./../../secret.txt',
      `http://127.0.0.1/../secret.txt`,
      '*',
      '/../../../../../../../../etc/passwd',
      '/%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
      '/assets/linked-folder/../../secret.txt',
    ];
    for (const path of attempts) {
      for (const method of ['GET', 'HEAD']) {
        const reply = await httpRequest(server.port, path, { method });
        expect({ path, method, refused: [400, 403, 404].includes(reply.status) }).toEqual({ path, method, refused: true });
        expect(reply.body).not.toContain(SECRET);
        expect(reply.body).not.toContain('root:');
        expectHeaders(reply.headers, `${method} ${path}`);
      }
    }
    // The files that are there are served as usual.
    expect((await httpRequest(server.port, '/assets/app.js')).status).toBe(200);
  });

  it('sends the CSP and nosniff with every refusal, not only with pages', async () => {
    const server = await startServer();
    const replies = {
      'no token': await httpRequest(server.port, '/api'),
      'not a WebSocket': await httpRequest(server.port, `/api?token=${TOKEN}`),
      'foreign Host': await httpRequest(server.port, '/', { headers: { Host: 'evil.example' } }),
      'POST': await httpRequest(server.port, '/', { method: 'POST' }),
      'missing file': await httpRequest(server.port, '/nope.js'),
      'bad encoding': await httpRequest(server.port, '/%'),
      'traversal': await httpRequest(server.port, '/%2e%2e/secret.txt'),
    };
    expect(Object.fromEntries(Object.entries(replies).map(([what, reply]) => [what, reply.status]))).toEqual({
      'no token': 401,
      'not a WebSocket': 426,
      'foreign Host': 403,
      'POST': 405,
      'missing file': 404,
      'bad encoding': 400,
      'traversal': 403,
    });
    for (const [what, reply] of Object.entries(replies)) expectHeaders(reply.headers, what);
  });
});

describe('the WebSocket API', () => {
  it('admits its own origin only, however a foreign one is spelled', async () => {
    const server = await startServer();
    const url = `ws://127.0.0.1:${server.port}/api?token=${TOKEN}`;
    const own = `http://127.0.0.1:${server.port}`;
    const foreign = [
      `https://127.0.0.1:${server.port}`,
      `http://127.0.0.1:${server.port}.evil.example`,
      `http://127.0.0.1.evil.example:${server.port}`,
      `http://evil.example@127.0.0.1:${server.port}`,
      `http://127.0.0.1:${server.port}/`,
      `http://127.0.0.2:${server.port}`,
      `http://0.0.0.0:${server.port}`,
      `http://[::1]:${server.port}`,
      `http://127.0.0.1`,
      `file://`,
      `chrome-extension://abcdefghijklmnop`,
      '',
      'null',
    ];
    for (const origin of foreign) {
      const refused = await openSocket(url, { headers: { Origin: origin } }).then(
        (socket) => {
          socket.close();
          return null;
        },
        (error: { status?: number }) => error.status,
      );
      expect({ origin, refused }).toEqual({ origin, refused: 403 });
    }
    (await openSocket(url, { origin: own })).close();
    // A wrong token in a second parameter does not matter; a right one there does not help.
    (await openSocket(`${url}&token=wrong`)).close();
    await expect(openSocket(`ws://127.0.0.1:${server.port}/api?token=wrong&token=${TOKEN}`)).rejects.toMatchObject({ status: 401 });
  });
});
