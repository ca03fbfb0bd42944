import type { ChildProcess } from 'node:child_process';
import { openSocket, WireClient } from '../hosts/ws-test-client.js';
import { onCleanup, waitFor } from '../support/engine-fixture.js';
import { spawnBin } from './bin.js';

/**
 * `threadline serve` from the built bin (`--port 0` and `args`), with a WebSocket client of its
 * API subscribed to its events once it prints its URL. `stderr()` is what it wrote there so far.
 */
export async function subscribedServe(args: string[]): Promise<{ serve: ChildProcess; client: WireClient; stderr: () => string }> {
  const serve = spawnBin(['serve', '--port', '0', ...args]);
  let stdout = '';
  let stderr = '';
  serve.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  serve.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const url = new URL(await waitFor(() => stdout.includes('\n') && stdout.split('\n')[0], 30_000, 'the serve URL'));
  const client = new WireClient(await openSocket(`ws://127.0.0.1:${url.port}/api?token=${url.searchParams.get('token')}`));
  onCleanup(() => void client.close());
  client.send({ type: 'subscribe' });
  return { serve, client, stderr: () => stderr };
}
