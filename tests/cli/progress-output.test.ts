import { execFileSync, spawn } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { onCleanup, tempDir } from '../support/engine-fixture.js';
import { assertBuilt, BIN, expectNoStack, jobFile, runBin } from './bin.js';
import { TerminalScreen } from './terminal-screen.js';

beforeAll(assertBuilt);

const ESC = '\u001b[';
const BAR_CHARS = /[\u2588\u2591]/;

function shellQuote(arg: string): string {
  return `'${arg.replaceAll("'", `'\\''`)}'`;
}

/** The pid of the `threadline` process whose command line holds `marker` (under `script`, it is a grandchild). */
function pidOf(marker: string): number | null {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (args[0] === process.execPath && args[1] === BIN && args.includes(marker)) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  return null;
}

/**
 * Runs the bin on a pseudo-terminal (util-linux `script`), returning everything the terminal
 * showed. `interruptWhen`: once the output matches it, the bin gets a SIGINT, as from Ctrl-C.
 * `onOutput`: called with all the output so far each time more arrives.
 */
function runOnTerminal(args: string[], options: { interruptWhen?: RegExp; onOutput?: (output: string) => void } = {}): Promise<{ code: number | null; output: string }> {
  const command = [process.execPath, BIN, ...args].map(shellQuote).join(' ');
  const child = spawn('script', ['-qfec', command, '/dev/null'], {
    env: { ...process.env, TERM: 'xterm-256color', COLUMNS: '160', LINES: '40' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  onCleanup(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let output = '';
  let interrupted = false;
  const onData = (chunk: string) => {
    output += chunk;
    options.onOutput?.(output);
    if (options.interruptWhen && !interrupted && options.interruptWhen.test(output)) {
      const pid = pidOf(args[args.indexOf('--data-dir') + 1]!);
      if (pid !== null) {
        interrupted = true;
        process.kill(pid, 'SIGINT');
      }
    }
  };
  child.stdout.setEncoding('utf8').on('data', onData);
  child.stderr.setEncoding('utf8').on('data', onData);
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

  it('gives each running task a line of its own, drawn from its own state, and leaves none behind', async () => {
    // Twelve tasks on three threads, each at a progress of its own, each held until a frame has
    // shown it and then let go, one a frame: lines come and go all the time, and every task is
    // drawn while it runs however seldom a busy machine redraws.
    const dir = tempDir();
    writeFileSync(
      join(dir, 'held.mjs'),
      "import { existsSync } from 'node:fs';\n" +
        'export default async function held(args, ctx) {\n' +
        '  ctx.progress(args.progress);\n' +
        '  while (!existsSync(args.file)) await new Promise((resolve) => setTimeout(resolve, 10));\n' +
        '  return null;\n' +
        '}\n',
    );
    const ids = Array.from({ length: 12 }, (_, i) => `task-${String.fromCharCode(97 + i)}`);
    const percentOf = new Map(ids.map((id, i) => [id, 5 + i * 8]));
    const releaseFile = (id: string) => join(dir, `release-${id}`);
    const tasks = ids.map((id) => ({ id, kind: 'script', module: join(dir, 'held.mjs'), args: { progress: percentOf.get(id)! / 100, file: releaseFile(id) } }));
    const taskLine = /^ {2}[\u2588\u2591]{24} +(\d+)% \| (task-[a-l]) \(script\)/;
    const labelsOf = (frame: string[]) => frame.map((line) => taskLine.exec(line)).filter((m) => m !== null);
    const released = new Set<string>();
    let framesSeen = 0;
    const releaseOneShown = (output: string) => {
      // Frames are complete once the next redraw erases them.
      const frames = new TerminalScreen().write(output).frames;
      for (; framesSeen < frames.length; framesSeen++) {
        const label = labelsOf(frames[framesSeen]!).map((m) => m[2]!).find((id) => !released.has(id));
        if (label === undefined) continue;
        released.add(label);
        writeFileSync(releaseFile(label), '');
      }
    };
    const { code, output } = await runOnTerminal(['run', jobFile({ name: 'many', tasks }, 'many.json'), '--workers', '3', '--data-dir', tempDir()], { onOutput: releaseOneShown });
    expect(code).toBe(0);
    const screen = new TerminalScreen().write(output);
    const gone = new Set<string>();
    let shown = new Set<string>();
    let frames = 0;
    for (const frame of screen.frames) {
      const lines = labelsOf(frame);
      const labels = lines.map((m) => m[2]!);
      // Never the same task twice, never more lines than threads, never a task that had left.
      expect(new Set(labels).size).toBe(labels.length);
      expect(labels.length).toBeLessThanOrEqual(3);
      for (const label of labels) expect(gone.has(label)).toBe(false);
      // Each line at its own task's progress.
      for (const m of lines) expect({ task: m[2], percent: Number(m[1]) }).toEqual({ task: m[2], percent: percentOf.get(m[2]!) });
      for (const label of shown) if (!labels.includes(label)) gone.add(label);
      shown = new Set(labels);
      if (labels.length > 0) frames++;
    }
    expect(released.size).toBe(12);
    expect(frames).toBeGreaterThan(3);
    expect(gone.size).toBeGreaterThanOrEqual(6);
    // The screen at the end: the last summary, then the table; no task line left over.
    const final = screen.text();
    expect(final).not.toMatch(taskLine);
    expect(final).toMatch(/\u2588{24} 12\/12 ended \| loop delay p99 [\d.]+ ms\s+running 0 \| queued 0 \| done 12 \| failed 0 \| cancelled 0\s+job j-\S+ \(many\): succeeded/);
  });

  it('shows an SQL export by the rows it wrote so far, not a bar stuck at 0 %', async () => {
    const dir = tempDir();
    const db = join(dir, 'big.sqlite');
    execFileSync('sqlite3', [db, "CREATE TABLE t (id INTEGER PRIMARY KEY, label TEXT); WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500000) INSERT INTO t SELECT i, 'row number ' || i FROM n;"]);
    const file = jobFile({ name: 'export', tasks: [{ id: 'export', kind: 'sql.query', db, sql: 'SELECT * FROM t ORDER BY id', output: { path: join(dir, 'out', 'rows.csv') } }] });
    const { code, output } = await runOnTerminal(['run', file, '--data-dir', tempDir()]);
    expect(code).toBe(0);
    const frames = new TerminalScreen().write(output).frames.flat();
    const counting = frames.map((line) => /^ {2}running \d+\.\ds +\| export \(sql\.query\) (\d+) rows$/.exec(line)).filter((m) => m !== null);
    expect(counting.length).toBeGreaterThan(0);
    expect(Number(counting.at(-1)![1])).toBeGreaterThan(0);
    expect(frames.some((line) => /\d+% \| export \(sql\.query\)/.test(line))).toBe(false);
    expect(output).toMatch(/export\s+1,500,000 rows exported to \S+rows\.csv/);
  });

  it('on Ctrl-C: the display clears its task lines, the notice and the table come out whole, exit 130', async () => {
    const dataDir = tempDir();
    const file = jobFile({ name: 'interrupted', tasks: [{ id: 'long-a', kind: 'demo.cpu', ms: 60_000 }, { id: 'long-b', kind: 'demo.sleep', ms: 60_000 }, { id: 'queued', kind: 'demo.echo', dependsOn: ['long-a'] }] });
    const { code, output } = await runOnTerminal(['run', file, '--workers', '1', '--grace', '200', '--data-dir', dataDir], { interruptWhen: /long-a \(demo\.cpu\)[\s\S]*long-b \(demo\.sleep\)|long-b \(demo\.sleep\)[\s\S]*long-a \(demo\.cpu\)/ });
    expect(code).toBe(130);
    expectNoStack(output);
    const screen = new TerminalScreen().write(output).text().split('\n');
    // Every line on the screen is one of the display's or the CLI's own, whole.
    const known = [
      /^[\u2588\u2591]{24} \d\/3 ended \| loop delay p99 [\d.]+ ms$/,
      /^running \d \| queued \d \| done \d \| failed \d \| cancelled \d$/,
      /^SIGINT: stopping; running tasks are asked to stop \(press Ctrl-C again to stop at once\)$/,
      /^(long-a|long-b|queued) interrupted( on \S+)?( in [\d.]+m?s)?(: .*)?$/,
      /^job j-\S+ \(interrupted\): interrupted$/,
      /^TASK +KIND +STATE/,
      /^[- ]+$/,
      /^(long-a|long-b|queued) +demo\.\w+ +interrupted/,
      /^run "threadline resume" to finish it$/,
      /^$/,
    ];
    for (const line of screen) expect({ line, known: known.some((re) => re.test(line.trimEnd())) }).toEqual({ line, known: true });
    expect(screen.some((line) => line.startsWith('SIGINT: stopping'))).toBe(true);
    expect(screen.some((line) => /% \|/.test(line))).toBe(false);
  });
});
