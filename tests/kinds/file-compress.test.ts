import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { FileCompressResult } from '../../workers/handlers/file-compress.js';
import { makeEngine, tempDir } from '../support/engine-fixture.js';
import { expectTaskError, runTask, startTask, succeeded, tool, toolRun, waitForProgress } from './kind-fixture.js';

const MiB = 1024 * 1024;

function writeInputs(dir: string): Record<string, Buffer> {
  const text = Buffer.from(Array.from({ length: 60_000 }, (_, i) => `line ${i}: the quick brown fox jumps over the lazy dog\n`).join(''));
  const inputs: Record<string, Buffer> = {
    'in/text.log': text,
    'in/random.bin': randomBytes(2 * MiB + 17),
    'in/empty.txt': Buffer.alloc(0),
  };
  mkdirSync(join(dir, 'in'), { recursive: true });
  for (const [name, data] of Object.entries(inputs)) writeFileSync(join(dir, name), data);
  return inputs;
}

/** What the system's zcat or brotli -d makes of a file, as bytes. */
function decompressWith(command: 'zcat' | 'brotli', path: string): Buffer {
  const result = spawnSync(command, command === 'zcat' ? [path] : ['-d', '-c', path], { maxBuffer: 1 << 30 });
  expect(result.status, String(result.stderr)).toBe(0);
  return result.stdout;
}

describe('file.compress and file.decompress', () => {
  it('writes .gz files beside the inputs that gzip -t accepts and zcat restores byte for byte', async () => {
    const dir = tempDir();
    const inputs = writeInputs(dir);
    const engine = makeEngine();
    const result = succeeded<FileCompressResult>(await runTask(engine, dir, { kind: 'file.compress', paths: ['in/*'] }));
    expect(result.files.map((file) => file.output).sort()).toEqual(Object.keys(inputs).map((name) => join(dir, `${name}.gz`)).sort());
    for (const [name, data] of Object.entries(inputs)) {
      const gz = join(dir, `${name}.gz`);
      expect(toolRun('gzip', ['-t', gz]).status).toBe(0);
      expect(decompressWith('zcat', gz).equals(data), name).toBe(true);
      const entry = result.files.find((file) => file.output === gz)!;
      expect(entry).toMatchObject({ input: join(dir, name), bytesIn: data.length, bytesOut: readFileSync(gz).length });
    }
    expect(result.bytesIn).toBe(Object.values(inputs).reduce((sum, data) => sum + data.length, 0));
    expect(readFileSync(join(dir, 'in/text.log.gz')).length).toBeLessThan(inputs['in/text.log']!.length / 5);
  });

  it('writes .br files into outDir that brotli -d restores, at the level asked for', async () => {
    const dir = tempDir();
    const inputs = writeInputs(dir);
    const engine = makeEngine();
    const result = succeeded<FileCompressResult>(await runTask(engine, dir, { kind: 'file.compress', paths: ['in/*'], format: 'brotli', outDir: 'packed/br', level: 9 }));
    expect(result.format).toBe('brotli');
    for (const [name, data] of Object.entries(inputs)) {
      const br = join(dir, 'packed/br', `${name.slice(3)}.br`);
      expect(toolRun('brotli', ['-t', br]).status).toBe(0);
      expect(decompressWith('brotli', br).equals(data), name).toBe(true);
    }
    // The level shows in the bytes: the system brotli at quality 9 (Node's 4 MiB window) writes
    // the very same file, and at quality 5 a different one.
    const text = join(dir, 'in/text.log');
    const atQuality = (q: number) => spawnSync('brotli', ['-c', '-q', String(q), '-w', '22', text], { maxBuffer: 1 << 30 }).stdout;
    const written = readFileSync(join(dir, 'packed/br/text.log.br'));
    expect(written.equals(atQuality(9))).toBe(true);
    expect(written.equals(atQuality(5))).toBe(false);
    expect(existsSync(join(dir, 'in/text.log.br'))).toBe(false);
  });

  it('decompresses files the system gzip and brotli made, by extension, into outDir', async () => {
    const dir = tempDir();
    const inputs = writeInputs(dir);
    tool('gzip', ['-k', join(dir, 'in/text.log')]);
    tool('brotli', ['-k', join(dir, 'in/random.bin')]);
    const engine = makeEngine();
    const result = succeeded<FileCompressResult>(await runTask(engine, dir, { kind: 'file.decompress', paths: ['in/*.gz', 'in/*.br'], outDir: 'restored' }));
    expect(result.files.map((file) => file.output)).toEqual([join(dir, 'restored/text.log'), join(dir, 'restored/random.bin')]);
    expect(readFileSync(join(dir, 'restored/text.log')).equals(inputs['in/text.log']!)).toBe(true);
    expect(readFileSync(join(dir, 'restored/random.bin')).equals(inputs['in/random.bin']!)).toBe(true);
  });

  it('never overwrites an existing output unless asked, and then writes nothing at all', async () => {
    const dir = tempDir();
    writeInputs(dir);
    writeFileSync(join(dir, 'in/random.bin.gz'), 'keep me');
    const engine = makeEngine();
    expectTaskError(await runTask(engine, dir, { kind: 'file.compress', paths: ['in/*.log', 'in/*.bin'] }), 'EEXIST', /random\.bin\.gz already exists; set overwrite: true to replace it/);
    expect(readFileSync(join(dir, 'in/random.bin.gz'), 'utf8')).toBe('keep me');
    expect(existsSync(join(dir, 'in/text.log.gz'))).toBe(false);
    succeeded(await runTask(engine, dir, { kind: 'file.compress', paths: ['in/*.bin'], overwrite: true }));
    expect(toolRun('gzip', ['-t', join(dir, 'in/random.bin.gz')]).status).toBe(0);

    tool('gzip', ['-k', join(dir, 'in/text.log'), '-S', '.gz']);
    expectTaskError(await runTask(engine, dir, { kind: 'file.decompress', paths: ['in/text.log.gz'] }), 'EEXIST', /text\.log already exists/);
  });

  it('reports corrupt or truncated input, a wrong extension, clashing outputs and a bad level, leaving no partial file', async () => {
    const dir = tempDir();
    const inputs = writeInputs(dir);
    writeFileSync(join(dir, 'in/garbage.gz'), 'this was never gzip data');
    tool('gzip', ['-k', join(dir, 'in/random.bin')]);
    const whole = readFileSync(join(dir, 'in/random.bin.gz'));
    writeFileSync(join(dir, 'in/truncated.bin.gz'), whole.subarray(0, whole.length >> 1));
    // Not random bytes: about 4 % of random 4 KiB buffers happen to be valid brotli streams.
    writeFileSync(join(dir, 'in/garbage.br'), 'this was never brotli data');
    expect(toolRun('brotli', ['-d', '-c', join(dir, 'in/garbage.br')]).status).not.toBe(0);
    mkdirSync(join(dir, 'other'));
    copyFileSync(join(dir, 'in/text.log'), join(dir, 'other/text.log'));
    const engine = makeEngine();
    const decompress = (paths: string[], extra: Record<string, unknown> = {}) => runTask(engine, dir, { kind: 'file.decompress', paths, outDir: 'out', ...extra });
    expectTaskError(await decompress(['in/garbage.gz']), 'CORRUPT_INPUT', /garbage\.gz: not valid gzip data \(incorrect header check\)/);
    expectTaskError(await decompress(['in/truncated.bin.gz']), 'CORRUPT_INPUT', /truncated\.bin\.gz: not valid gzip data \(unexpected end of file\)/);
    expectTaskError(await decompress(['in/garbage.br']), 'CORRUPT_INPUT', /garbage\.br: not valid brotli data/);
    expectTaskError(await decompress(['in/text.log']), 'BAD_EXTENSION', /text\.log: expected a name ending in \.gz or \.br \(the output is the name without it\)/);
    expectTaskError(await decompress(['in/random.bin.gz'], { format: 'brotli' }), 'BAD_EXTENSION', /expected a name ending in \.br/);
    expect(readdirSync(join(dir, 'out'))).toEqual([]);
    expectTaskError(
      await runTask(engine, dir, { kind: 'file.compress', paths: ['in/text.log', 'other/text.log'], outDir: 'flat', layout: 'flat' }),
      'DUPLICATE_OUTPUT',
      /other\/text\.log and .*in\/text\.log would both be written to .*flat\/text\.log\.gz/,
    );
    expectTaskError(await runTask(engine, dir, { kind: 'file.compress', paths: ['in/text.log'], level: 10 }), 'BAD_INPUT', /level: gzip levels go from 0 to 9 \(got 10\)/);
    expectTaskError(await runTask(engine, dir, { kind: 'file.compress', paths: ['in/*.zip'] }), 'NO_MATCH', /no file matches/);
    expect(existsSync(join(dir, 'in/text.log.gz'))).toBe(false);
    expect(inputs['in/text.log']!.equals(readFileSync(join(dir, 'in/text.log')))).toBe(true);
  });

  it('stops at a cancel between chunks and removes the partial output', async () => {
    const dir = tempDir();
    writeFileSync(join(dir, 'big.bin'), randomBytes(256 * MiB));
    const engine = makeEngine({ cancelGraceMs: 120_000 });
    const { key, jobId } = await startTask(engine, dir, { kind: 'file.compress', paths: ['big.bin'], format: 'brotli', level: 11 });
    await waitForProgress(engine, key);
    engine.cancelTask(key);
    await engine.waitForJob(jobId);
    expect(engine.task(key)?.state).toBe('cancelled');
    expect(existsSync(join(dir, 'big.bin.br'))).toBe(false);
    expect(existsSync(join(dir, 'big.bin.br.partial'))).toBe(false);
    expect(readdirSync(dir)).toEqual(['big.bin']);
  });
});
