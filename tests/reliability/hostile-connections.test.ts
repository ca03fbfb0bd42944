/**
 * Anyone who can reach `threadline serve`'s port, token or not, must not be able to end it. A
 * connection reset (SO_LINGER 0: an RST, not a FIN) makes the server's next write to that socket
 * fail with ECONNRESET or EPIPE; a socket without an 'error' listener then throws from the event
 * loop and ends the process. These tests reset hundreds of connections at every stage of their
 * life, against a real `threadline serve`, and then check that it still serves.
 */
import { mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ResultMessage } from '../../contract/api.js';
import type { TaskRecord } from '../../contract/records.js';
import { assertBuilt, finished, spawnBin, type BinResult } from '../cli/bin.js';
import { httpRequest, openSocket, WireClient } from '../hosts/ws-test-client.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';

beforeAll(assertBuilt);

/** Resets per stage and target: enough that a write racing the reset is all but certain to lose some. */
const ROUNDS = 120;
/** Connections in flight at once. */
const PARALLEL = 8;
const BIG_FILE_BYTES = 16 * 1024 * 1024;

interface Serve {
  port: number;
  token: string;
  pid: number;
  exit: Promise<BinResult>;
  exited(): boolean;
}

async function startServe(): Promise<Serve> {
  const webRoot = join(tempDir(), 'web');
  mkdirSync(join(webRoot, 'assets'), { recursive: true });
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>Threadline</title>');
  // Larger than the kernel's socket buffers: a reset finds the server still streaming it.
  writeFileSync(join(webRoot, 'assets', 'big.bin'), Buffer.alloc(BIG_FILE_BYTES, 7));
  const child = spawnBin(['serve', '--port', '0', '--workers', '2', '--data-dir', tempDir(), '--web-root', webRoot]);
  const exit = finished(child);
  let stdout = '';
  child.stdout!.on('data', (chunk: string) => (stdout += chunk));
  let ended = false;
  child.once('exit', () => (ended = true));
  const url = new URL(await waitFor(() => stdout.includes('\n') && stdout.split('\n')[0], 30_000, 'the serve URL'));
  return { port: Number(url.port), token: url.searchParams.get('token')!, pid: child.pid!, exit, exited: () => ended };
}

function upgradeRequest(port: number, path: string, extra: string[] = []): string {
  return [
    `GET ${path} HTTP/1.1`,
    `Host: 127.0.0.1:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==',
    'Sec-WebSocket-Version: 13',
    ...extra,
    '',
    '',
  ].join('\r\n');
}

/** A client-to-server WebSocket frame (masked, as clients must send them), possibly cut short. */
function clientFrame(text: string, keepBytes = Infinity): Buffer {
  const payload = Buffer.from(text);
  const mask = Buffer.from([0x12, 0x34, 0x56, 0x78]);
  const header =
    payload.length < 126
      ? Buffer.from([0x81, 0x80 | payload.length])
      : Buffer.from([0x81, 0x80 | 126, payload.length >> 8, payload.length & 0xff]);
  const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]!));
  const frame = Buffer.concat([header, mask, masked]);
  return frame.subarray(0, Math.min(frame.length, keepBytes));
}

/** Connects, lets `script` talk, then resets the connection (RST). Errors on the client side are expected. */
function resetConnection(port: number, script: (socket: Socket) => Promise<void> | void): Promise<void> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    const done = () => {
      if (!socket.destroyed) socket.resetAndDestroy();
      resolve();
    };
    socket.on('error', () => resolve());
    socket.once('connect', () => {
      Promise.resolve(script(socket)).then(done, done);
    });
  });
}

/** Resolves at the first bytes the server sends (or when the connection ends). */
function firstBytes(socket: Socket): Promise<string> {
  return new Promise((resolve) => {
    socket.once('data', (data: Buffer) => resolve(data.toString('latin1')));
    socket.once('close', () => resolve(''));
  });
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function attack(serve: Serve, stage: (socket: Socket, round: number) => Promise<void> | void): Promise<void> {
  let next = 0;
  const lane = async () => {
    while (next < ROUNDS && !serve.exited()) {
      const round = next++;
      await resetConnection(serve.port, (socket) => stage(socket, round));
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, lane));
}

function openFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

function ok(message: ResultMessage): unknown {
  if (!message.ok) throw new Error(`call failed: ${message.error.code}: ${message.error.message}`);
  return message.value;
}

async function taskState(client: WireClient, key: string): Promise<TaskRecord['state']> {
  return (ok(await client.call('taskDetail', { key })) as { task: TaskRecord }).task.state;
}

async function untilState(client: WireClient, key: string, state: TaskRecord['state']): Promise<void> {
  const deadline = Date.now() + 20_000;
  let last = await taskState(client, key);
  while (last !== state) {
    if (Date.now() > deadline) throw new Error(`task ${key} is ${last}, not ${state}, after 20 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
    last = await taskState(client, key);
  }
}

describe('`threadline serve` under connections reset (SO_LINGER 0) at every stage', () => {
  it('survives them all, token or not: it still serves pages and the API, and a running job keeps running', async () => {
    const serve = await startServe();
    const api = `ws://127.0.0.1:${serve.port}/api?token=${encodeURIComponent(serve.token)}`;
    const owner = new WireClient(await openSocket(api));
    onCleanup(() => void owner.socket.terminate());
    const submitted = ok(
      await owner.call('submitJob', { text: JSON.stringify({ name: 'long', tasks: [{ id: 'wait', kind: 'demo.sleep', ms: 600_000 }] }), fileName: 'long.json' }),
    ) as { ok: true; job: { id: string } };
    const longKey = `${submitted.job.id}:wait`;
    await untilState(owner, longKey, 'running');
    // Both pool threads up (each thread's event loop holds descriptors of its own) before counting.
    const warm = ok(
      await owner.call('submitJob', { text: JSON.stringify({ name: 'warm', tasks: [0, 1].map((i) => ({ id: `w${i}`, kind: 'demo.cpu', ms: 200 })) }), fileName: 'warm.json' }),
    ) as { ok: true; job: { id: string } };
    for (const id of ['w0', 'w1']) await untilState(owner, `${warm.job.id}:${id}`, 'succeeded');
    const fdsBefore = openFds(serve.pid);

    const wrongTokens = ['/', '/api', '/api?token=wrong', `/api/?token=${serve.token}x`, '/index.html?token=wrong'];
    const stages: Record<string, (socket: Socket, round: number) => Promise<void> | void> = {
      'with nothing sent': () => {},
      'before the headers end': (socket, round) => {
        socket.write(upgradeRequest(serve.port, '/api?token=wrong').slice(0, 1 + (round % 120)));
      },
      'while an upgrade without the token is refused': (socket, round) => {
        socket.write(upgradeRequest(serve.port, wrongTokens[round % wrongTokens.length]!));
      },
      'one turn into the refusal': async (socket, round) => {
        socket.write(upgradeRequest(serve.port, wrongTokens[round % wrongTokens.length]!));
        await tick();
      },
      'while a foreign origin or host is refused': (socket, round) => {
        const extra = round % 2 ? [`Origin: http://evil.example`] : [];
        const request = upgradeRequest(serve.port, `/api?token=${serve.token}`, extra);
        socket.write(round % 2 ? request : request.replace(`Host: 127.0.0.1:${serve.port}`, 'Host: evil.example'));
      },
      'while a plain request is answered': (socket, round) => {
        socket.write(`GET ${round % 2 ? '/api' : '/nothing-here'} HTTP/1.1\r\nHost: 127.0.0.1:${serve.port}\r\n\r\n`);
      },
      'while a large file is streamed': async (socket) => {
        socket.write(`GET /assets/big.bin HTTP/1.1\r\nHost: 127.0.0.1:${serve.port}\r\n\r\n`);
        await firstBytes(socket);
      },
      'right after the upgrade': async (socket) => {
        socket.write(upgradeRequest(serve.port, `/api?token=${serve.token}`));
        await firstBytes(socket);
      },
      'in the middle of a frame': async (socket, round) => {
        socket.write(upgradeRequest(serve.port, `/api?token=${serve.token}`));
        await firstBytes(socket);
        const frame = clientFrame(JSON.stringify({ type: 'call', id: 1, method: 'snapshot', params: {}, pad: 'x'.repeat(200) }));
        socket.write(frame.subarray(0, 1 + (round % (frame.length - 1))));
      },
      'while the server sends a snapshot and its deltas': async (socket) => {
        socket.write(upgradeRequest(serve.port, `/api?token=${serve.token}`));
        await firstBytes(socket);
        socket.write(clientFrame(JSON.stringify({ type: 'subscribe' })));
        socket.write(clientFrame(JSON.stringify({ type: 'call', id: 1, method: 'snapshot', params: {} })));
        await firstBytes(socket);
      },
    };
    let resets = 0;
    for (const [name, stage] of Object.entries(stages)) {
      await attack(serve, stage);
      resets += ROUNDS;
      if (serve.exited()) {
        const result = await serve.exit;
        throw new Error(`threadline serve exited (code ${result.code}) under resets, by the end of those ${name}:\n${result.stderr.slice(0, 2000)}`);
      }
    }
    expect(resets).toBe(ROUNDS * Object.keys(stages).length);

    // Nothing of the reset connections is kept: no socket, no file left open.
    const settled = await waitFor(() => openFds(serve.pid) <= fdsBefore + 2, 20_000, 'the open descriptors').then(
      () => true,
      () => false,
    );
    expect({ settled, before: fdsBefore, now: openFds(serve.pid) }).toMatchObject({ settled: true });

    // Still serving: a page, a refusal, the API with the token, and the long task still running.
    expect((await httpRequest(serve.port, '/')).status).toBe(200);
    expect((await httpRequest(serve.port, '/api')).status).toBe(401);
    const client = new WireClient(await openSocket(api));
    onCleanup(() => void client.socket.terminate());
    expect(await taskState(client, longKey)).toBe('running');
    const quick = ok(
      await client.call('submitJob', { text: JSON.stringify({ name: 'after', tasks: [{ id: 'echo', kind: 'demo.cpu', ms: 10 }] }), fileName: 'after.json' }),
    ) as { ok: true; job: { id: string } };
    await untilState(client, `${quick.job.id}:echo`, 'succeeded');

    expect(ok(await client.call('cancelTask', { key: longKey }))).toEqual({ cancelled: true });
    await untilState(client, longKey, 'cancelled');
    await client.close();
    await owner.close();
    process.kill(serve.pid, 'SIGTERM');
    const result = await serve.exit;
    expect(result.stderr).not.toMatch(/Unhandled|ECONNRESET|EPIPE/);
    expect(result.code).toBe(0);
  }, 240_000);
});
