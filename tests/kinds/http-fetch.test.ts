import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateJobSpec } from '../../contract/job-spec.js';
import type { HttpFetchResult } from '../../electron/engine/loop-kinds/http-fetch.js';
import { makeEngine, tempDir } from '../support/engine-fixture.js';
import { expectTaskError, runTask, startTask, succeeded, waitForProgress } from './kind-fixture.js';

const BIG = randomBytes(5 * 1024 * 1024 + 3);

describe('http.fetch', () => {
  let server: Server;
  let base: string;
  const stalled: ServerResponse[] = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        if (request.url === '/big') {
          response.setHeader('content-length', BIG.length);
          response.end(BIG);
        } else if (request.url === '/echo') {
          response.setHeader('content-type', 'application/json');
          response.end(JSON.stringify({ method: request.method, type: request.headers['content-type'] ?? null, token: request.headers['x-token'] ?? null, body }));
        } else if (request.url === '/stall') {
          // Headers and a first chunk, then nothing: only a cancel ends this download.
          response.setHeader('content-length', 1_000_000);
          response.write(Buffer.alloc(1000));
          stalled.push(response);
        } else if (request.url === '/long-text') {
          response.end('y'.repeat(100_000));
        } else {
          response.statusCode = 404;
          response.end('not here');
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    for (const response of stalled) response.destroy();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('returns status, headers and the body text, and sends a JSON body with its content type', async () => {
    const dir = tempDir();
    const engine = makeEngine();
    const result = succeeded<HttpFetchResult>(
      await runTask(engine, dir, { kind: 'http.fetch', url: `${base}/echo`, method: 'POST', headers: { 'x-token': 'abc' }, body: { a: [1, 2] } }),
    );
    expect(result).toMatchObject({ status: 200, statusText: 'OK', url: `${base}/echo` });
    expect(result.headers['content-type']).toBe('application/json');
    expect(JSON.parse(result.body!)).toEqual({ method: 'POST', type: 'application/json', token: 'abc', body: '{"a":[1,2]}' });
    const text = succeeded<HttpFetchResult>(await runTask(engine, dir, { kind: 'http.fetch', url: `${base}/echo`, method: 'PUT', body: 'raw text' }));
    expect(JSON.parse(text.body!)).toMatchObject({ method: 'PUT', body: 'raw text' });
    const long = succeeded<HttpFetchResult>(await runTask(engine, dir, { kind: 'http.fetch', url: `${base}/long-text` }));
    expect(long).toMatchObject({ bytes: 100_000, truncated: true });
    expect(long.body).toHaveLength(64 * 1024);
  });

  it('streams the body to an output file, byte for byte', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'downloads'));
    const engine = makeEngine();
    const result = succeeded<HttpFetchResult>(await runTask(engine, dir, { kind: 'http.fetch', url: `${base}/big`, output: 'downloads/big.bin' }));
    expect(result).toMatchObject({ status: 200, bytes: BIG.length, output: join(dir, 'downloads/big.bin') });
    expect(readFileSync(join(dir, 'downloads/big.bin')).equals(BIG)).toBe(true);
    expect(result.body).toBeUndefined();
    // HEAD has no body: the output is written, empty.
    const head = succeeded<HttpFetchResult>(await runTask(engine, dir, { kind: 'http.fetch', url: `${base}/big`, method: 'HEAD', output: 'downloads/head.bin' }));
    expect(head).toMatchObject({ status: 200, bytes: 0 });
    expect(head.headers['content-length']).toBe(String(BIG.length));
    expect(readFileSync(join(dir, 'downloads/head.bin')).length).toBe(0);
  });

  it('fails on a non-2xx status, a refused connection and an output folder that cannot be made; refuses a bad URL in the job file', async () => {
    const dir = tempDir();
    const engine = makeEngine();
    expectTaskError(await runTask(engine, dir, { kind: 'http.fetch', url: `${base}/missing` }), 'HTTP_STATUS', new RegExp(`GET ${base}/missing: the server answered 404 Not Found`));
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as AddressInfo;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    expectTaskError(await runTask(engine, dir, { kind: 'http.fetch', url: `http://127.0.0.1:${port}/` }), 'ECONNREFUSED', /failed: connect ECONNREFUSED/);
    // Missing folders are created (as by every kind that writes a file); a file in the way is named.
    const deep = succeeded<HttpFetchResult>(await runTask(engine, dir, { kind: 'http.fetch', url: `${base}/big`, output: 'new/deeper/big.bin' }));
    expect(deep.output).toBe(join(dir, 'new/deeper/big.bin'));
    expect(readFileSync(join(dir, 'new/deeper/big.bin')).equals(BIG)).toBe(true);
    writeFileSync(join(dir, 'plain-file'), 'x');
    expectTaskError(await runTask(engine, dir, { kind: 'http.fetch', url: `${base}/big`, output: 'plain-file/big.bin' }), 'ENOTDIR', /the folder of .*plain-file\/big\.bin cannot be created: a part of its path is a file/);
    for (const url of ['not a url', 'ftp://example.com/x', 'file:///etc/passwd']) {
      const checked = validateJobSpec({ name: 'x', tasks: [{ id: 'f', kind: 'http.fetch', url }] });
      expect(checked.ok ? [] : checked.issues).toEqual([{ path: 'tasks[0].url', message: 'expected an http:// or https:// URL' }]);
    }
  });

  it('stops a download at a cancel and removes the partial file', async () => {
    const dir = tempDir();
    const engine = makeEngine();
    const { key, jobId } = await startTask(engine, dir, { kind: 'http.fetch', url: `${base}/stall`, output: 'stalled.bin' });
    await waitForProgress(engine, key);
    engine.cancelTask(key);
    await engine.waitForJob(jobId);
    expect(engine.task(key)?.state).toBe('cancelled');
    expect(existsSync(join(dir, 'stalled.bin'))).toBe(false);
    expect(readdirSync(dir)).toEqual([]);
  });
});
