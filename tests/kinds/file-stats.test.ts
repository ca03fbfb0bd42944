import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Counts, FileStatsResult } from '../../workers/handlers/file-stats.js';
import { makeEngine, tempDir } from '../support/engine-fixture.js';
import { expectTaskError, runTask, succeeded, tool } from './kind-fixture.js';

const MiB = 1024 * 1024;

/** `wc -l -w -c` in the C locale, per file, in the order given. */
function wc(paths: string[]): Counts[] {
  const out = tool('wc', ['-l', '-w', '-c', ...paths], { env: { ...process.env, LC_ALL: 'C' } });
  return out
    .trim()
    .split('\n')
    .slice(0, paths.length)
    .map((line) => {
      const [lines, words, bytes] = line.trim().split(/\s+/).map(Number);
      return { lines: lines!, words: words!, bytes: bytes! };
    });
}

describe('file.stats', () => {
  it('counts lines, words and bytes as wc does, per file and in total', async () => {
    const dir = tempDir();
    mkdirSync(join(dir, 'in'));
    const every = Buffer.alloc(256 * 64);
    for (let i = 0; i < every.length; i++) every[i] = i % 256;
    const files: Record<string, Buffer | string> = {
      'in/empty.txt': '',
      'in/no-newline.txt': 'one two  three',
      'in/crlf.txt': 'a b\r\nc\td\r\n\r\n',
      'in/spaces.txt': ' \t\v\f lead and trail \n\n  ',
      'in/unicode.txt': 'naïve café ✓ — done\nzweite Zeile\n',
      'in/controls.txt': 'a\x01b \x01 \x7f x\x1cy \x80\x80 z\n',
      'in/every-byte.bin': every,
      'in/random.bin': randomBytes(3 * MiB + 5),
      // Words and a line break across the 1 MiB read boundary.
      'in/boundary.txt': `${'w '.repeat(MiB / 2 - 1)}xy\nzz word`,
    };
    for (const [name, data] of Object.entries(files)) writeFileSync(join(dir, name), data);
    const engine = makeEngine();
    const result = succeeded<FileStatsResult>(await runTask(engine, dir, { kind: 'file.stats', paths: ['in/*'] }));
    const paths = result.files.map((file) => file.path);
    expect(paths).toEqual(Object.keys(files).map((name) => join(dir, name)).sort());
    const expected = wc(paths);
    expect(result.files.map((file) => ('error' in file ? file.error : { lines: file.lines, words: file.words, bytes: file.bytes }))).toEqual(expected);
    expect(result.total).toEqual({
      lines: expected.reduce((sum, c) => sum + c.lines, 0),
      words: expected.reduce((sum, c) => sum + c.words, 0),
      bytes: expected.reduce((sum, c) => sum + c.bytes, 0),
    });
    expect(result.failed).toBe(0);
  });

  it('reports a glob that matches nothing and a missing file', async () => {
    const dir = tempDir();
    const engine = makeEngine();
    expectTaskError(await runTask(engine, dir, { kind: 'file.stats', paths: ['*.md'] }), 'NO_MATCH', /no file matches the pattern/);
    expectTaskError(await runTask(engine, dir, { kind: 'file.stats', paths: ['README'] }), 'ENOENT', /README: no such file or directory/);
  });
});
