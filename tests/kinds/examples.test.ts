import { cpSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/cli.js';
import { tempDir } from '../support/engine-fixture.js';
import { runCliAsync, sqlite3, tool, toolRun } from './kind-fixture.js';

const GENERATOR = join(REPO_ROOT, 'scripts/generate-demo-data.mjs');
const EXAMPLES = join(REPO_ROOT, 'examples');

interface JobOutput {
  job: { state: string };
  tasks: Array<{ id: string; kind: string; state: string; error: unknown; result: Record<string, unknown> }>;
}

/** Every file under `dir` with its sha256, for comparing two generated trees. */
function digests(dir: string): string {
  return tool('sh', ['-c', 'find . -type f | LC_ALL=C sort | xargs -d "\\n" sha256sum'], { cwd: dir });
}

describe('examples and the demo data generator', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((_request, response) => response.end('<html><body>Threadline threads threads of work</body></html>'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('generates the same data for the same options, and refuses bad options', () => {
    const dir = tempDir();
    const options = ['--rows', '3000', '--files', '15', '--mb', '1', '--seed', '7'];
    const first = tool(process.execPath, [GENERATOR, '--out', join(dir, 'a'), ...options]);
    expect(first).toContain('3000 orders');
    tool(process.execPath, [GENERATOR, '--out', join(dir, 'b'), ...options]);
    expect(digests(join(dir, 'a'))).toBe(digests(join(dir, 'b')));
    expect(sqlite3(join(dir, 'a/demo.sqlite'), 'SELECT count(*) FROM orders', 'PRAGMA integrity_check').trim().split('\n')).toEqual(['3000', 'ok']);
    expect(readdirSync(join(dir, 'a/csv')).sort()).toEqual(['empty.csv', 'people.csv', 'ragged.csv']);
    const tree = Number(tool('sh', ['-c', 'find files -type f | wc -l'], { cwd: join(dir, 'a') }).trim());
    expect(tree).toBe(15);
    for (const bad of [['--rows', '1000001'], ['--rows', 'many'], ['--mystery']]) {
      const run = toolRun(process.execPath, [GENERATOR, '--out', join(dir, 'c'), ...bad]);
      expect(run.status).toBe(2);
      expect(run.stderr).toMatch(/^generate-demo-data: .*\nusage: /);
    }
  });

  it('runs every example job file through threadline run, every task succeeding', async () => {
    const dir = tempDir();
    cpSync(EXAMPLES, join(dir, 'examples'), { recursive: true, filter: (source) => !source.startsWith(join(EXAMPLES, 'data')) });
    // Scripts import from the project's packages, as they do inside examples/.
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(dir, 'node_modules'));
    tool(process.execPath, [GENERATOR, '--out', join(dir, 'examples/data'), '--rows', '5000', '--files', '30', '--mb', '3']);
    const jobFiles = readdirSync(join(dir, 'examples')).filter((name) => /\.(json|ya?ml)$/.test(name));
    expect(jobFiles.sort()).toEqual([
      'csv-import.json', 'file-compress.yaml', 'file-grep.json', 'file-hash.yaml', 'file-stats.json', 'http-fetch.yaml', 'nightly.yaml', 'script.yaml', 'sql-exec.yaml', 'sql-query.yaml',
    ]);
    const kinds = new Set<string>();
    for (const name of jobFiles) {
      const file = join(dir, 'examples', name);
      // No network here: the examples' web address points at a local server instead.
      writeFileSync(file, readFileSync(file, 'utf8').replaceAll('https://example.com/', url));
      const run = await runCliAsync(['run', file, '--json', '--data-dir', join(dir, 'store'), '--workers', '2']);
      expect(run.code, `${name}: ${run.stderr}`).toBe(0);
      const output = JSON.parse(run.stdout) as JobOutput;
      expect(output.job.state, name).toBe('succeeded');
      for (const task of output.tasks) kinds.add(task.kind);
    }
    expect([...kinds].sort()).toEqual(['csv.import', 'demo.block', 'file.compress', 'file.decompress', 'file.grep', 'file.hash', 'file.stats', 'http.fetch', 'script', 'sql.exec', 'sql.query']);
    const data = join(dir, 'examples/data');
    expect(toolRun('sha256sum', ['--check', '--quiet', 'files.sha256'], { cwd: data }).status).toBe(0);
    expect(toolRun('sh', ['-c', 'gzip -t out/gz/*.gz'], { cwd: data }).status).toBe(0);
    expect(toolRun('sh', ['-c', 'for f in files/logs/*.log; do cmp "$f" "out/restored/$(basename "$f")" || exit 1; done'], { cwd: data }).status).toBe(0);
    expect(sqlite3(join(data, 'out/people.sqlite'), 'SELECT count(*) FROM people').trim()).toBe('5000');
    expect(toolRun('sha256sum', ['--check', '--quiet', 'NIGHTLY.SHA256SUMS'], { cwd: join(data, 'out') }).status).toBe(0);
    expect(readFileSync(join(data, 'out/example.html'), 'utf8')).toContain('Threadline');
  });
});
