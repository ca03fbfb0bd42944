/**
 * Every payload a host receives, fuzzed at the three doors it comes through: the API handlers
 * themselves, the WebSocket of `threadline serve`, and Electron IPC (through the stand-in).
 * Random and mutated inputs must never crash or hang a host, and every refusal must be a
 * clear, one-line message with a known code.
 */
import fc from 'fast-check';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { API_METHODS, apiParamsSchemas, clientMessageSchema, isApiMethod, type ApiMethod, type ResultMessage } from '../../contract/api.js';
import { APP_ORIGIN, APP_START_URL } from '../../electron/desktop/app-protocol.js';
import { DESKTOP_METHODS, desktopParamsSchemas, isDesktopMethod } from '../../contract/desktop-api.js';
import { IPC_CHANNELS } from '../../electron/desktop/ipc-channels.js';
import type { Engine } from '../../electron/engine/engine.js';
import { ApiHandlers, type ApiOutcome } from '../../electron/hosts/api-handlers.js';
import { Scheduler } from '../../electron/schedules/scheduler.js';
import { startDashboardServer } from '../../electron/serve/dashboard-server.js';
import { startTestApp } from '../desktop/desktop-fixture.js';
import { ipcMain, resetElectron, StandInFrame, StandInWebContents } from '../desktop/electron-stand-in.js';
import { openSocket, WireClient } from '../hosts/ws-test-client.js';
import { jobSpec, makeEngine, onCleanup, tempDir } from '../support/engine-fixture.js';

vi.mock('electron', () => import('../desktop/electron-stand-in.js'));
beforeEach(() => resetElectron());

const HANDLER_RUNS = 2500;
const WIRE_CALL_RUNS = 1500;
const WIRE_MESSAGE_RUNS = 1000;
const IPC_RUNS = 1500;
const DEADLINE_MS = 10_000;

// ---- what a clear refusal looks like -----------------------------------------------------

function expectOneLine(text: unknown, what: string): void {
  expect(typeof text, what).toBe('string');
  const line = text as string;
  expect(line.length, what).toBeGreaterThan(0);
  expect(line.length, what).toBeLessThan(10_000);
  expect(line, what).not.toMatch(/[\r\n]/);
  expect(line, what).not.toMatch(/\bat .+:\d+:\d+/);
  expect(line, what).not.toContain('[object Object]');
}

/** Resolves with the promise's value, or fails the test if it does not settle in time. */
async function settles<T>(promise: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${DEADLINE_MS} ms: ${what}`)), DEADLINE_MS);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function describeInput(method: unknown, params: unknown): string {
  return `${printable(method)} ${printable(params)}`.slice(0, 400);
}

function printable(value: unknown): string {
  try {
    return JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ?? typeof value;
  } catch {
    return `(a ${typeof value} that JSON cannot show)`;
  }
}

interface Tally {
  accepted: number;
  refused: Record<string, number>;
}

const newTally = (): Tally => ({ accepted: 0, refused: {} });

/**
 * Checks one answer against what the contract's schemas say of the input: a payload they
 * refuse is a BAD_REQUEST naming the method, an unknown method is UNKNOWN_METHOD, and a valid
 * payload is never refused as malformed. INTERNAL is never right: it means an unexpected throw.
 */
function expectClearOutcome(method: unknown, params: unknown, outcome: ApiOutcome, tally: Tally): void {
  const what = describeInput(method, params);
  expect(typeof outcome.ok, what).toBe('boolean');
  const known = isApiMethod(method) || isDesktopMethod(method);
  if (outcome.ok) {
    expect(known, what).toBe(true);
    tally.accepted++;
    const value = outcome.value as { ok?: boolean; issues?: Array<{ path: unknown; message: unknown }> };
    if (method === 'submitJob' && value.ok === false) {
      expect(value.issues!.length, what).toBeGreaterThan(0);
      for (const issue of value.issues!) {
        expect(typeof issue.path, what).toBe('string');
        expectOneLine(issue.message, what);
      }
    }
    return;
  }
  const { code, message, issues } = outcome.error;
  tally.refused[code] = (tally.refused[code] ?? 0) + 1;
  expectOneLine(message, what);
  if (!known) {
    expect(code, what).toBe('UNKNOWN_METHOD');
    return;
  }
  const schema = isApiMethod(method) ? apiParamsSchemas[method] : desktopParamsSchemas[method as keyof typeof desktopParamsSchemas];
  const valid = schema.safeParse(params ?? {}).success;
  if (!valid) {
    expect(code, what).toBe('BAD_REQUEST');
    expect(message.startsWith(`${String(method)}: `), what).toBe(true);
    expect(issues?.length, what).toBeGreaterThan(0);
    for (const issue of issues!) expectOneLine(issue.message, what);
  } else {
    // A well-formed call may still name a job or task that does not exist.
    expect({ what, code }).toEqual({ what, code: 'NOT_FOUND' });
  }
}

// ---- inputs ------------------------------------------------------------------------------

const anything = fc.anything({
  maxDepth: 3,
  withBigInt: true,
  withBoxedValues: true,
  withDate: true,
  withMap: true,
  withSet: true,
  withNullPrototype: true,
  withSparseArray: true,
  withTypedArray: true,
  stringUnit: 'binary',
});
const json = fc.jsonValue({ maxDepth: 3 });

const VALID_JOB_JSON = JSON.stringify({
  name: 'fuzzed',
  tasks: [
    { id: 'a', kind: 'demo.echo', value: 'x' },
    { id: 'b', kind: 'demo.echo', value: [1, 2], dependsOn: ['a'] },
  ],
});
const VALID_SCHEDULE_YAML = 'name: fuzzed-schedule\nschedule: {cron: "0 3 * * *", timezone: Europe/Paris}\ntasks:\n  - {id: a, kind: demo.echo, value: x}\n';
const VALID_JOB_YAML = 'name: fuzzed\ntasks:\n  - {id: a, kind: demo.echo, value: x}\n  - {id: b, kind: demo.echo, dependsOn: [a]}\n';

/** A text with a few characters cut out or spliced in. */
function mutatedText(valid: string): fc.Arbitrary<string> {
  const edit = fc.tuple(fc.nat({ max: valid.length }), fc.nat({ max: 4 }), fc.string({ maxLength: 4 }));
  return fc.array(edit, { minLength: 1, maxLength: 3 }).map((edits) => {
    let text = valid;
    for (const [at, cut, insert] of edits) text = text.slice(0, at) + insert + text.slice(at + cut);
    return text;
  });
}

/** Task keys and job ids: real ones of the fuzzed host, well-formed unknown ones, and junk. */
function keyArbitrary(realKeys: string[]): fc.Arbitrary<unknown> {
  return fc.oneof(
    fc.constantFrom(...realKeys),
    fc.tuple(fc.string({ maxLength: 12 }), fc.string({ maxLength: 12 })).map(([j, t]) => `${j}:${t}`),
    fc.string({ maxLength: 40, unit: 'binary' }),
    fc.constantFrom('', ':', 'a:b:c', 'j x:y', `${'j'.repeat(600)}:t`, '__proto__', 'constructor:prototype'),
    anything,
  );
}

/** Payloads shaped like each method's, some valid, most a field or two wrong. */
function paramsFor(method: ApiMethod, realKeys: string[], realJobIds: string[]): fc.Arbitrary<unknown> {
  const key = keyArbitrary(realKeys);
  const jobId = fc.oneof(fc.constantFrom(...realJobIds), keyArbitrary(realKeys));
  const scheduleName = fc.oneof(fc.constantFrom('fuzzed-schedule', 'nightly', '', '__proto__'), fc.string({ maxLength: 20 }), anything);
  const jobText = fc.oneof(mutatedText(VALID_JOB_JSON), mutatedText(VALID_JOB_YAML), fc.constant(VALID_JOB_JSON), fc.string({ maxLength: 60 }), anything);
  const shapes: Record<ApiMethod, fc.Arbitrary<Record<string, unknown>>> = {
    snapshot: fc.constant({}),
    submitJob: fc.record(
      {
        text: jobText,
        fileName: fc.oneof(fc.constantFrom('job.json', 'job.yaml', 'job', 'ü ✓ "q".yml', '-rf.json', ''), anything),
        baseDir: fc.oneof(fc.constantFrom('/tmp', '/', 'relative/dir', '', '/a b/ü'), anything),
      },
      { requiredKeys: ['text', 'fileName'] },
    ),
    cancelTask: fc.record({ key }),
    cancelJob: fc.record({ jobId }),
    cancelAll: fc.constant({}),
    retryTask: fc.record({ key }),
    taskDetail: fc.record({ key }),
    runDemo: fc.record({ inline: fc.oneof(fc.boolean(), anything) }),
    listJobs: fc.record(
      { history: fc.oneof(fc.boolean(), anything), limit: fc.oneof(fc.integer({ min: -3, max: 20_000 }), anything), search: fc.oneof(fc.string({ maxLength: 250 }), anything) },
      { requiredKeys: [] },
    ),
    jobDetail: fc.record({ jobId }),
    rerunJob: fc.record({ jobId, failedOnly: fc.oneof(fc.boolean(), anything) }, { requiredKeys: [] }),
    hostInfo: fc.constant({}),
    listSchedules: fc.constant({}),
    addSchedule: fc.record(
      {
        text: fc.oneof(mutatedText(VALID_SCHEDULE_YAML), fc.constant(VALID_SCHEDULE_YAML), jobText),
        fileName: fc.oneof(fc.constantFrom('nightly.yaml', 'job.json', ''), anything),
        baseDir: fc.oneof(fc.constantFrom('/tmp', 'relative/dir', ''), anything),
      },
      { requiredKeys: ['text', 'fileName'] },
    ),
    removeSchedule: fc.record({ name: scheduleName }),
    pauseSchedule: fc.record({ name: scheduleName }),
    resumeSchedule: fc.record({ name: scheduleName }),
    runSchedule: fc.record({ name: scheduleName }),
    resumeJobs: fc.constant({}),
  };
  const shape = shapes[method];
  return fc.oneof(
    { weight: 4, arbitrary: shape },
    { weight: 2, arbitrary: fc.tuple(shape, fc.string({ maxLength: 10 }), anything).map(([p, k, v]) => ({ ...p, [k]: v })) },
    { weight: 2, arbitrary: shape.map((p) => Object.fromEntries(Object.entries(p).slice(1))) },
    { weight: 1, arbitrary: fc.constantFrom(undefined, null, [], '', 0, 'params', { ['__proto__']: { polluted: true } }) },
    { weight: 1, arbitrary: anything },
  );
}

/** The demo workload blocks the host on purpose (inline) or keeps the pool busy for seconds: not fuzzed as a valid call. */
function runsTheDemo(method: unknown, params: unknown): boolean {
  return method === 'runDemo' && apiParamsSchemas.runDemo.safeParse(params ?? {}).success;
}

function callArbitrary(realKeys: string[], realJobIds: string[], methodNames: readonly string[] = API_METHODS) {
  const known = fc.constantFrom(...(methodNames as ApiMethod[])).chain((method) =>
    paramsFor(isApiMethod(method) ? method : 'snapshot', realKeys, realJobIds).map((params) => ({ method: method as unknown, params })),
  );
  const unknown = fc.record({ method: fc.oneof(fc.string({ maxLength: 20 }), fc.constantFrom('__proto__', 'toString', 'constructor', 'hasOwnProperty'), anything), params: anything });
  return fc.oneof({ weight: 5, arbitrary: known }, { weight: 1, arbitrary: unknown }).filter(({ method, params }) => !runsTheDemo(method, params));
}

/** A host with something to act on: a job with tasks that wait, one that failed, one that succeeded. */
async function seededEngine(): Promise<{ engine: Engine; keys: string[]; jobIds: string[] }> {
  const engine = makeEngine({ cancelGraceMs: 100 });
  const job = await engine.submitJob(
    jobSpec([
      { id: 'waits', kind: 'demo.sleep', ms: 60_000 },
      { id: 'fails', kind: 'demo.fail', message: 'on purpose' },
      { id: 'ok', kind: 'demo.echo', value: 1 },
      { id: 'after', kind: 'demo.echo', dependsOn: ['fails'] },
    ]),
    '/',
  );
  await new Promise((resolve) => setTimeout(resolve, 50));
  return { engine, keys: ['waits', 'fails', 'ok', 'after'].map((id) => `${job.id}:${id}`), jobIds: [job.id] };
}

function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? Number(v) : v)) ?? 'null');
}

// ---- the handlers ------------------------------------------------------------------------

describe('API payloads under random input', () => {
  it(`ApiHandlers.call: ${HANDLER_RUNS} random and mutated calls, no throw, no hang, every refusal clear`, async () => {
    const { engine, keys, jobIds } = await seededEngine();
    const handlers = new ApiHandlers(engine, { defaultBaseDir: tempDir(), scheduler: new Scheduler({ engine }) });
    const tally = newTally();
    await fc.assert(
      fc.asyncProperty(callArbitrary(keys, jobIds), async ({ method, params }) => {
        const outcome = await settles(handlers.call(method, params), describeInput(method, params));
        expectClearOutcome(method, params, outcome, tally);
      }),
      { numRuns: HANDLER_RUNS },
    );
    // The fuzzing reached past the validators too, not only into them.
    expect(tally.accepted).toBeGreaterThan(HANDLER_RUNS / 10);
    expect(tally.refused.BAD_REQUEST).toBeGreaterThan(HANDLER_RUNS / 10);
    expect(tally.refused.NOT_FOUND).toBeGreaterThan(0);
    expect(tally.refused.UNKNOWN_METHOD).toBeGreaterThan(0);
    expect(tally.refused.INTERNAL).toBeUndefined();
    // And the host still works.
    const after = await handlers.call('submitJob', { text: VALID_JOB_JSON, fileName: 'after.json' });
    expect(after).toMatchObject({ ok: true, value: { ok: true } });
  });
});

describe('API refusals name what is wrong in one line, whatever the input', () => {
  it('an unknown method of any type (IPC carries BigInts and cycles) is refused, not thrown', async () => {
    const { engine } = await seededEngine();
    const handlers = new ApiHandlers(engine, { defaultBaseDir: tempDir() });
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const method of [10n, [0n], cyclic, Symbol('m'), () => 0]) {
      const outcome = await settles(handlers.call(method, {}), typeof method);
      expect(outcome).toMatchObject({ ok: false, error: { code: 'UNKNOWN_METHOD' } });
      if (!outcome.ok) expectOneLine(outcome.error.message, typeof method);
    }
  });

  it('a field name with a line break in it is quoted, so the refusal stays one line', async () => {
    const { engine } = await seededEngine();
    const handlers = new ApiHandlers(engine, { defaultBaseDir: tempDir() });
    const outcome = await handlers.call('cancelTask', { key: 'j:t', 'evil\nINFO all good': 1 });
    expect(outcome).toMatchObject({ ok: false, error: { code: 'BAD_REQUEST' } });
    if (!outcome.ok) {
      expectOneLine(outcome.error.message, 'message');
      for (const issue of outcome.error.issues ?? []) expectOneLine(issue.message, 'issue');
    }
  });
});

// ---- the WebSocket -----------------------------------------------------------------------

const TOKEN = 'fuzz-token-0123456789abcdef0123456789';

async function startFuzzedServer() {
  const { engine, keys, jobIds } = await seededEngine();
  const webRoot = join(tempDir(), 'web');
  mkdirSync(webRoot);
  const server = await startDashboardServer({ engine, host: '127.0.0.1', port: 0, token: TOKEN, webRoot, baseDir: tempDir(), scheduler: new Scheduler({ engine }) });
  onCleanup(() => server.close());
  const connect = async () => {
    const client = new WireClient(await openSocket(`ws://127.0.0.1:${server.port}/api?token=${TOKEN}`));
    onCleanup(async () => {
      await client.close();
    });
    return client;
  };
  return { engine, keys, jobIds, connect };
}

/** The first message from index `from` on that matches. */
function nextMessage(client: WireClient, from: number, match: (m: ResultMessage) => boolean, what: string): Promise<ResultMessage> {
  return settles(
    client.waitFor((m): m is ResultMessage => m.type === 'result' && client.messages.indexOf(m) >= from && match(m)),
    what,
  );
}

describe('the WebSocket API under random input', () => {
  it(`${WIRE_CALL_RUNS} random and mutated calls over a real socket: each answered, every refusal clear`, async () => {
    const { keys, jobIds, connect } = await startFuzzedServer();
    const client = await connect();
    const tally = newTally();
    let id = 0;
    await fc.assert(
      fc.asyncProperty(callArbitrary(keys, jobIds), async ({ method, params }) => {
        const wire = jsonSafe(params);
        const callId = ++id;
        const from = client.messages.length;
        client.send({ type: 'call', id: callId, method: typeof method === 'string' ? method.slice(0, 100) : 'x', params: wire });
        const result = await nextMessage(client, from, (m) => m.id === callId, describeInput(method, wire));
        expectClearOutcome(typeof method === 'string' ? method.slice(0, 100) : 'x', wire, result, tally);
      }),
      { numRuns: WIRE_CALL_RUNS },
    );
    expect(tally.refused.INTERNAL).toBeUndefined();
    expect(tally.accepted).toBeGreaterThan(0);
  });

  it(`${WIRE_MESSAGE_RUNS} random client messages: a result for what carries an id, a clear close for the rest, and the server lives on`, async () => {
    const { engine, connect } = await startFuzzedServer();
    let client = await connect();
    const seen = { result: 0, closed: 0, handled: 0 };
    const validMessages = [
      { type: 'call', id: 1, method: 'listJobs', params: { history: false } },
      { type: 'subscribe' },
      { type: 'unsubscribe' },
      { type: 'resync' },
    ];
    const message = fc.oneof(
      json,
      fc.constantFrom(...validMessages),
      fc.constantFrom(...validMessages).chain((valid) =>
        fc.oneof(
          fc.tuple(fc.string({ maxLength: 8, unit: 'binary' }), json).map(([k, v]) => ({ ...valid, [k]: v })),
          fc.tuple(fc.constantFrom(...Object.keys(valid)), json).map(([k, v]) => ({ ...valid, [k]: v })),
          fc.constantFrom(...Object.keys(valid)).map((k) => Object.fromEntries(Object.entries(valid).filter(([key]) => key !== k))),
        ),
      ),
      fc.record({ type: fc.constant('call'), id: fc.oneof(fc.integer(), fc.double(), json), method: fc.constantFrom(...API_METHODS), params: json }, { requiredKeys: ['type'] }),
    );
    await fc.assert(
      fc.asyncProperty(message, async (sent) => {
        // A failed check leaves the socket as it was: shrinking goes on from a usable one.
        if (client.socket.readyState !== client.socket.OPEN) client = await connect();
        const text = JSON.stringify(sent);
        const what = text.slice(0, 300);
        const parsed = clientMessageSchema.safeParse(sent);
        const id = (sent as { id?: unknown } | null)?.id;
        const from = client.messages.length;
        client.socket.send(text);
        const call = parsed.success && parsed.data.type === 'call' ? parsed.data : null;
        if (call) {
          await nextMessage(client, from, (m) => m.id === call.id, what);
          seen.result++;
        } else if (parsed.success) {
          seen.handled++;
        } else if (typeof id === 'number' && Number.isInteger(id)) {
          const result = await nextMessage(client, from, (m) => m.id === id, what);
          expect(result.ok, what).toBe(false);
          if (!result.ok) {
            expect(result.error.code, what).toBe('BAD_REQUEST');
            expectOneLine(result.error.message, what);
            expect(result.error.message.startsWith('not a client message: '), what).toBe(true);
          }
          seen.result++;
        } else {
          const closed = await settles(client.closed, what);
          expect(closed.code, what).toBe(1008);
          expectOneLine(closed.reason, what);
          expect(Buffer.byteLength(closed.reason), what).toBeLessThanOrEqual(123);
          seen.closed++;
        }
      }),
      { numRuns: WIRE_MESSAGE_RUNS },
    );
    expect(seen.result).toBeGreaterThan(0);
    expect(seen.closed).toBeGreaterThan(0);
    expect(seen.handled).toBeGreaterThan(0);

    // Frames that are no JSON at all, binary frames, and a few extremes. A fresh client each time: the last
    // random message may have subscribed the old one, whose snapshot could still be on its way.
    client.socket.close();
    const texts = fc.sample(fc.string({ maxLength: 40, unit: 'binary' }).filter((t) => !isJson(t)), 100);
    const extremes = ['', ' ', '{', '[]', '['.repeat(100_000) + ']'.repeat(100_000), `"${'x'.repeat(5_000_000)}"`, '1e400', '{"type":"call","id":1e400}'];
    for (const text of [...texts, ...extremes]) {
      client = await connect();
      const from = client.messages.length;
      client.socket.send(text);
      const closed = await settles(client.closed, text.slice(0, 80));
      expect(client.messages.length).toBe(from);
      expect(closed.code).toBe(1008);
      expectOneLine(closed.reason, text.slice(0, 80));
    }
    client = await connect();
    client.socket.send(Buffer.from([0xff, 0x00, 0x7b]));
    expect((await settles(client.closed, 'binary frame')).code).toBe(1003);

    // After all that, a new client is served as usual.
    client = await connect();
    const listed = await client.call('listJobs', { history: true });
    expect(listed).toMatchObject({ ok: true, value: { jobs: [expect.objectContaining({ taskCount: 4 })] } });
    expect(engine.isClosing).toBe(false);
  });

  it('closes with a reason within the 123 bytes a close frame allows when the refusal quotes non-ASCII text', async () => {
    const { connect } = await startFuzzedServer();
    for (const field of ['é'.repeat(100), '✓'.repeat(60), '😀'.repeat(40)]) {
      const client = await connect();
      client.send({ type: 'subscribe', [field]: 1 });
      const closed = await settles(client.closed, field);
      expect(closed.code).toBe(1008);
      expect(closed.reason).toMatch(/^not a client message: /);
      expect(Buffer.byteLength(closed.reason)).toBeLessThanOrEqual(123);
    }
    // The server is still there for the next client.
    const next = await connect();
    expect(await next.call('listJobs', { history: false })).toMatchObject({ ok: true });
  });
});

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

// ---- Electron IPC ------------------------------------------------------------------------

describe('the desktop IPC under random input', () => {
  it(`${IPC_RUNS} random calls from the window, structured-cloned like IPC: no throw, no hang, every refusal clear`, async () => {
    const { window } = await startTestApp();
    const trusted = () => ({ sender: window.webContents, senderFrame: window.webContents.mainFrame });
    const tally = newTally();
    const names = [...API_METHODS, ...DESKTOP_METHODS];
    await fc.assert(
      fc.asyncProperty(callArbitrary([':'], ['-'], names), async ({ method, params }) => {
        const [m, p] = structuredClone([method, params]);
        const outcome = (await settles(ipcMain.invoke(IPC_CHANNELS.call, trusted(), m, p), describeInput(m, p))) as ApiOutcome;
        expectClearOutcome(m, p, outcome, tally);
      }),
      { numRuns: IPC_RUNS },
    );
    expect(tally.refused.INTERNAL).toBeUndefined();
    expect(tally.refused.BAD_REQUEST).toBeGreaterThan(0);
  });

  it('random senders and frames: only the app window\'s main frame on an app page gets through, the rest is refused by name', async () => {
    const { window } = await startTestApp();
    const stranger = new StandInWebContents();
    const sender = fc.constantFrom(window.webContents, stranger, null, undefined, {});
    const url = fc.oneof(
      fc.constantFrom(APP_START_URL, `${APP_ORIGIN}/`, 'threadline://app.evil/', 'threadline://App/index.html', 'https://example.com/', 'file:///etc/passwd', '', 'about:blank', 'threadline://app@evil/'),
      fc.webUrl(),
      fc.string({ maxLength: 30 }),
    );
    const frame = fc.oneof(
      fc.record({ url, parent: fc.constantFrom(null, new StandInFrame(APP_START_URL)) }).map(({ url, parent }) => new StandInFrame(url, parent)),
      fc.constantFrom(null, undefined),
    );
    let admitted = 0;
    let refused = 0;
    await fc.assert(
      fc.asyncProperty(sender, frame, fc.constantFrom(...Object.values(IPC_CHANNELS).filter((c) => c !== IPC_CHANNELS.event)), async (from, senderFrame, channel) => {
        const trusted = from === window.webContents && senderFrame != null && senderFrame.parent === null && originOfUrl(senderFrame.url) === APP_ORIGIN;
        const call = ipcMain.invoke(channel, { sender: from, senderFrame }, 'listJobs', { history: false });
        if (trusted) {
          await settles(call, channel);
          admitted++;
        } else {
          const error = await settles(call.then(() => null, (e: unknown) => e), channel);
          expect(error).toBeInstanceOf(Error);
          expect((error as Error).name).toBe('UntrustedSenderError');
          expectOneLine((error as Error).message, channel);
          expect((error as Error).message).toMatch(/^refused an IPC call/);
          refused++;
        }
      }),
      {
        numRuns: 600,
        // A trusted call is rare among random ones (about 1 in 270): these make sure both sides are seen every run.
        examples: [
          [window.webContents, new StandInFrame(APP_START_URL, null), IPC_CHANNELS.call],
          [window.webContents, new StandInFrame(`${APP_ORIGIN}/`, null), IPC_CHANNELS.resync],
          [window.webContents, new StandInFrame(APP_START_URL, new StandInFrame(APP_START_URL)), IPC_CHANNELS.call],
          [stranger, new StandInFrame(APP_START_URL, null), IPC_CHANNELS.call],
        ],
      },
    );
    expect(admitted).toBeGreaterThan(0);
    expect(refused).toBeGreaterThan(0);
  });
});

/** `scheme://host` of a URL, as the desktop's sender check reads it; independent of its code. */
function originOfUrl(url: string): string | null {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}`;
  } catch {
    return null;
  }
}
