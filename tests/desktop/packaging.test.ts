/**
 * electron-builder.yml, run for real by electron-builder on the built app. Two downloads are
 * replaced, as this machine has no access to GitHub: Electron itself (an `electronDist` folder
 * with a stand-in executable) and the better-sqlite3 prebuilt for Electron (served from a local
 * mirror, npm_config_better_sqlite3_binary_host, with a marker file as the binary).
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import { afterPack } from '../../electron/desktop/packaging/after-pack.mjs';
import { electronSqliteWanted } from '../../electron/desktop/packaging/electron-sqlite-build.mjs';
import { tempDir } from '../support/engine-fixture.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const wanted = electronSqliteWanted(REPO);
const NODE_BUILD = join(REPO, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node');

const sha256 = (file: string) => execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0]!;
const run = (file: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv }) =>
  new Promise<{ code: number; output: string }>((done) => {
    execFile(file, args, { ...options, env: { ...process.env, ...options.env }, timeout: 240_000, maxBuffer: 32 * 1024 * 1024 }, (error, stdout, stderr) => {
      done({ code: error ? (typeof error.code === 'number' ? error.code : -1) : 0, output: `${stdout}${stderr}` });
    });
  });

/** A local stand-in for the GitHub release that holds better-sqlite3's Electron prebuilts. */
async function prebuiltMirror(dir: string, binaryContent: string): Promise<{ url: string; server: Server; binarySha: string }> {
  const release = join(dir, 'build', 'Release');
  mkdirSync(release, { recursive: true });
  writeFileSync(join(release, 'better_sqlite3.node'), binaryContent);
  const tarball = join(dir, 'prebuilt.tar.gz');
  execFileSync('tar', ['-czf', tarball, '-C', dir, 'build/Release/better_sqlite3.node']);
  const name = `/v${wanted.betterSqlite3}/better-sqlite3-v${wanted.betterSqlite3}-electron-v${wanted.modules}-linux-x64.tar.gz`;
  const server = createServer((request, response) => {
    if (request.url !== name) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'Content-Type': 'application/gzip' }).end(readFileSync(tarball));
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  return { url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server, binarySha: sha256(join(release, 'better_sqlite3.node')) };
}

describe('packaging with electron-builder', () => {
  let project: string;
  let mirror: Awaited<ReturnType<typeof prebuiltMirror>>;

  beforeAll(async () => {
    // A copy of the project's packaging inputs; node_modules is the real one, linked.
    project = mkdtempSync(join(tmpdir(), 'threadline-package-'));
    copyFileSync(join(REPO, 'package.json'), join(project, 'package.json'));
    // Fuses are flipped inside Electron's real binary, which the stand-in is not: they stay out
    // of this run (tests/reliability/electron-checklist.test.ts checks the config sets them).
    const config = parseYaml(readFileSync(join(REPO, 'electron-builder.yml'), 'utf8')) as Record<string, unknown>;
    delete config.electronFuses;
    writeFileSync(join(project, 'electron-builder.yml'), stringifyYaml(config));
    cpSync(join(REPO, 'electron', 'desktop', 'packaging'), join(project, 'electron', 'desktop', 'packaging'), { recursive: true });
    symlinkSync(join(REPO, 'node_modules'), join(project, 'node_modules'), 'dir');
    const electronVite = join(REPO, 'node_modules', 'electron-vite', 'bin', 'electron-vite.js');
    const build = await run(process.execPath, [electronVite, 'build', '--outDir', join(project, 'out'), '--logLevel', 'warn'], { cwd: REPO });
    expect(build.code, build.output).toBe(0);
    mirror = await prebuiltMirror(join(project, 'mirror'), 'better-sqlite3 built for Electron (stand-in)');
  }, 240_000);

  afterAll(async () => {
    await new Promise((done) => (mirror ? mirror.server.close(done) : done(undefined)));
    if (project) rmSync(project, { recursive: true, force: true });
  });

  it('packs the app into asar, unpacks the thread entries and native modules, and puts the Electron build of better-sqlite3 in', async () => {
    const fakeElectron = tempDir();
    writeFileSync(join(fakeElectron, 'electron'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(fakeElectron, 'electron'), 0o755);
    writeFileSync(join(fakeElectron, 'version'), `v${wanted.electron}`);
    writeFileSync(join(fakeElectron, 'LICENSE'), 'MIT');
    mkdirSync(join(fakeElectron, 'resources'));
    const nodeBuildBefore = sha256(NODE_BUILD);

    const builder = join(REPO, 'node_modules', 'electron-builder', 'cli.js');
    const output = join(project, 'release');
    const packed = await run(process.execPath, [builder, '--dir', '--linux', '--x64', '--projectDir', project, `-c.electronDist=${fakeElectron}`, `-c.directories.output=${output}`], {
      cwd: project,
      env: { npm_config_better_sqlite3_binary_host: mirror.url, npm_config_cache: tempDir() },
    });
    expect(packed.code, packed.output).toBe(0);
    expect(packed.output).toContain(`better-sqlite3 for Electron ${wanted.electron} (linux-x64): prebuilt download`);

    const app = join(output, 'linux-unpacked');
    expect(existsSync(join(app, 'threadline'))).toBe(true);
    const asar = join(REPO, 'node_modules', '@electron', 'asar', 'bin', 'asar.js');
    const inAsar = execFileSync(process.execPath, [asar, 'list', join(app, 'resources', 'app.asar')], { encoding: 'utf8' }).split('\n');
    for (const file of ['/package.json', '/out/main/index.js', '/out/preload/index.cjs', '/out/renderer/index.html', '/node_modules/zod/package.json']) {
      expect(inAsar, file).toContain(file);
    }
    expect(inAsar.some((file) => file.startsWith('/node_modules/better-sqlite3/deps/'))).toBe(false);
    expect(inAsar.some((file) => file.endsWith('.map'))).toBe(false);

    const unpacked = join(app, 'resources', 'app.asar.unpacked');
    for (const thread of ['pool-worker.cjs', 'job-reader.js', 'store-checkpoint.js']) {
      expect(sha256(join(unpacked, 'out', 'main', thread)), thread).toBe(sha256(join(project, 'out', 'main', thread)));
    }
    // The pool worker runs from the unpacked folder and require()s each kind's handler, and what
    // the handlers share, from its chunks beside it.
    const entryChunks = [...readFileSync(join(project, 'out', 'main', 'pool-worker.cjs'), 'utf8').matchAll(/require\("\.\/chunks\/([^"]+)"\)/g)].map((match) => match[1]!);
    const workerChunks = readdirSync(join(project, 'out', 'main', 'chunks')).filter((name) => name.startsWith('pool-worker-'));
    expect(workerChunks).toEqual(expect.arrayContaining(entryChunks));
    expect(entryChunks.length).toBeGreaterThan(0);
    for (const chunk of workerChunks) {
      expect(sha256(join(unpacked, 'out', 'main', 'chunks', chunk)), chunk).toBe(sha256(join(project, 'out', 'main', 'chunks', chunk)));
    }
    for (const module of ['piscina', 'better-sqlite3', 'bindings']) {
      expect(existsSync(join(unpacked, 'node_modules', module, 'package.json')), module).toBe(true);
    }
    expect(sha256(join(unpacked, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'))).toBe(mirror.binarySha);
    expect(existsSync(join(unpacked, 'node_modules', 'better-sqlite3', 'src'))).toBe(false);
    // node_modules keeps its Node build: the CLI and the tests go on working.
    expect(sha256(NODE_BUILD)).toBe(nodeBuildBefore);
    // electron-builder packs every dependency: the same limit as its process, not the suite's 60 s.
  }, 240_000);

  it('fails the packaging, naming the target and why, when no Electron build of better-sqlite3 can be had', async () => {
    const appOutDir = tempDir();
    const release = join(appOutDir, 'resources', 'app.asar.unpacked', 'node_modules', 'better-sqlite3', 'build', 'Release');
    mkdirSync(release, { recursive: true });
    writeFileSync(join(release, 'better_sqlite3.node'), 'node build');
    const context = (arch: number) => ({
      appOutDir,
      arch,
      electronPlatformName: 'linux',
      packager: { info: { framework: { version: wanted.electron } }, getResourcesDir: (dir: string) => join(dir, 'resources') },
    });
    const before = process.env.npm_config_better_sqlite3_binary_host;
    // Nothing listens on port 9; ia32 is not this machine, so no source build is tried either.
    process.env.npm_config_better_sqlite3_binary_host = 'http://127.0.0.1:9';
    try {
      await expect(afterPack(context(0))).rejects.toThrow(
        new RegExp(`^Threadline packaging: could not get better-sqlite3 for Electron ${wanted.electron.replaceAll('.', '\\.')} on linux-ia32:\\n  - prebuilt download: .*ECONNREFUSED`),
      );
    } finally {
      if (before === undefined) delete process.env.npm_config_better_sqlite3_binary_host;
      else process.env.npm_config_better_sqlite3_binary_host = before;
    }
    expect(readFileSync(join(release, 'better_sqlite3.node'), 'utf8')).toBe('node build');
    await expect(afterPack(context(4))).rejects.toThrow('no better-sqlite3 build for linux arch #4; package one arch at a time');
    await expect(afterPack({ ...context(1), appOutDir: tempDir() })).rejects.toThrow(/better_sqlite3\.node is missing; better-sqlite3 must be unpacked from asar/);
  });
});
