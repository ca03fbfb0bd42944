/**
 * A client that holds connections open until the host runs out of file descriptors must not end
 * `threadline serve`: with every descriptor taken, reading the process's memory (/proc) and
 * accepting a connection both fail with EMFILE, and either used to throw from a timer or an
 * 'error' event with no listener. The server runs under a low descriptor limit (`prlimit`).
 */
import { spawn } from 'node:child_process';
import { connect, type Socket } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, BIN, ROOT } from '../cli/bin.js';
import { httpRequest } from '../hosts/ws-test-client.js';
import { tempDir, waitFor } from '../support/engine-fixture.js';

beforeAll(assertBuilt);

/** The serve process's descriptor limit: low enough that a test reaches it in a moment. */
const NOFILE = 256;
/** More connections than the limit allows, so that accepting fails for many of them. */
const HELD = 600;

const stops: Array<() => void> = [];
afterEach(() => {
  for (const stop of stops.splice(0)) stop();
});

describe('threadline serve out of file descriptors', () => {
  it('keeps serving while a client holds more connections than it has descriptors, and after', async () => {
    const child = spawn('prlimit', [`--nofile=${NOFILE}:${NOFILE}`, process.execPath, BIN, 'serve', '--port', '0', '--workers', '2', '--data-dir', tempDir()], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    stops.push(() => child.kill('SIGKILL'));
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    let exit: string | null = null;
    child.once('exit', (code, signal) => (exit = `code ${code}, signal ${signal}; stderr: ${stderr}`));
    const url = new URL(await waitFor(() => stdout.includes('\n') && stdout.split('\n')[0], 30_000, 'the serve URL'));
    const port = Number(url.port);

    const held: Socket[] = [];
    for (let i = 0; i < HELD; i++) {
      const socket = connect(port, '127.0.0.1');
      socket.on('error', () => socket.destroy());
      held.push(socket);
    }
    // Telemetry samples every 500 ms: several samples fall while the descriptors are gone.
    await new Promise((resolve) => setTimeout(resolve, 2_500));
    expect(exit).toBeNull();
    for (const socket of held) socket.destroy();

    // The closed connections' descriptors come back as the server notices the closes.
    let status = 0;
    for (const deadline = Date.now() + 20_000; status !== 200 && Date.now() < deadline; ) {
      status = (await httpRequest(port, `/?token=${url.searchParams.get('token')}`).catch(() => null))?.status ?? 0;
      if (status !== 200) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(status).toBe(200);
    expect(exit).toBeNull();
    expect(stderr).not.toMatch(/EMFILE|Error:/);
  });
});
