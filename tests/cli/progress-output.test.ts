import { spawn } from 'node:child_process';
import { beforeAll, describe, expect, it } from 'vitest';
import { onCleanup, tempDir } from '../support/engine-fixture.js';
import { assertBuilt, BIN, jobFile, runBin } from './bin.js';

beforeAll(assertBuilt);

const ESC = '\u001b[';
const BAR_CHARS = /[\u2588\u2591]/;

function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** Runs the bin on a pseudo-terminal (util-linux `script`), returning everything the terminal showed. */
function runOnTerminal(args: string[]): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { ...process.env, TERM: 'xterm-256color', COLUMNS: '160', LINES: '40' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onCleanup(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let output = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const job = () =>
  jobFile({
    name: 'progress',
    tasks: [
      { id: 'alpha', kind: 'demo.cpu', ms: 700 },
      { id: 'beta', kind: 'demo.cpu', ms: 700 },
      { id: 'gamma', kind: 'demo.cpu', ms: 500, dependsOn: ['alpha'] },
      { id: 'delta', kind: 'demo.sleep', ms: 300 },
      { id: 'broken', kind: 'demo.fail', message: 'on purpose' },
    ],
  });

describe('run progress output', () => {
  it('draws live bars on a terminal: per-task bars, counts, loop delay, then the summary table', async () => {
    const { code, output } = await runOnTerminal(['run', job(), '--workers', '2', '--data-dir', tempDir()]);
    expect(code).toBe(1); // `broken` fails
    expect(output).toContain(ESC);
    expect(output).toMatch(BAR_CHARS);
    expect(output).toMatch(/\d+\/5 ended \| loop delay p99 \d+\.\d ms/);
    expect(output).toMatch(/running [12] \| queued \d+ \| done \d+ \| failed \d+ \| cancelled 0/);
    expect(output).toMatch(/\d+% \| alpha \(demo\.cpu\)/);
    expect(output).toMatch(/\d+% \| beta \(demo\.cpu\)/);
    expect(output).toMatch(/5\/5 ended \| loop delay p99 \d+\.\d ms/);
    expect(output).toContain('running 0 | queued 0 | done 4 | failed 1 | cancelled 0');
    // Failures are printed above the bars as they happen; successes only in the table.
    expect(output).toContain('broken failed on w');
    expect(output).not.toContain('alpha succeeded on');
    expect(output).toMatch(/TASK\s+KIND\s+STATE/);
    expect(output).toMatch(/alpha\s+demo\.cpu\s+succeeded/);
  });

  it('prints plain lines into a pipe: no escape codes, no bars', async () => {
    const result = await runBin(['run', job(), '--workers', '2', '--data-dir', tempDir()]);
    expect(result.code).toBe(1);
    const all = result.stdout + result.stderr;
    expect(all).not.toContain('\u001b');
    expect(all).not.toMatch(BAR_CHARS);
    expect(result.stderr).toMatch(/^alpha succeeded on w\d+ in /m);
    expect(result.stderr).toMatch(/^delta succeeded on loop in /m);
    expect(result.stderr).toMatch(/^broken failed on w\d+ in .*: on purpose$/m);
    expect(result.stdout).toMatch(/TASK\s+KIND\s+STATE/);
  });

  it('keeps plain lines on a terminal with --no-progress, and prints nothing but JSON with --json', async () => {
    const plain = await runOnTerminal(['run', job(), '--workers', '2', '--no-progress', '--data-dir', tempDir()]);
    expect(plain.output).not.toMatch(BAR_CHARS);
    expect(plain.output).toMatch(/alpha succeeded on w\d+ in /);
    const json = await runOnTerminal(['run', job(), '--workers', '2', '--json', '--data-dir', tempDir()]);
    expect(json.output).not.toMatch(BAR_CHARS);
    expect(JSON.parse(json.output.replaceAll('\r\n', '\n'))).toMatchObject({ job: { name: 'progress', state: 'failed' } });
  });
});
