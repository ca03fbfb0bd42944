import { Redis } from 'ioredis';
import { writeFileSync } from 'node:fs';
import { createServer as createHttpServer } from 'node:http';
import { createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, expectNoStack, runBin } from '../cli/bin.js';
import { onCleanup, tempDir } from '../support/engine-fixture.js';
import { TestRedis } from '../support/redis-server.js';

beforeAll(assertBuilt);

/** A server of the test's own on 127.0.0.1 that is not Redis; closed after the test. */
async function listen(server: Server | ReturnType<typeof createHttpServer>): Promise<number> {
  const sockets = new Set<Socket>();
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  onCleanup(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return (server.address() as { port: number }).port;
}

/** `threadline worker` against `url`: what it said, and how it ended. */
async function workerAgainst(url: string) {
  return runBin(['worker', '--redis', url, '--name', 'build-1', '--root', tempDir()]);
}

/** `threadline run --workers 0` against `url`. */
async function runAgainst(url: string) {
  const dir = tempDir();
  writeFileSync(join(dir, 'job.json'), JSON.stringify({ name: 'x', tasks: [{ id: 'a', kind: 'demo.echo', value: 1 }] }));
  return runBin(['run', join(dir, 'job.json'), '--workers', '0', '--redis', url, '--data-dir', tempDir()]);
}

/** One line naming the URL without its password, exit 2, nothing else. */
function expectOneLine(result: { code: number | null; stdout: string; stderr: string }, shown: string, reason: RegExp): void {
  expect(result.code, result.stderr).toBe(2);
  expect(result.stdout).toBe('');
  expectNoStack(result.stderr);
  expect(result.stderr).not.toContain('hunter2');
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  expect(lines, result.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(new RegExp(`^threadline: (cannot reach Redis at|Redis at) ${shown.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  expect(lines[0]).toMatch(reason);
}

describe('threadline worker and run against a hostile network or a careless URL', () => {
  it('a server that accepts and never answers: one line, after a bounded wait, not a hang', async () => {
    const port = await listen(createServer(() => {}));
    const url = `redis://u:hunter2@127.0.0.1:${port}`;
    const shown = `redis://u:***@127.0.0.1:${port}`;
    // The test's own timeout is the bound: before the fix, both waited forever.
    expectOneLine(await workerAgainst(url), shown, /no answer in time/);
    expectOneLine(await runAgainst(url), shown, /no answer in time/);
  });

  it('an HTTP server, or one answering in another protocol: one line saying it does not answer as Redis does', async () => {
    const http = await listen(createHttpServer((_, response) => response.end('hello')));
    const other = await listen(createServer((socket) => socket.write('SSH-2.0-OpenSSH_9.2\r\n')));
    for (const port of [http, other]) {
      const result = await workerAgainst(`redis://:hunter2@127.0.0.1:${port}`);
      expectOneLine(result, `redis://:***@127.0.0.1:${port}`, /does not answer as Redis does|closed the connection before answering/);
      expect(result.stderr).not.toMatch(/Please report this|EPIPE|RESP/);
    }
  });

  it('a connection reset as it opens, or closed before any answer: one line, not a socket error code alone', async () => {
    const reset = await listen(createServer((socket) => socket.resetAndDestroy()));
    const closed = await listen(createServer((socket) => socket.end()));
    for (const port of [reset, closed]) {
      const result = await workerAgainst(`redis://127.0.0.1:${port}`);
      expectOneLine(result, `redis://127.0.0.1:${port}`, /closed the connection before answering/);
    }
  });

  it('a missing or wrong password, a disabled user, an ACL that forbids what a worker needs: one line each, exit 2', async () => {
    const redis = await TestRedis.start({ password: 'right' });
    const admin = new Redis({ host: '127.0.0.1', port: redis.port, password: 'right' });
    onCleanup(() => admin.disconnect());
    await admin.call('ACL', 'SETUSER', 'off-user', 'off', '>hunter2');
    await admin.call('ACL', 'SETUSER', 'no-info', 'on', '>hunter2', '~*', '+ping');
    // May read and connect, but not hold its name on the queue.
    await admin.call('ACL', 'SETUSER', 'no-write', 'on', '>hunter2', '~*', '&*', '+info', '+ping', '+hello', '+client', '+subscribe');
    const at = `127.0.0.1:${redis.port}`;
    expectOneLine(await workerAgainst(`redis://${at}`), `redis://${at}`, /asks for a password and the URL gives none/);
    expectOneLine(await workerAgainst(`redis://:hunter2@${at}`), `redis://:***@${at}`, /WRONGPASS/);
    expectOneLine(await workerAgainst(`redis://off-user:hunter2@${at}`), `redis://off-user:***@${at}`, /WRONGPASS/);
    const noInfo = await workerAgainst(`redis://no-info:hunter2@${at}`);
    expectOneLine(noInfo, `redis://no-info:***@${at}`, /NOPERM .*'info'/);
    expect(noInfo.stderr).not.toContain('Skipping the ready check');
    expectOneLine(await runAgainst(`redis://no-info:hunter2@${at}`), `redis://no-info:***@${at}`, /NOPERM .*'info'/);
    expectOneLine(await workerAgainst(`redis://no-write:hunter2@${at}`), `redis://no-write:***@${at}`, /refused a command: NOPERM .*'set'/);
  });
});
