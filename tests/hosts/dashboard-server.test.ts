import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ApiEvent, DeltaMessage, ResultMessage, SnapshotMessage } from '../../contract/api.js';
import type { TaskRecord } from '../../contract/records.js';
import { startDashboardServer, type DashboardServer } from '../../electron/serve/dashboard-server.js';
import { connectApi } from '../../electron/serve/node-api-client.js';
import { makeEngine, onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { httpRequest, openSocket, WireClient } from './ws-test-client.js';

const TOKEN = 'test-token-0123456789abcdef';
const SECRET = 'the secret outside the web root';

async function startServer(options: { webRoot?: 'built' | 'missing' } = {}) {
  const engine = makeEngine({ cancelGraceMs: 300 });
  const dir = tempDir();
  const webRoot = join(dir, 'web');
  mkdirSync(join(webRoot, 'assets'), { recursive: true });
  writeFileSync(join(webRoot, 'index.html'), '<!doctype html><title>Threadline</title><script type="module" src="/assets/app.js"></script>');
  writeFileSync(join(webRoot, 'assets', 'app.js'), 'console.log("dashboard");');
  writeFileSync(join(webRoot, '.env'), SECRET);
  writeFileSync(join(dir, 'secret.txt'), SECRET);
  symlinkSync(join(dir, 'secret.txt'), join(webRoot, 'assets', 'link.txt'));
  const server: DashboardServer = await startDashboardServer({
    engine,
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    webRoot: options.webRoot === 'missing' ? null : webRoot,
    expectedWebRoot: webRoot,
    baseDir: dir,
  });
  onCleanup(() => server.close());
  const apiUrl = (token: string | null = TOKEN) => `ws://127.0.0.1:${server.port}/api${token === null ? '' : `?token=${token}`}`;
  return { engine, server, apiUrl, origin: `http://127.0.0.1:${server.port}` };
}

async function wire(url: string, origin?: string): Promise<WireClient> {
  const client = new WireClient(await openSocket(url, { origin }));
  onCleanup(async () => {
    await client.close();
  });
  return client;
}

function expectSecurityHeaders(headers: Record<string, string | string[] | undefined>) {
  expect(headers['x-content-type-options']).toBe('nosniff');
  const csp = String(headers['content-security-policy']);
  expect(csp).toContain("default-src 'self'");
  expect(csp).toContain("script-src 'self'");
  expect(csp).toContain("object-src 'none'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(headers['referrer-policy']).toBe('no-referrer');
}

const ok = (result: ResultMessage) => {
  if (!result.ok) throw new Error(`call failed: ${JSON.stringify(result.error)}`);
  return result.value;
};

describe('threadline serve: access', () => {
  it('prints a URL with the token and serves the dashboard with a CSP and nosniff', async () => {
    const { server } = await startServer();
    expect(server.url).toBe(`http://127.0.0.1:${server.port}/?token=${TOKEN}`);
    const index = await httpRequest(server.port, '/?token=whatever');
    expect(index.status).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.body).toContain('<title>Threadline</title>');
    expectSecurityHeaders(index.headers);
    expect(String(index.headers['content-security-policy'])).toContain(`connect-src 'self' ws://127.0.0.1:${server.port}`);
    const script = await httpRequest(server.port, '/assets/app.js');
    expect(script).toMatchObject({ status: 200, body: 'console.log("dashboard");' });
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expectSecurityHeaders(script.headers);
    const head = await httpRequest(server.port, '/assets/app.js', { method: 'HEAD' });
    expect(head).toMatchObject({ status: 200, body: '' });
    expect(head.headers['content-length']).toBe(String('console.log("dashboard");'.length));
    const missing = await httpRequest(server.port, '/assets/nope.js');
    expect(missing.status).toBe(404);
    expectSecurityHeaders(missing.headers);
    expect((await httpRequest(server.port, '/', { method: 'POST' })).status).toBe(405);
    // No icon in the web root: an empty answer, not a 404 that browsers log as an error.
    const icon = await httpRequest(server.port, '/favicon.ico');
    expect(icon).toMatchObject({ status: 204, body: '' });
    expectSecurityHeaders(icon.headers);
  });

  it('refuses path traversal, plain or encoded, and links or hidden files leading out', async () => {
    const { server } = await startServer();
    const attempts = [
      '/../secret.txt',
      '/assets/../../secret.txt',
      '/%2e%2e/secret.txt',
      '/%2E%2E/secret.txt',
      '/..%2fsecret.txt',
      '/assets%2f..%2f..%2fsecret.txt',
      '/%2e%2e%2fsecret.txt',
      '/assets/%2e%2e/%2e%2e/secret.txt',
      '/..%5csecret.txt',
      '/%00secret.txt',
      '/%',
      '/assets/link.txt',
      '/.env',
      '//etc/passwd',
      '/..',
    ];
    for (const path of attempts) {
      const reply = await httpRequest(server.port, path);
      expect({ path, refused: [400, 403, 404].includes(reply.status) }).toEqual({ path, refused: true });
      expect(reply.body).not.toContain(SECRET);
      expect(reply.body).not.toContain('root:');
      expectSecurityHeaders(reply.headers);
    }
    expect((await httpRequest(server.port, '/%2e%2e/secret.txt')).status).toBe(403);
    expect((await httpRequest(server.port, '/../secret.txt')).status).toBe(403);
    expect((await httpRequest(server.port, '/assets/link.txt')).status).toBe(403);
  });

  it('refuses the API without the right token, from a foreign Origin, or under a foreign Host', async () => {
    const { server, apiUrl, origin } = await startServer();
    await expect(openSocket(apiUrl(null))).rejects.toMatchObject({ status: 401 });
    await expect(openSocket(apiUrl(''))).rejects.toMatchObject({ status: 401 });
    await expect(openSocket(apiUrl('wrong-token-0123456789abcdef'))).rejects.toMatchObject({ status: 401 });
    await expect(openSocket(apiUrl(TOKEN.slice(0, -1)))).rejects.toMatchObject({ status: 401 });
    await expect(openSocket(apiUrl(), { origin: 'http://evil.example' })).rejects.toMatchObject({ status: 403 });
    await expect(openSocket(apiUrl(), { origin: `http://127.0.0.1:${server.port + 1}` })).rejects.toMatchObject({ status: 403 });
    await expect(openSocket(apiUrl(), { origin: 'null' })).rejects.toMatchObject({ status: 403 });
    await expect(openSocket(apiUrl(), { headers: { Host: `rebound.example:${server.port}` } })).rejects.toMatchObject({ status: 403 });
    await expect(openSocket(`ws://127.0.0.1:${server.port}/elsewhere?token=${TOKEN}`)).rejects.toMatchObject({ status: 404 });
    // Its own origin, and a client that sends none (the CLI), with the token: admitted.
    (await openSocket(apiUrl(), { origin })).close();
    (await openSocket(apiUrl(), { origin: `http://localhost:${server.port}`, headers: { Host: `localhost:${server.port}` } })).close();
    (await openSocket(apiUrl())).close();

    const plain = await httpRequest(server.port, '/api');
    expect(plain.status).toBe(401);
    expectSecurityHeaders(plain.headers);
    expect((await httpRequest(server.port, `/api?token=${TOKEN}`)).status).toBe(426);
    expect((await httpRequest(server.port, '/', { headers: { Host: 'rebound.example' } })).status).toBe(403);
  });

  it('serves a page that says how to build the dashboard when it is not built, and the API still works', async () => {
    const { server, apiUrl } = await startServer({ webRoot: 'missing' });
    const page = await httpRequest(server.port, '/');
    expect(page.status).toBe(200);
    expect(page.body).toContain('The Threadline dashboard is not built');
    expect(page.body).toContain('npm run build');
    expect(page.body).not.toContain('<script');
    expectSecurityHeaders(page.headers);
    expect((await httpRequest(server.port, '/assets/app.js')).status).toBe(404);
    const client = await wire(apiUrl());
    expect(ok(await client.call('listJobs', { history: true }))).toEqual({ jobs: [] });
  });
});

describe('threadline serve: the API over a WebSocket', () => {
  it('submits a job, streams deltas, cancels a running task, and resyncs after a lost delta', async () => {
    const { engine, apiUrl, origin } = await startServer();
    const client = await wire(apiUrl(), origin);
    client.send({ type: 'subscribe' });
    const first = (await client.waitFor((m) => m.type === 'snapshot')) as SnapshotMessage;
    expect(first).toMatchObject({ seq: 1, tasks: [], jobs: [] });

    const text = JSON.stringify({
      name: 'over the wire',
      tasks: [
        { id: 'long', kind: 'demo.cpu', ms: 60_000 },
        { id: 'quick', kind: 'demo.echo', value: 'hi' },
        { id: 'after', kind: 'demo.echo', dependsOn: ['long'] },
        ...Array.from({ length: 200 }, (_, i) => ({ id: `t${i}`, kind: 'demo.echo', value: i })),
      ],
    });
    const submitted = ok(await client.call('submitJob', { text, fileName: 'wire.json' })) as { ok: true; job: { id: string } };
    expect(submitted).toMatchObject({ ok: true, job: { name: 'over the wire', taskCount: 203 } });
    const jobId = submitted.job.id;
    const latest = (key: string): TaskRecord | undefined =>
      client
        .events()
        .flatMap((e) => e.tasks)
        .filter((t) => t.key === key)
        .at(-1);
    await waitFor(() => latest(`${jobId}:long`)?.state === 'running');
    await waitFor(() => latest(`${jobId}:quick`)?.state === 'succeeded');
    // Views get results on request only: deltas carry none.
    expect(latest(`${jobId}:quick`)).toMatchObject({ result: null, worker: expect.stringMatching(/^w\d+$/) });
    expect(ok(await client.call('taskDetail', { key: `${jobId}:quick` }))).toMatchObject({ task: { state: 'succeeded', result: 'hi' } });

    expect(ok(await client.call('cancelTask', { key: `${jobId}:long` }))).toEqual({ cancelled: true });
    await waitFor(() => latest(`${jobId}:long`)?.state === 'cancelled');
    await waitFor(() => client.events().some((e) => e.type === 'delta' && e.jobs.some((j) => j.id === jobId && j.state === 'cancelled')));
    expect(latest(`${jobId}:after`)?.state).toBe('skipped');
    const states = client.events().flatMap((e) => e.tasks).filter((t) => t.key === `${jobId}:long`).map((t) => t.state);
    // Coalesced: an intermediate state (here `cancelling`) may never be sent, the last one always is.
    expect(states.at(-1)).toBe('cancelled');
    const deltas = client.events().filter((e): e is DeltaMessage => e.type === 'delta');
    deltas.forEach((delta, i) => expect(delta.seq).toBe(first.seq + 1 + i));

    // A client that lost a delta sees the gap, asks for a snapshot, and is whole again.
    const kept: ApiEvent[] = [];
    let expected = deltas.at(-1)!.seq + 1;
    let dropped = false;
    let resyncs = 0;
    let awaitingSnapshot = false;
    client.socket.on('message', (data) => {
      const event = JSON.parse(data.toString()) as ApiEvent;
      if (event.type !== 'delta' && event.type !== 'snapshot') return;
      if (event.type === 'delta' && !dropped) {
        dropped = true; // lost on the way
        return;
      }
      if (event.type === 'delta' && awaitingSnapshot) return; // sent before the server saw the resync
      if (event.type === 'delta' && event.seq !== expected) {
        client.send({ type: 'resync' });
        resyncs++;
        awaitingSnapshot = true;
        return;
      }
      awaitingSnapshot = false;
      if (event.type === 'snapshot') kept.length = 0;
      if (event.type === 'snapshot' || event.seq === expected) {
        kept.push(event);
        expected = event.seq + 1;
      }
    });
    const second = ok(await client.call('submitJob', { text: JSON.stringify({ name: 'second', tasks: Array.from({ length: 50 }, (_, i) => ({ id: `s${i}`, kind: 'demo.sleep', ms: 20 * (i % 10) })) }), fileName: 'second.json' })) as { job: { id: string } };
    await engine.waitForJob(second.job.id);
    await waitFor(() => kept.some((e) => e.jobs.some((j) => j.id === second.job.id && j.state === 'succeeded')));
    expect(resyncs).toBe(1);
    expect(kept[0]?.type).toBe('snapshot');
    const rebuilt = new Map<string, TaskRecord>();
    for (const event of kept) for (const task of event.tasks) rebuilt.set(task.key, task);
    for (const task of [...engine.tasksOfJob(jobId), ...engine.tasksOfJob(second.job.id)]) expect(rebuilt.get(task.key)).toEqual({ ...task, result: null });
  });

  it('answers malformed calls with BAD_REQUEST and closes on what is not JSON', async () => {
    const { apiUrl } = await startServer();
    const client = await wire(apiUrl());
    expect(await client.call('noSuchMethod', {})).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
    expect(await client.call('cancelJob', { jobId: 7 })).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST', issues: [{ path: 'jobId' }] } });
    expect(await client.call('submitJob', { text: '{', fileName: 'x.json' })).toMatchObject({ ok: true, value: { ok: false, issues: [{ path: '' }] } });
    client.send({ type: 'call', id: 99, method: 'snapshot', params: {}, extra: 1 });
    expect(await client.waitFor((m) => m.type === 'result' && m.id === 99)).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    client.socket.send('this is not json');
    expect(await client.closed).toMatchObject({ code: 1008, reason: 'a message was not valid JSON' });

    const binary = await wire(apiUrl());
    binary.socket.send(Buffer.from([1, 2, 3]));
    expect(await binary.closed).toMatchObject({ code: 1003 });
    const typeless = await wire(apiUrl());
    typeless.send({ hello: 'world' });
    expect((await typeless.closed).code).toBe(1008);
  });

  it('implements the ThreadlineApi contract for a Node client', async () => {
    const { server, engine } = await startServer();
    const client = await connectApi({ host: '127.0.0.1', port: server.port, token: TOKEN });
    onCleanup(() => client.close());
    const events: ApiEvent[] = [];
    const unsubscribe = client.api.subscribe((event) => events.push(event));
    const submitted = await client.api.submitJob({ text: 'name: n\ntasks:\n  - {id: a, kind: demo.sleep, ms: 60000}\n', fileName: 'n.yaml' });
    if (!submitted.ok) throw new Error('submit failed');
    await waitFor(() => engine.task(`${submitted.job.id}:a`)?.state === 'running');
    expect(await client.api.cancelAll()).toEqual({ cancelled: 1 });
    await engine.waitForJob(submitted.job.id);
    const detail = await client.api.taskDetail({ key: `${submitted.job.id}:a` });
    expect(detail.task.state).toBe('cancelled');
    await expect(client.api.cancelJob({ jobId: 'j-none' })).rejects.toMatchObject({ name: 'ApiCallError', code: 'NOT_FOUND' });
    await waitFor(() => events.some((e) => e.type === 'delta' && e.jobs.some((j) => j.state === 'cancelled')));
    expect(events[0]?.type).toBe('snapshot');
    await client.api.resync();
    await waitFor(() => events.filter((e) => e.type === 'snapshot').length === 2);
    unsubscribe();
  });
});
