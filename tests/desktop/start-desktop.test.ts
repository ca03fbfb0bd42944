/**
 * `npm start` (scripts/start-desktop.mjs), run for real: where Electron's binary cannot be had
 * it says so and points to `threadline serve`; where it is there, it builds and launches it.
 * A stand-in executable plays Electron's binary (ELECTRON_OVERRIDE_DIST_PATH, which Electron's
 * own launcher honours too).
 */
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tempDir } from '../support/engine-fixture.js';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const SCRIPT = join(REPO, 'scripts', 'start-desktop.mjs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function startDesktop(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((done) => {
    execFile(process.execPath, [SCRIPT, ...args], { cwd: REPO, env: { ...process.env, ...env }, timeout: 180_000, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      done({ code, stdout, stderr });
    });
  });
}

describe('npm start', () => {
  it('without a downloadable Electron binary: exits 1, says why and points to threadline serve', async () => {
    const noBinary = tempDir();
    const run = await startDesktop([], {
      ELECTRON_OVERRIDE_DIST_PATH: noBinary,
      // Nothing listens on port 9: the download fails at once, here and on a connected machine alike.
      ELECTRON_MIRROR: 'http://127.0.0.1:9/',
      electron_config_cache: tempDir(),
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("Threadline: Electron's binary could not be downloaded on this machine (");
    expect(run.stderr).toContain('npx threadline serve');
    expect(run.stderr).toContain('To retry the download: node node_modules/electron/install.js');
    expect(`${run.stdout}${run.stderr}`).not.toMatch(/^\s+at /m);
    expect(existsSync(join(noBinary, 'electron'))).toBe(false);
  });

  it('with the binary there: builds and launches it on the built main bundle, and exits with its status', async () => {
    const electronDir = tempDir();
    const record = join(electronDir, 'launched.json');
    const fakeElectron = join(electronDir, 'electron');
    writeFileSync(
      fakeElectron,
      `#!${process.execPath}\nrequire('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify({ argv: process.argv.slice(2) }));\nprocess.exit(7);\n`,
    );
    chmodSync(fakeElectron, 0o755);
    const out = tempDir();
    const entry = join(out, 'main', 'index.js');
    const run = await startDesktop(['--outDir', out, '--entry', entry, '--logLevel', 'warn'], {
      ELECTRON_OVERRIDE_DIST_PATH: electronDir,
      // A binding given by the person: the Electron build of better-sqlite3 is not fetched.
      THREADLINE_SQLITE_BINDING: join(electronDir, 'better_sqlite3.node'),
    });
    expect(run.stderr).not.toContain('could not be downloaded');
    expect(run.stderr).not.toContain('better-sqlite3');
    expect(JSON.parse(readFileSync(record, 'utf8'))).toEqual({ argv: [entry] });
    for (const built of ['main/index.js', 'main/pool-worker.cjs', 'main/job-reader.js', 'main/store-checkpoint.js', 'preload/index.cjs', 'renderer/index.html']) {
      expect(existsSync(join(out, built)), built).toBe(true);
    }
    expect(run.code).toBe(7);
  });

  it('--dev: serves the renderer from Vite with reload and launches the binary pointed at it', async () => {
    const electronDir = tempDir();
    const record = join(electronDir, 'launched.json');
    const fakeElectron = join(electronDir, 'electron');
    // Loads the page the way the window would, then quits.
    writeFileSync(
      fakeElectron,
      `#!${process.execPath}
const url = process.env.ELECTRON_RENDERER_URL;
fetch(url).then((r) => r.text()).then(
  (html) => { require('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify({ argv: process.argv.slice(2), url, html })); process.exit(0); },
  (error) => { require('node:fs').writeFileSync(${JSON.stringify(record)}, JSON.stringify({ error: String(error), url })); process.exit(3); });
`,
    );
    chmodSync(fakeElectron, 0o755);
    const out = tempDir();
    const entry = join(out, 'main', 'index.js');
    const run = await startDesktop(['--dev', '--outDir', out, '--entry', entry, '--logLevel', 'warn'], {
      ELECTRON_OVERRIDE_DIST_PATH: electronDir,
      THREADLINE_SQLITE_BINDING: join(electronDir, 'better_sqlite3.node'),
    });
    const launched = JSON.parse(readFileSync(record, 'utf8')) as { argv: string[]; url: string; html: string };
    expect(launched.argv).toEqual([entry]);
    expect(launched.url).toMatch(/^http:\/\/localhost:\d+$/);
    expect(launched.html).toContain('/@react-refresh');
    expect(launched.html).toContain('<div id="root">');
    expect(existsSync(join(out, 'main', 'index.js'))).toBe(true);
    expect(run.code).toBe(0);
  });
});
