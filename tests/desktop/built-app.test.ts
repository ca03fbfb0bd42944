/**
 * What `npm run build` produces, used for real: the bundles' layout and imports, the bundled
 * pool worker under piscina and under an engine, the bundled job reader thread on a big job,
 * and the built renderer plus the built preload in Chromium under the app's CSP, talking over
 * the desktop IPC handlers to a real engine.
 * Only Electron's processes are replaced (by the stand-in and a small shim for the preload).
 */
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { builtinModules } from 'node:module';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Piscina } from 'piscina';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { findKind } from '../../contract/kinds/index.js';
import { APP_ORIGIN, APP_SCHEME } from '../../electron/desktop/app-protocol.js';
import { IPC_CHANNELS } from '../../electron/desktop/ipc-channels.js';
import { contentSecurityPolicy } from '../../electron/desktop/security.js';
import { Engine } from '../../electron/engine/engine.js';
import { readJobText, THREAD_ABOVE_CHARS } from '../../electron/engine/job-reader.js';
import { readJobTextHere } from '../../electron/engine/job-text.js';
import type { BatchRequest, BatchResult, PoolWorkerData } from '../../shared/pool-protocol.js';
import { SPLIT_MIN_ROWS } from '../../workers/handlers/key-ordered-export.js';
import { jobSpec, tempDir, waitFor } from '../support/engine-fixture.js';
import { startTestApp } from './desktop-fixture.js';
import { dialog, ipcRenderer, protocol, session } from './electron-stand-in.js';

vi.mock('electron', () => import('./electron-stand-in.js'));

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const CHROMIUM = '/usr/bin/chromium';
const EXTERNAL = new Set(['piscina', 'better-sqlite3']);
const BUILTINS = new Set([...builtinModules, ...builtinModules.map((name) => `node:${name}`)]);

let out: string;
const read = (path: string) => readFileSync(join(out, path), 'utf8');

/** What the engine hands each pool thread, for a pool run here without one. */
function builtWorkerData(slots: number): PoolWorkerData {
  return {
    cancelFlags: new SharedArrayBuffer(slots * 4),
    taskStages: new SharedArrayBuffer(slots * 4),
    logCounts: new SharedArrayBuffer(slots * 4),
    channel: `threadline-build-test-${process.pid}`,
  } as PoolWorkerData;
}

/** The modules a CommonJS file require()s by name. */
function requiresOf(code: string): string[] {
  // As the bundler writes them (double quotes), not in its copies of comments; not `__require`, a
  // require() made at run time (fdir's optional lookup of picomatch, in a try).
  return [...new Set([...code.matchAll(/(?<![\w$.])require\("([^"]+)"\)/g)].map((match) => match[1]!))].sort();
}

/** The pool worker's chunks in out/main/chunks/. */
function workerChunks(): string[] {
  return readdirSync(join(out, 'main/chunks')).filter((name) => name.startsWith('pool-worker-')).sort();
}

/** The modules an ES bundle imports (static `import ... from "x"` and bare `import "x"`). */
function importsOf(code: string): string[] {
  const found = new Set<string>();
  for (const match of code.matchAll(/^import\s+(?:[^'"]*?\s+from\s+)?["']([^"']+)["'];?$/gm)) found.add(match[1]!);
  return [...found].sort();
}

beforeAll(async () => {
  // A fresh folder, so a stale out/ can never pass, and out/ of a running app is left alone.
  out = mkdtempSync(join(tmpdir(), 'threadline-build-'));
  // The bundles import piscina and better-sqlite3 from node_modules beside them, as in the app folder.
  symlinkSync(join(REPO, 'node_modules'), join(out, 'node_modules'), 'dir');
  const electronVite = join(REPO, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
  await promisify(execFile)(process.execPath, [electronVite, 'build', '--outDir', out, '--logLevel', 'warn'], { cwd: REPO, maxBuffer: 16 * 1024 * 1024 });
}, 240_000);

afterAll(() => {
  if (out) rmSync(out, { recursive: true, force: true });
});

describe('npm run build', () => {
  it('puts the pool worker next to the main bundle as one CommonJS file, its kinds\' handlers in CommonJS chunks beside it', () => {
    // The main bundle finds it relative to itself, under the name the engine looks for beside itself (electron/engine/paths.ts).
    expect(read('main/index.js')).toMatch(/join[\w$]*\(import\.meta\.dirname, "pool-worker\.cjs"\)/);
    expect(existsSync(join(out, 'main/pool-worker.js'))).toBe(false);
    const chunks = workerChunks();
    expect(chunks.length).toBeGreaterThan(0);
    // piscina require()s it and it require()s its chunks: nothing in a pool thread is an ES module
    // (the script kind's import() of the person's own module aside).
    for (const file of ['pool-worker.cjs', ...chunks.map((chunk) => `chunks/${chunk}`)]) {
      const code = read(join('main', file));
      expect(code, file).not.toMatch(/^\s*(?:import|export)\s/m);
      if (!file.includes('pool-worker-script-')) expect(code, file).not.toMatch(/\bimport\((?!\))/);
    }
    const handlerLoads = [...read('main/pool-worker.cjs').matchAll(/require\("\.\/(chunks\/[^"]+)"\)/g)].map((match) => match[1]!);
    for (const chunk of handlerLoads) expect(chunks, chunk).toContain(chunk.slice('chunks/'.length));
  });

  it('puts the job reader thread next to the main bundle, needing nothing but Node, and reads a big job with it', async () => {
    expect(read('main/index.js')).toMatch(/join[\w$]*\(import\.meta\.dirname, "\.\/job-reader\.js"\)/);
    const threadFile = join(out, 'main/job-reader.js');
    for (const name of importsOf(readFileSync(threadFile, 'utf8'))) expect(BUILTINS.has(name), name).toBe(true);
    const tasks = Array.from({ length: 3000 }, (_, i) => ({ id: `t${i}`, kind: 'file.hash', paths: [`data/${i}.csv`], dependsOn: i ? [`t${i - 1}`] : [] }));
    const good = JSON.stringify({ name: 'big', tasks });
    expect(good.length).toBeGreaterThan(THREAD_ABOVE_CHARS);
    const spec = await readJobText(good, 'big.json', '/jobs', { threadFile });
    expect(spec.ok && spec.spec.tasks[2999]!.input).toEqual({ paths: ['/jobs/data/2999.csv'], algorithm: 'sha256' });
    expect(spec).toStrictEqual(readJobTextHere(good, 'big.json', '/jobs'));
    tasks[0]!.dependsOn = ['t2999'];
    const cyclic = JSON.stringify({ name: 'big', tasks });
    expect(await readJobText(cyclic, 'big.json', '/jobs', { threadFile })).toStrictEqual(readJobTextHere(cyclic, 'big.json', '/jobs'));
  });

  it('keeps piscina and better-sqlite3 out of the bundles and Electron out of the worker', () => {
    const main = read('main/index.js');
    const mainImports = importsOf(main);
    expect(mainImports).toEqual(expect.arrayContaining(['piscina', 'better-sqlite3', 'electron']));
    for (const name of mainImports) expect(BUILTINS.has(name) || EXTERNAL.has(name) || name === 'electron', name).toBe(true);
    expect(main).not.toContain('node_modules/piscina/');
    expect(main).not.toContain('node_modules/better-sqlite3/');
    const workerFiles = ['pool-worker.cjs', ...workerChunks().map((chunk) => `chunks/${chunk}`)];
    const workerRequires = new Set<string>();
    for (const file of workerFiles) {
      const code = read(join('main', file));
      expect(code, file).not.toContain('node_modules/piscina/');
      expect(code, file).not.toContain('node_modules/better-sqlite3/');
      for (const name of requiresOf(code)) {
        if (name.startsWith('./')) expect(workerFiles, `${file} requires ${name}`).toContain(join(dirname(file), name));
        else workerRequires.add(name);
      }
    }
    for (const name of workerRequires) expect(BUILTINS.has(name) || EXTERNAL.has(name), name).toBe(true);
    // piscina hands a thread its workerData as Node's: the worker loads none of the pool's code.
    expect(workerRequires).not.toContain('piscina');
    expect(requiresOf(read('main/pool-worker.cjs'))).toContain('node:worker_threads');
    expect(workerRequires).toContain('better-sqlite3');
  });

  it('builds the preload as one CommonJS file that requires only electron (a sandboxed preload can do no more)', () => {
    const preload = read('preload/index.cjs');
    const required = [...preload.matchAll(/\brequire\(\s*["']([^"']+)["']\s*\)/g)].map((match) => match[1]);
    expect(new Set(required)).toEqual(new Set(['electron']));
    expect(importsOf(preload)).toEqual([]);
    expect(preload).toContain('exposeInMainWorld("threadline"');
  });

  it('gives the page its CSP as a meta tag too, without frame-ancestors (ignored there)', () => {
    const html = read('renderer/index.html');
    const meta = /<meta http-equiv="Content-Security-Policy" content="([^"]+)">/.exec(html);
    expect(meta?.[1]?.replaceAll('&#39;', "'")).toBe(contentSecurityPolicy('production', { forMetaTag: true }));
    expect(meta?.[1]).not.toContain('frame-ancestors');
  });

  it('runs the built worker under piscina in Node', async () => {
    const pool = new Piscina<BatchRequest, BatchResult>({ filename: join(out, 'main/pool-worker.cjs'), minThreads: 1, maxThreads: 1, workerData: builtWorkerData(4) });
    try {
      const result = await pool.run({
        tasks: [
          { key: 'j:echo', kind: 'demo.echo', input: { value: { answer: 42 } }, attempt: 1, slot: 0 },
          { key: 'j:cpu', kind: 'demo.cpu', input: { ms: 5, cooperative: true }, attempt: 1, slot: 1 },
          { key: 'j:nope', kind: 'demo.nope', input: {}, attempt: 1, slot: 2 },
        ],
      } as BatchRequest);
      expect(result.outcomes).toEqual([
        expect.objectContaining({ key: 'j:echo', ok: true, result: { answer: 42 } }),
        expect.objectContaining({ key: 'j:cpu', ok: true, result: { iterations: expect.any(Number) } }),
        expect.objectContaining({ key: 'j:nope', ok: false, error: expect.objectContaining({ code: 'UNKNOWN_KIND' }) }),
      ]);
    } finally {
      await pool.destroy();
    }
  });

  it('runs a batch of every pool kind on one thread of the built pool worker, which loads every handler chunk and no ES module', async () => {
    const dir = tempDir();
    const csv = join(dir, 'people.csv');
    writeFileSync(csv, 'id,name\n1,alpha\n2,beta\n3,gamma beta\n');
    const db = join(dir, 'rows.sqlite');
    execFileSync('sqlite3', [db, "CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); INSERT INTO t VALUES (1, 'one'), (2, 'two');"]);
    const imported = join(dir, 'imported.sqlite');
    const script = join(dir, 'double.mjs');
    writeFileSync(script, 'export default (args) => args.n * 2;\n');
    const batch = (kinds: [string, Record<string, unknown>][]): BatchRequest =>
      ({ tasks: kinds.map(([kind, input], slot) => ({ key: `j:${slot}:${kind}`, kind, input: findKind(kind)!.input.parse(input), attempt: 1, slot })) }) as BatchRequest;

    // A CommonJS probe in front of the built entry reports, after each batch, what the thread has loaded.
    const probe = join(out, 'loaded-probe.cjs');
    writeFileSync(
      probe,
      `const ESM = 'NativeModule internal/modules/esm/';
const runBatch = require(${JSON.stringify(join(out, 'main/pool-worker.cjs'))});
module.exports = async (request) => ({
  ...(await runBatch(request)),
  esModules: process.moduleLoadList.filter((name) => name.startsWith(ESM)).map((name) => name.slice(ESM.length)),
  chunks: Object.keys(require.cache).filter((file) => file.startsWith(${JSON.stringify(join(out, 'main/chunks'))})).map((file) => file.slice(${join(out, 'main/chunks').length + 1})).sort(),
});\n`,
    );
    type Probed = BatchResult & { esModules: string[]; chunks: string[] };
    const pool = new Piscina<BatchRequest, Probed>({ filename: probe, minThreads: 1, maxThreads: 1, workerData: builtWorkerData(16) });
    try {
      // Booted, the thread has loaded no kind's handler, and none of Node's ES module loader (only
      // the helpers its bootstrap loads).
      const booted = await pool.run({ tasks: [] } as unknown as BatchRequest);
      const handlerChunks = [...read('main/pool-worker.cjs').matchAll(/\.then\(\(\) => require\("\.\/chunks\/([^"]+)"\)\)/g)].map((match) => match[1]!);
      expect(new Set(handlerChunks).size).toBeGreaterThanOrEqual(9);
      for (const chunk of handlerChunks) expect(booted.chunks, chunk).not.toContain(chunk);
      expect(booted.esModules).not.toContain('loader');

      const first = await pool.run(
        batch([
          ['demo.echo', { value: { answer: 42 } }],
          ['demo.cpu', { ms: 5 }],
          ['demo.block', { ms: 1 }],
          ['demo.alloc', { mb: 1 }],
          ['demo.fail', { message: 'as asked' }],
          ['sql.exec', { db, sql: "INSERT INTO t VALUES (3, 'three')" }],
          ['sql.query', { db, sql: 'SELECT id, name FROM t ORDER BY id', output: { path: join(dir, 't.csv') } }],
          ['csv.import', { file: csv, db: imported, table: 'people' }],
          ['file.hash', { paths: [csv] }],
          ['file.compress', { paths: [csv], outDir: join(dir, 'gz') }],
          ['file.decompress', { paths: [join(dir, 'gz', 'people.csv.gz')], outDir: join(dir, 'back') }],
          ['file.grep', { paths: [csv], pattern: 'beta' }],
          ['file.stats', { paths: [csv] }],
        ]),
      );
      const failed = first.outcomes.filter((outcome) => !outcome.ok);
      expect(failed.map((outcome) => [outcome.key, !outcome.ok && outcome.error.message])).toEqual([['j:4:demo.fail', 'as asked']]);
      const results = Object.fromEntries(first.outcomes.map((outcome) => [outcome.key.split(':')[2]!, outcome.ok ? outcome.result : null]));
      expect(results['demo.echo']).toEqual({ answer: 42 });
      // Checked against tools of their own: sqlite3, sha256sum, gzip, wc.
      expect(readFileSync(join(dir, 't.csv'), 'utf8').split('\r\n').filter(Boolean)).toEqual(['id,name', '1,one', '2,two', '3,three']);
      expect(execFileSync('sqlite3', [imported, "SELECT group_concat(name, '|') FROM people ORDER BY id"], { encoding: 'utf8' }).trim()).toBe('alpha|beta|gamma beta');
      expect(JSON.stringify(results['file.hash'])).toContain(execFileSync('sha256sum', [csv], { encoding: 'utf8' }).split(' ')[0]);
      expect(execFileSync('gzip', ['-dc', join(dir, 'gz', 'people.csv.gz')], { encoding: 'utf8' })).toBe(readFileSync(csv, 'utf8'));
      expect(readFileSync(join(dir, 'back', 'people.csv'), 'utf8')).toBe(readFileSync(csv, 'utf8'));
      expect(JSON.stringify(results['file.grep'])).toContain('gamma beta');
      const [lines, words, bytes] = execFileSync('wc', ['-l', '-w', '-c', csv], { encoding: 'utf8' }).trim().split(/\s+/).map(Number);
      expect(results['file.stats']).toMatchObject({ total: { lines, words, bytes } });

      // Every kind's handler came from its chunk, and no ES module was loaded: no module job. (The
      // file kinds load the loader's code, which the `module` built-in requires, for the optional
      // lookup of picomatch that tinyglobby's fdir makes through createRequire; nothing runs it.)
      const everyChunk = workerChunks();
      expect(first.chunks).toEqual(everyChunk.filter((chunk) => !chunk.startsWith('pool-worker-script-')));
      expect(first.esModules).not.toContain('module_job');

      // The script kind import()s the person's module: the probe sees the ES module loader at work then.
      const second = await pool.run(batch([['script', { module: script, args: { n: 21 } }]]));
      expect(second.outcomes).toEqual([expect.objectContaining({ ok: true, result: 42 })]);
      expect(second.chunks).toEqual(everyChunk);
      expect(second.esModules).toEqual(expect.arrayContaining(['loader', 'module_job']));
    } finally {
      await pool.destroy();
    }
  });

  it('runs and cancels jobs on an engine whose pool and store checkpoints use the built threads', async () => {
    expect(read('main/index.js')).toMatch(/join[\w$]*\(import\.meta\.dirname, "\.\/store-checkpoint\.js"\)/);
    const engine = new Engine({
      dataDir: tempDir(),
      workerFile: join(out, 'main/pool-worker.cjs'),
      checkpointFile: join(out, 'main/store-checkpoint.js'),
      checkpointIntervalMs: 20,
      poolSize: 2,
      cancelGraceMs: 100,
    });
    try {
      await waitFor(() => engine.store.db.pragma('wal_autocheckpoint', { simple: true }) === 0, 20_000, 'the built checkpoint thread to start');
      const job = await engine.submitJob(
        jobSpec([
          { id: 'echo', kind: 'demo.echo', value: 'built' },
          { id: 'cpu', kind: 'demo.cpu', ms: 20 },
          { id: 'stuck', kind: 'demo.block', ms: 600_000 },
        ]),
        '/',
      );
      await waitFor(() => engine.task(`${job.id}:stuck`)?.state === 'running', 20_000, 'the blocked task to run');
      expect(engine.cancelTask(`${job.id}:stuck`)).toBe(true);
      const done = await engine.waitForJob(job.id);
      expect(done.state).toBe('cancelled');
      expect(engine.task(`${job.id}:echo`)).toMatchObject({ state: 'succeeded', result: 'built' });
      expect(engine.task(`${job.id}:cpu`)?.state).toBe('succeeded');
      expect(engine.task(`${job.id}:stuck`)?.state).toBe('cancelled');
      await waitFor(() => engine.checkpointer.checkpoints > 0, 20_000, 'a checkpoint by the built thread');
      expect(engine.checkpointer.failure).toBeNull();

      // A key-ordered export big enough to split: its helpers run the built key-range thread beside the pool's entry.
      const dir = tempDir();
      const db = join(dir, 'rows.sqlite');
      execFileSync('sqlite3', [db, `CREATE TABLE t (id INTEGER PRIMARY KEY, name TEXT); WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ${SPLIT_MIN_ROWS}) INSERT INTO t SELECT x, 'row ' || x FROM n;`]);
      const exportJob = await engine.submitJob(jobSpec([{ id: 'export', kind: 'sql.query', db, sql: 'SELECT * FROM t ORDER BY id', output: { path: join(dir, 'rows.csv') } }]), '/');
      expect((await engine.waitForJob(exportJob.id)).state).toBe('succeeded');
      const logs = engine.logsOf(`${exportJob.id}:export`).map((line) => line.message);
      expect(logs).toEqual([expect.stringMatching(new RegExp(`^rows read on ${Math.min(availableParallelism(), 4)} threads at once, in \\d+ key ranges taken in turn: \\d+ by the task's thread$`))]);
      expect(readFileSync(join(dir, 'rows.csv'), 'utf8').split('\r\n')).toHaveLength(SPLIT_MIN_ROWS + 2);
    } finally {
      await engine.shutdown({ deadlineMs: 1000 });
    }
  });
});

describe('the built renderer and preload in Chromium, under the desktop CSP', () => {
  let browser: Browser | undefined;
  let server: Server | undefined;

  afterAll(async () => {
    await browser?.close();
    await new Promise((done) => (server ? server.close(done) : done(undefined)));
  });

  it('goes live, runs the demo, opens a job file from the native dialog, with no CSP violation', async () => {
    const desktop = await startTestApp({ rendererDir: join(out, 'renderer') });
    // The app's own pipeline for its pages: its threadline:// handler, then its session's header rule.
    const serveAppPage = protocol.handlers.get(APP_SCHEME)!;
    server = createServer((request, response) => {
      void (async () => {
        const url = `${APP_ORIGIN}${request.url ?? '/'}`;
        const answer = await serveAppPage(new Request(url));
        const headers: Record<string, string[]> = {};
        answer.headers.forEach((value, name) => (headers[name] = [value]));
        const final = await session.defaultSession.respond(url, headers);
        response.writeHead(answer.status, final.responseHeaders ?? headers);
        response.end(Buffer.from(await answer.arrayBuffer()));
      })();
    });
    await new Promise<void>((listening) => server!.listen(0, '127.0.0.1', listening));
    const port = (server.address() as { port: number }).port;

    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run'],
    });
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const problems: string[] = [];
    page.on('console', (message) => {
      if (message.type() === 'error') problems.push(message.text());
    });
    page.on('pageerror', (error) => problems.push(`page error: ${error.message}`));

    // The window's IPC: invoke reaches the app's handlers as the window's main frame; events come back.
    await page.exposeFunction('__threadlineInvoke', (channel: string, args: unknown[]) => ipcRenderer.invoke(channel, ...args));
    let delivery = Promise.resolve();
    ipcRenderer.on(IPC_CHANNELS.event, (_event, message: unknown) => {
      delivery = delivery.then(() => page.evaluate((m) => (globalThis as unknown as { __threadlineDeliver(m: unknown): void }).__threadlineDeliver(m), message));
    });
    await page.addInitScript({ content: preloadShim(read('preload/index.cjs')) });

    await page.goto(`http://127.0.0.1:${port}/index.html`);
    await expect.poll(() => page.getByTestId('stream-state').textContent(), { timeout: 30_000 }).toBe('live');

    await page.getByRole('button', { name: 'Run demo', exact: true }).click();
    await expect.poll(async () => Number(await page.getByTestId('timeline-canvas').getAttribute('data-bar-count')), { timeout: 30_000 }).toBeGreaterThan(20);

    const folder = tempDir();
    const file = join(folder, 'nightly.yaml');
    mkdirSync(folder, { recursive: true });
    writeFileSync(file, 'name: nightly\ntasks:\n  - id: hello\n    kind: demo.echo\n    value: from the dialog\n');
    dialog.openAnswers.push({ canceled: false, filePaths: [file] });
    await page.getByRole('tab', { name: 'Job file' }).click();
    await page.getByRole('button', { name: 'Choose a job file…' }).click();
    await expect.poll(() => page.getByTestId('job-file-summary').textContent(), { timeout: 10_000 }).toContain('1 task · valid');
    await page.getByRole('button', { name: 'Run job', exact: true }).click();
    const engine = desktop.running.engine;
    const nightly = await waitFor(() => engine.snapshot().jobs.find((job) => job.name === 'nightly'), 20_000, 'the picked job');
    expect(nightly.baseDir).toBe(folder);
    expect((await engine.waitForJob(nightly.id)).state).toBe('succeeded');

    const violations = await page.evaluate(() => (globalThis as unknown as { __cspViolations: CspViolation[] }).__cspViolations);
    expect(violations).toEqual([]);
    expect(problems).toEqual([]);
  });
});

interface CspViolation {
  directive: string;
  blocked: string;
  file: string;
  line: number;
}

/**
 * Runs the built preload in the page the way Electron runs a sandboxed preload: as CommonJS
 * whose only module is `electron`. contextBridge puts the object on window; ipcRenderer goes
 * to the test's IPC. (The isolation of worlds is Electron's and is not reproduced here.)
 */
function preloadShim(preload: string): string {
  return `(() => {
    window.__cspViolations = [];
    document.addEventListener('securitypolicyviolation', (e) =>
      window.__cspViolations.push({ directive: e.violatedDirective, blocked: e.blockedURI, file: e.sourceFile, line: e.lineNumber }));
    const listeners = new Map();
    window.__threadlineDeliver = (message) => {
      for (const listener of listeners.get(${JSON.stringify(IPC_CHANNELS.event)}) ?? []) listener({}, message);
    };
    const electron = {
      contextBridge: { exposeInMainWorld: (key, api) => Object.defineProperty(window, key, { value: Object.freeze(api) }) },
      ipcRenderer: {
        invoke: (channel, ...args) => window.__threadlineInvoke(channel, args),
        on: (channel, listener) => { listeners.set(channel, [...(listeners.get(channel) ?? []), listener]); },
      },
    };
    const require = (name) => {
      if (name === 'electron') return electron;
      throw new Error('a sandboxed preload cannot require ' + name);
    };
    const module = { exports: {} };
    (function (require, module, exports) {\n${preload}\n})(require, module, module.exports);
  })();`;
}
