import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { tempDir } from '../support/engine-fixture.js';
import { assertBuilt, BIN, expectNoStack, jobFile, ROOT, runBin } from './bin.js';

beforeAll(assertBuilt);

const TASK_FIELDS = ['id', 'kind', 'state', 'attempts', 'startedAt', 'finishedAt', 'worker', 'result', 'summary', 'error', 'logs'];

describe('threadline run (the real bin)', () => {
  it('exits 0 when every task succeeded and prints the documented --json shape', async () => {
    const file = jobFile({ name: 'ok', tasks: [{ id: 'a', kind: 'demo.echo', value: { n: 1 } }, { id: 'b', kind: 'demo.cpu', ms: 20, dependsOn: ['a'] }, { id: 'c', kind: 'demo.sleep', ms: 10 }] });
    const result = await runBin(['run', file, '--json', '--workers', '2', '--data-dir', tempDir()]);
    expect(result.code).toBe(0);
    const output = JSON.parse(result.stdout) as { job: Record<string, unknown>; tasks: Array<Record<string, unknown>> };
    expect(Object.keys(output).sort()).toEqual(['job', 'tasks']);
    expect(output.job).toMatchObject({ name: 'ok', state: 'succeeded', taskCount: 3, id: expect.stringMatching(/^j-/) });
    for (const task of output.tasks) expect(Object.keys(task).sort()).toEqual([...TASK_FIELDS].sort());
    expect(output.tasks).toEqual([
      { id: 'a', kind: 'demo.echo', state: 'succeeded', attempts: 1, startedAt: expect.any(Number), finishedAt: expect.any(Number), worker: expect.stringMatching(/^w\d+$/), result: { n: 1 }, summary: '{"n":1}', error: null, logs: [] },
      expect.objectContaining({ id: 'b', state: 'succeeded', result: { iterations: expect.any(Number) } }),
      expect.objectContaining({ id: 'c', state: 'succeeded', worker: 'loop' }),
    ]);
    for (const task of output.tasks) expect(task.finishedAt as number).toBeGreaterThanOrEqual(task.startedAt as number);
    expect(result.stderr).toBe('');
  });

  it('exits 1 when a task failed, with its error in --json, and a table without --json', async () => {
    const file = jobFile({ name: 'bad', tasks: [{ id: 'ok', kind: 'demo.echo' }, { id: 'boom', kind: 'demo.fail', message: 'it broke' }, { id: 'then', kind: 'demo.echo', dependsOn: ['boom'] }] });
    const json = await runBin(['run', file, '--json', '--workers', '1', '--data-dir', tempDir()]);
    expect(json.code).toBe(1);
    const output = JSON.parse(json.stdout) as { job: { state: string }; tasks: Array<{ id: string; state: string; error: unknown }> };
    expect(output.job.state).toBe('failed');
    expect(output.tasks.map((t) => [t.id, t.state])).toEqual([['ok', 'succeeded'], ['boom', 'failed'], ['then', 'skipped']]);
    expect(output.tasks[1]!.error).toMatchObject({ message: 'it broke', code: 'DEMO_FAILURE' });

    const plain = await runBin(['run', file, '--workers', '1', '--data-dir', tempDir()]);
    expect(plain.code).toBe(1);
    expect(plain.stdout).toMatch(/job j-\S+ \(bad\): failed/);
    expect(plain.stdout).toMatch(/^boom\s+demo\.fail\s+failed\s+1\s+/m);
    expect(plain.stderr).toContain('boom failed on w');
    expect(plain.stderr).toContain('then skipped: dependency "boom" ended failed');
  });

  it('exits 1 when a task timed out', async () => {
    const file = jobFile({ name: 'slow', tasks: [{ id: 'stuck', kind: 'demo.block', ms: 30_000, timeoutMs: 100 }] });
    const result = await runBin(['run', file, '--json', '--workers', '1', '--grace', '0', '--data-dir', tempDir()]);
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout).tasks[0]).toMatchObject({ state: 'timed_out', error: { code: 'TIMED_OUT' } });
  });

  describe('exits 2 on an invalid job file with one line naming the file, the field and the expectation', () => {
    const cases: Array<{ what: string; content: string; name?: string; line: RegExp }> = [
      { what: 'not parseable JSON', content: '{"name": "x", "tasks": [', line: /job\.json: not valid JSON/ },
      { what: 'not parseable YAML', content: 'name: x\ntasks: [\n', name: 'job.yaml', line: /job\.yaml: not valid YAML at line \d+, column \d+/ },
      { what: 'missing tasks', content: '{"name": "x"}', line: /job\.json: tasks: missing; expected array$/ },
      { what: 'empty tasks', content: '{"name": "x", "tasks": []}', line: /job\.json: tasks: expected at least one task$/ },
      { what: 'unknown kind', content: '{"name":"x","tasks":[{"id":"a","kind":"demo.nope"}]}', line: /job\.json: tasks\[0\]\.kind: unknown kind "demo\.nope"; expected one of .*demo\.cpu/ },
      { what: 'wrong type', content: '{"name":"x","tasks":[{"id":"a","kind":"demo.cpu","ms":"fast"}]}', line: /job\.json: tasks\[0\]\.ms: .*expected number/ },
      { what: 'wrong type of a common field', content: '{"name":"x","tasks":[{"id":"a","kind":"demo.echo","retries":-1}]}', line: /job\.json: tasks\[0\]\.retries: / },
      { what: 'duplicate id', content: '{"name":"x","tasks":[{"id":"a","kind":"demo.echo"},{"id":"a","kind":"demo.echo"}]}', line: /job\.json: tasks\[1\]\.id: duplicate id "a" \(also tasks\[0\]\)$/ },
      { what: 'unknown dependsOn', content: '{"name":"x","tasks":[{"id":"a","kind":"demo.echo","dependsOn":["ghost"]}]}', line: /job\.json: tasks\[0\]\.dependsOn\[0\]: unknown task id "ghost"$/ },
      { what: 'cyclic dependsOn', content: '{"name":"x","tasks":[{"id":"a","kind":"demo.echo","dependsOn":["c"]},{"id":"b","kind":"demo.echo","dependsOn":["a"]},{"id":"c","kind":"demo.echo","dependsOn":["b"]}]}', line: /job\.json: tasks\[0\]\.dependsOn: dependency cycle: a -> c -> b -> a$/ },
      { what: 'unknown field', content: '{"name":"x","tasks":[{"id":"a","kind":"demo.cpu","ms":1,"speed":9}]}', line: /job\.json: tasks\[0\]: unknown field "speed"$/ },
    ];
    for (const c of cases) {
      it(c.what, async () => {
        const dataDir = tempDir();
        const file = jobFile(c.content, c.name);
        const result = await runBin(['run', file, '--data-dir', dataDir]);
        expect(result.code).toBe(2);
        expect(result.stdout).toBe('');
        const lines = result.stderr.trimEnd().split('\n');
        expect(lines).toHaveLength(1);
        expect(lines[0]).toMatch(/^threadline: /);
        expect(lines[0]).toContain(file);
        expect(lines[0]).toMatch(c.line);
        expectNoStack(result.stderr);
      });
    }

    it('a missing file, and a folder', async () => {
      const dir = tempDir();
      const missing = await runBin(['run', join(dir, 'nope.yaml'), '--data-dir', dir]);
      expect(missing).toMatchObject({ code: 2, stdout: '', stderr: `threadline: ${join(dir, 'nope.yaml')}: no such file\n` });
      mkdirSync(join(dir, 'folder.json'));
      const folder = await runBin(['run', join(dir, 'folder.json'), '--data-dir', dir]);
      expect(folder).toMatchObject({ code: 2, stderr: `threadline: ${join(dir, 'folder.json')}: is a directory; expected a JSON or YAML job file\n` });
    });
  });

  it('exits 2 on usage errors, naming the option and what it expects', async () => {
    const noFile = await runBin(['run']);
    expect(noFile.code).toBe(2);
    expect(noFile.stderr).toContain("missing required argument 'jobfile'");
    const workers = await runBin(['run', 'x.json', '--workers', 'two']);
    expect(workers.code).toBe(2);
    expect(workers.stderr).toContain('--workers must be a whole number from 0 to 1024 (got "two")');
    const port = await runBin(['serve', '--port', 'http']);
    expect(port.code).toBe(2);
    expect(port.stderr).toContain('--port must be a whole number from 0 to 65535 (got "http")');
    const unknown = await runBin(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    for (const r of [noFile, workers, port, unknown]) expectNoStack(r.stderr);
  });

  it('has --help with examples for the program and every command', async () => {
    const top = await runBin(['--help']);
    expect(top.code).toBe(0);
    for (const command of ['run', 'jobs', 'resume', 'serve', 'cancel', 'export-trace']) {
      expect(top.stdout).toMatch(new RegExp(`^  ${command} `, 'm'));
      const help = await runBin([command, '--help']);
      expect({ command, code: help.code }).toEqual({ command, code: 0 });
      expect(help.stdout).toContain(`Usage: threadline ${command}`);
      expect(help.stdout).toContain('Example');
    }
  });

  it('lists the job it ran with "jobs --json"', async () => {
    const dataDir = tempDir();
    const run = await runBin(['run', jobFile({ name: 'listed', tasks: [{ id: 'a', kind: 'demo.echo' }] }), '--json', '--data-dir', dataDir]);
    const jobs = await runBin(['jobs', '--json', '--data-dir', dataDir]);
    expect(jobs.code).toBe(0);
    expect(JSON.parse(jobs.stdout)).toEqual([expect.objectContaining({ id: JSON.parse(run.stdout).job.id, name: 'listed', state: 'succeeded', counts: { succeeded: 1 } })]);
  });
});

describe('the CLI as a newcomer meets it', () => {
  it('prints its version, and help whose example files exist', async () => {
    const version = await runBin(['--version']);
    expect(version).toMatchObject({ code: 0, stdout: `${(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version}\n`, stderr: '' });
    for (const args of [['--help'], ['run', '--help'], ['resume', '--help']]) {
      const help = await runBin(args);
      expect(help.stdout).toContain('130 stopped by Ctrl-C');
      const files = [...help.stdout.matchAll(/threadline run (\S+\.(?:ya?ml|json))/g)].map((m) => m[1]!);
      if (args[0] !== 'resume') expect(files.length).toBeGreaterThan(0);
      for (const file of files) expect({ file, exists: existsSync(join(ROOT, file)) }).toEqual({ file, exists: true });
    }
  });

  it('ends quietly when the reader of its output goes away (help | head)', async () => {
    // A shell pipe into `head -3`: head exits after three lines, and the CLI's next writes meet a closed pipe.
    const shell = spawnSync('sh', ['-c', `"${process.execPath}" "${BIN}" help run | head -3; "${process.execPath}" "${BIN}" --help | head -1`], { encoding: 'utf8', cwd: ROOT });
    expect(shell.stdout.split('\n').slice(0, 3)).toEqual(['Usage: threadline run [options] <jobfile>', '', 'run a job file to the end']);
    expect(shell.stderr).toBe('');

    // The same with a pipe closed before anything is written: no EPIPE stack, exit 0.
    const child = spawn(process.execPath, [BIN, 'help', 'run'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout.destroy();
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stderr).toBe('');
  });
});

describe('a closed stderr', () => {
  it('silences progress only: the run goes on and its result still reaches stdout', async () => {
    const file = jobFile({ name: 'quiet', tasks: Array.from({ length: 6 }, (_, i) => ({ id: `t${i}`, kind: 'demo.cpu', ms: 40 })) });
    const child = spawn(process.execPath, [BIN, 'run', file, '--data-dir', tempDir()], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stderr.destroy();
    let stdout = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    expect(stdout).toMatch(/^job j-\S+ \(quiet\): succeeded$/m);
    expectNoStack(stdout);
  });
});
