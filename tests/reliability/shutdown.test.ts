/**
 * A graceful stop of `threadline serve` (SIGTERM, Ctrl-C) must not wait on its clients: a
 * browser tab that hangs, or a connection that never answers the WebSocket close frame, may
 * not hold the server up beyond its shutdown deadline (5 s).
 */
import { connect, type Socket } from 'node:net';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, finished, spawnBin } from '../cli/bin.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';

beforeAll(assertBuilt);

/** Completes a WebSocket upgrade by hand, then never reads or answers again. */
async function silentClient(port: number, token: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  onCleanup(() => void socket.destroy());
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  socket.write(
    [
      `GET /api?token=${encodeURIComponent(token)} HTTP/1.1`,
      `Host: 127.0.0.1:${port}`,
      'Upgrade: websocket',
      'Connection: Upgrade',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
      'Sec-WebSocket-Version: 13',
      '',
      '',
    ].join('\r\n'),
  );
  const status = await new Promise<string>((resolve) => socket.once('data', (data: Buffer) => resolve(data.toString().split('\r\n')[0]!)));
  expect(status).toBe('HTTP/1.1 101 Switching Protocols');
  socket.pause();
  return socket;
}

describe('stopping `threadline serve`', () => {
  it('is not held up by a client that never answers the close frame', async () => {
    const child = spawnBin(['serve', '--port', '0', '--workers', '1', '--data-dir', tempDir()]);
    const exit = finished(child);
    let stdout = '';
    child.stdout!.on('data', (chunk: string) => (stdout += chunk));
    const url = new URL(await waitFor(() => stdout.includes('\n') && stdout.split('\n')[0], 30_000, 'the serve URL'));
    await silentClient(Number(url.port), url.searchParams.get('token')!);

    child.kill('SIGTERM');
    // The deadline plus room for a busy machine; the failure this guards against is a 30 s wait.
    const stopped = await Promise.race([exit.then(() => true), new Promise<false>((resolve) => setTimeout(() => resolve(false), 10_000))]);
    expect(stopped).toBe(true);
    expect((await exit).code).toBe(0);
  });
});
