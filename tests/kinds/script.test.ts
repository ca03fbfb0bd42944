import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CallService } from '../../electron/engine/call-services.js';
import { SPARE_THREADS } from '../../electron/engine/pool-lanes.js';
import { makeEngine, tempDir, waitFor } from '../support/engine-fixture.js';
import { expectTaskError, runJob, runTask, startTask, succeeded } from './kind-fixture.js';

const MODULE = `
export function sum(args, ctx) {
  ctx.log('adding ' + args.length + ' numbers');
  let total = 0;
  args.forEach((n, i) => { ctx.throwIfCancelled(); ctx.progress((i + 1) / args.length); total += n; });
  return { total, key: ctx.key, attempt: ctx.attempt };
}
export async function later(args) { await new Promise((r) => setTimeout(r, 5)); return args; }
export function nothing() {}
export function throwsString() { throw 'plain string'; }
export function throwsObject() { throw { reason: 42 }; }
export function throwsCoded() { throw Object.assign(new Error('disk on fire'), { code: 'ON_FIRE' }); }
export function bigint() { return 10n; }
export function spin(_args, ctx) { for (;;) { /* never looks at ctx */ } }
export const notAFunction = 3;

export function callSleep(ms, ctx) { const waited = ctx.call('sleep', ms); return { waited }; }
export function callTwice(_args, ctx) { return [ctx.call('add', 2, 3), ctx.call('add', 10, -1)]; }
export function callFails(_args, ctx) {
  try { ctx.call('explode', 'now'); } catch (error) { return { message: error.message, code: error.code, isError: error instanceof Error }; }
  return 'no error';
}
export function callFailsUncaught(_args, ctx) { return ctx.call('explode', 'uncaught'); }
export function callUnknown(_args, ctx) { return ctx.call('nope'); }
export function callFunction(_args, ctx) { return ctx.call('add', () => 1, 2); }
export function callFetch(url, ctx) { const response = ctx.call('fetch', url, { method: 'POST', body: { hello: 'world' } }); return response; }
export function callForever(_args, ctx) { ctx.progress(0, 'calling'); return ctx.call('forever'); }
`;

/** A port nothing listens on. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('script', () => {
  let server: Server;
  let baseUrl: string;
  beforeAll(async () => {
    server = createServer((request, response) => {
      let body = '';
      request.on('data', (chunk: Buffer) => (body += chunk.toString()));
      request.on('end', () => {
        response.setHeader('x-seen-type', request.headers['content-type'] ?? '');
        response.end(JSON.stringify({ method: request.method, body }));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  function setup(): { dir: string } {
    const dir = tempDir();
    writeFileSync(join(dir, 'tasks.mjs'), MODULE);
    return { dir };
  }

  it('calls an exported function with args and a ctx for progress, logs and cancel checks', async () => {
    const { dir } = setup();
    const engine = makeEngine();
    const task = await runTask(engine, dir, { kind: 'script', module: 'tasks.mjs', export: 'sum', args: [1, 2, 3.5] });
    expect(succeeded(task)).toEqual({ total: 6.5, key: task.key, attempt: 1 });
    expect(engine.logsOf(task.key).map((line) => line.message)).toEqual(['adding 3 numbers']);
    expect(succeeded(await runTask(engine, dir, { kind: 'script', module: 'tasks.mjs', export: 'later', args: { a: [1] } }))).toEqual({ a: [1] });
    expect(succeeded(await runTask(engine, dir, { kind: 'script', module: 'tasks.mjs', export: 'nothing' }))).toBeNull();
  });

  it('loads the module again when it changes', async () => {
    const dir = tempDir();
    const engine = makeEngine({ poolSize: 1 });
    writeFileSync(join(dir, 'version.mjs'), 'export default () => 1;');
    expect(succeeded(await runTask(engine, dir, { kind: 'script', module: 'version.mjs' }))).toBe(1);
    await sleep(20);
    writeFileSync(join(dir, 'version.mjs'), 'export default () => 2; // changed');
    expect(succeeded(await runTask(engine, dir, { kind: 'script', module: 'version.mjs' }))).toBe(2);
  });

  it('reports a missing module, a missing export, a non-function, a load error and what the function throws', async () => {
    const { dir } = setup();
    writeFileSync(join(dir, 'broken.mjs'), 'export function ( {');
    writeFileSync(join(dir, 'imports-missing.mjs'), "import nope from './nope.mjs';\nexport default nope;");
    const engine = makeEngine();
    const run = (fields: Record<string, unknown>) => runTask(engine, dir, { kind: 'script', module: 'tasks.mjs', ...fields });
    expectTaskError(await run({ module: 'missing.mjs' }), 'ENOENT', /script module .*missing\.mjs does not exist/);
    expectTaskError(await run({ module: '.' }), 'EISDIR', /is a directory; expected a JavaScript module file/);
    expectTaskError(await run({ export: 'nope' }), 'NO_SUCH_EXPORT', /tasks\.mjs has no export "nope"; it exports "bigint", "callFails", "callFailsUncaught", /);
    expectTaskError(await run({ export: 'notAFunction' }), 'NOT_A_FUNCTION', /export "notAFunction" of .*tasks\.mjs is a number, not a function/);
    expectTaskError(await run({ module: 'broken.mjs' }), 'MODULE_LOAD_FAILED', /cannot load script module .*broken\.mjs: SyntaxError: /);
    expectTaskError(await run({ module: 'imports-missing.mjs' }), 'MODULE_LOAD_FAILED', /Cannot find module .*nope\.mjs' imported from .*imports-missing\.mjs/);
    expectTaskError(await run({ export: 'throwsString' }), 'NON_ERROR_THROWN', /the task threw a non-Error value: "plain string"/);
    expectTaskError(await run({ export: 'throwsObject' }), 'NON_ERROR_THROWN', /non-Error value: \{"reason":42\}/);
    expectTaskError(await run({ export: 'throwsCoded' }), 'ON_FIRE', /^disk on fire$/);
    expectTaskError(await run({ export: 'bigint' }), 'BAD_RESULT', /cannot be stored as JSON: .*BigInt/);
  });

  it('stops a script stuck in a loop at its timeout, and the pool goes on', async () => {
    const { dir } = setup();
    const engine = makeEngine({ cancelGraceMs: 100 });
    const stuck = await runTask(engine, dir, { kind: 'script', module: 'tasks.mjs', export: 'spin', timeoutMs: 300 });
    expect(stuck.state).toBe('timed_out');
    expect(stuck.error?.code).toBe('TIMED_OUT');
    const { key, jobId } = await startTask(engine, dir, { kind: 'script', module: 'tasks.mjs', export: 'spin' });
    await waitFor(() => engine.task(key)?.state === 'running', 30_000, 'the loop to start');
    engine.cancelTask(key);
    await engine.waitForJob(jobId);
    expect(engine.task(key)?.state).toBe('cancelled');
    expect(succeeded(await runTask(engine, dir, { kind: 'script', module: 'tasks.mjs', export: 'sum', args: [1] }))).toMatchObject({ total: 1 });
  });

  describe('ctx.call', () => {
    const explode: CallService = async ([when]) => {
      throw Object.assign(new Error(`exploded ${String(when)}`), { code: 'BOOM' });
    };
    const add: CallService = async ([a, b]) => (a as number) + (b as number);

    it('returns what an async service on the main thread resolves with, blocking only the calling thread', async () => {
      const { dir } = setup();
      const engine = makeEngine({ services: { add, explode } });
      const waited = succeeded<{ waited: number }>(await runTask(engine, dir, { kind: 'script', module: 'tasks.mjs', export: 'callSleep', args: 30 })).waited;
      expect(waited).toBeGreaterThanOrEqual(29);
      expect(succeeded(await runTask(engine, dir, { kind: 'script', module: 'tasks.mjs', export: 'callTwice' }))).toEqual([5, 9]);
      // Many tasks calling at once, on both threads, each gets its own answers. Every thread has
      // booted first: with one of them still booting, the other could run all twenty.
      await waitFor(() => engine.pool.idleThreads === 2 + SPARE_THREADS, 30_000, 'every pool thread to be ready');
      const many = await runJob(engine, dir, Array.from({ length: 20 }, (_, i) => ({ id: `c${i}`, kind: 'script', module: 'tasks.mjs', export: 'callTwice' })));
      expect(many.map((task) => task.result)).toEqual(many.map(() => [5, 9]));
      expect(new Set(many.map((task) => task.worker)).size).toBe(2);
    });

    it("throws the service's error, with its message and code, into the script", async () => {
      const { dir } = setup();
      const engine = makeEngine({ services: { add, explode } });
      expect(succeeded(await runTask(engine, dir, { kind: 'script', module: 'tasks.mjs', export: 'callFails' }))).toEqual({ message: 'exploded now', code: 'BOOM', isError: true });
      expectTaskError(await runTask(engine, dir, { kind: 'script', module: 'tasks.mjs', export: 'callFailsUncaught' }), 'BOOM', /^exploded uncaught$/);
      expectTaskError(await runTask(engine, dir, { kind: 'script', module: 'tasks.mjs', export: 'callUnknown' }), 'UNKNOWN_SERVICE', /no service named "nope"; the engine offers add, explode, fetch, sleep/);
      expectTaskError(await runTask(engine, dir, { kind: 'script', module: 'tasks.mjs', export: 'callFunction' }), 'DATA_CLONE', /ctx\.call\("add"\): its arguments cannot be sent to the main thread/);
    });

    it('reaches the fetch service', async () => {
      const { dir } = setup();
      const engine = makeEngine();
      const response = succeeded<{ status: number; ok: boolean; text: string; headers: Record<string, string> }>(
        await runTask(engine, dir, { kind: 'script', module: 'tasks.mjs', export: 'callFetch', args: `${baseUrl}/echo` }),
      );
      expect(response).toMatchObject({ status: 200, ok: true });
      expect(JSON.parse(response.text)).toEqual({ method: 'POST', body: '{"hello":"world"}' });
      expect(response.headers['x-seen-type']).toBe('application/json');
      const port = await closedPort();
      const refused = await runTask(engine, dir, { kind: 'script', module: 'tasks.mjs', export: 'callFetch', args: `http://127.0.0.1:${port}/` });
      expectTaskError(refused, 'ECONNREFUSED', new RegExp(`POST http://127\\.0\\.0\\.1:${port}/ failed: connect ECONNREFUSED`));
    });

    it('stops waiting at a cancel and aborts the pending service call', async () => {
      const { dir } = setup();
      let started = false;
      let aborted = false;
      const forever: CallService = (_args, { signal }) =>
        new Promise((_resolve, reject) => {
          started = true;
          signal.addEventListener('abort', () => {
            aborted = true;
            reject(new Error('aborted'));
          });
        });
      const engine = makeEngine({ services: { forever }, cancelGraceMs: 120_000 });
      const { key, jobId } = await startTask(engine, dir, { kind: 'script', module: 'tasks.mjs', export: 'callForever' });
      // The service itself, not the task's progress: the call is a message of its own, behind it.
      await waitFor(() => started, 30_000, 'the call to reach its service');
      engine.cancelTask(key);
      await engine.waitForJob(jobId);
      expect(engine.task(key)?.state).toBe('cancelled');
      expect(aborted).toBe(true);
    });
  });
});
