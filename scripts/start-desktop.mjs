#!/usr/bin/env node
/**
 * `npm start` (build, then open the desktop app) and `npm run dev` (`--dev`: Vite's dev
 * server with reload). Other arguments go to electron-vite (`--outDir`, `--entry`, ...).
 *
 * Before launching it makes sure of two things:
 *  1. Electron's binary is there (electron 45 downloads it lazily): if it is missing it tries
 *     the download once, and if that fails it stops with a message pointing to
 *     `npx threadline serve`, the same app in a browser.
 *  2. better-sqlite3 built for Electron's ABI is in native/electron/ (node_modules keeps the
 *     Node build that the CLI and the tests use). If it cannot be had, it warns and goes on.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildElectronSqlite, electronSqliteWanted, lastLinesOf, SQLITE_BINARY } from '../electron/desktop/packaging/electron-sqlite-build.mjs';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(ROOT, 'package.json'));
const ELECTRON_DOWNLOAD_TIMEOUT_MS = 120_000;
// Must match electron/desktop/electron-sqlite.ts, which the app uses to find the build.
const SQLITE_DIR = join(ROOT, 'native', 'electron');
const SQLITE_STAMP = 'build.json';

const say = (line) => console.error(`threadline: ${line}`);

function readText(file) {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    return null;
  }
}

/** Where electron's own launcher (node_modules/electron/index.js) looks for the binary. */
function electronBinaryPath(electronDir) {
  const relative = readText(join(electronDir, 'path.txt'));
  if (process.env.ELECTRON_OVERRIDE_DIST_PATH) return join(process.env.ELECTRON_OVERRIDE_DIST_PATH, relative || 'electron');
  return relative ? join(electronDir, 'dist', relative) : null;
}

function ensureElectron(electronDir) {
  const present = electronBinaryPath(electronDir);
  if (present && existsSync(present)) return present;

  say("Electron's binary is not downloaded yet; downloading it (node node_modules/electron/install.js) ...");
  const download = spawnSync(process.execPath, [join(electronDir, 'install.js')], {
    cwd: ROOT,
    encoding: 'utf8',
    timeout: ELECTRON_DOWNLOAD_TIMEOUT_MS,
    stdio: ['ignore', 'inherit', 'pipe'],
  });
  const downloaded = electronBinaryPath(electronDir);
  if (download.status === 0 && downloaded && existsSync(downloaded)) return downloaded;

  const reason =
    download.error?.code === 'ETIMEDOUT'
      ? `no answer within ${ELECTRON_DOWNLOAD_TIMEOUT_MS / 1000} s`
      : lastLinesOf(download.stderr) || download.error?.message || `the download exited with status ${download.status}`;
  console.error(
    [
      '',
      `Threadline: Electron's binary could not be downloaded on this machine (${reason}),`,
      'so the desktop app cannot open here.',
      '',
      'Run the same dashboard in your browser instead:',
      '  npx threadline serve',
      '',
      "To retry the download: node node_modules/electron/install.js  (behind a firewall, set ELECTRON_MIRROR to a reachable mirror first).",
      '',
    ].join('\n'),
  );
  process.exit(1);
}

/** better-sqlite3 for this Electron, in native/electron/, unless it is there already. */
function ensureElectronSqlite() {
  if (process.env.THREADLINE_SQLITE_BINDING) return; // the person provides their own build
  const wanted = electronSqliteWanted(ROOT);
  const binary = join(SQLITE_DIR, SQLITE_BINARY);
  if (readText(join(SQLITE_DIR, SQLITE_STAMP)) === JSON.stringify(wanted) && existsSync(binary)) return;

  say(`getting better-sqlite3 ${wanted.betterSqlite3} built for Electron ${wanted.electron} (ABI ${wanted.modules}) into native/electron/ ...`);
  const result = buildElectronSqlite({ root: ROOT, electronVersion: wanted.electron, destination: binary });
  if (result.ok) {
    writeFileSync(join(SQLITE_DIR, SQLITE_STAMP), JSON.stringify(wanted));
    say(`better-sqlite3 for Electron ${wanted.electron} is in native/electron/ (${result.how})`);
    return;
  }
  say(
    [
      `warning: could not get better-sqlite3 built for Electron ${wanted.electron}:`,
      ...result.problems.map((problem) => `  - ${problem}`),
      '  Without it the desktop app cannot open its job store: it will start and say so. This is tried',
      '  again on the next "npm start". The CLI and "npx threadline serve" are not affected.',
    ].join('\n'),
  );
}

function launch(binary, args) {
  const electronVite = join(dirname(require.resolve('electron-vite/package.json')), 'bin', 'electron-vite.js');
  const command = args.dev ? 'dev' : 'preview';
  const child = spawn(process.execPath, [electronVite, command, ...args.rest], {
    cwd: ROOT,
    stdio: 'inherit',
    env: { ...process.env, ELECTRON_EXEC_PATH: binary },
  });
  for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
  child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
}

function parseArgs(argv) {
  return { dev: argv.includes('--dev'), rest: argv.filter((arg) => arg !== '--dev') };
}

const args = parseArgs(process.argv.slice(2));
const electronDir = dirname(require.resolve('electron/package.json'));
const binary = ensureElectron(electronDir);
ensureElectronSqlite();
launch(binary, args);
