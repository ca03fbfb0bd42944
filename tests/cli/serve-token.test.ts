import { beforeAll, describe, expect, it } from 'vitest';
import { serveToken } from '../../electron/cli/serve-command.js';
import { tempDir, waitFor } from '../support/engine-fixture.js';
import { assertBuilt, expectNoStack, finished, runBin, spawnBin } from './bin.js';

beforeAll(assertBuilt);

const STABLE = 'my-bookmarked-token_0123456789';

describe('serve --token', () => {
  it('keeps the token given by --token or THREADLINE_TOKEN, and a fresh one otherwise', () => {
    expect(serveToken(STABLE, {})).toBe(STABLE);
    expect(serveToken(undefined, { THREADLINE_TOKEN: STABLE })).toBe(STABLE);
    expect(serveToken('from-the-flag-wins-0000', { THREADLINE_TOKEN: STABLE })).toBe('from-the-flag-wins-0000');
    const fresh = serveToken(undefined, {});
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect(serveToken(undefined, {})).not.toBe(fresh);
    expect(() => serveToken('short', {})).toThrow('--token must be 16 to 200 characters of letters, digits, "-" and "_" (got 5 characters)');
    expect(() => serveToken(undefined, { THREADLINE_TOKEN: 'has spaces and ?&= in it' })).toThrow(/^THREADLINE_TOKEN must be .* some of them not allowed\)$/);
  });

  it('prints the URL with the stable token from the environment, and refuses a bad one in one line', async () => {
    const serve = spawnBin(['serve', '--port', '0', '--workers', '1', '--data-dir', tempDir()], { env: { THREADLINE_TOKEN: STABLE } });
    const done = finished(serve);
    let stdout = '';
    serve.stdout!.on('data', (chunk: string) => (stdout += chunk));
    const line = await waitFor(() => stdout.includes('\n') && stdout.split('\n')[0], 30_000, 'the serve URL');
    expect(new URL(line).searchParams.get('token')).toBe(STABLE);
    serve.kill('SIGINT');
    expect((await done).code).toBe(0);

    const bad = await runBin(['serve', '--port', '0', '--token', 'a b', '--data-dir', tempDir()]);
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toBe('threadline: --token must be 16 to 200 characters of letters, digits, "-" and "_" (got 3 characters, some of them not allowed)');
    expectNoStack(bad.stderr);
  });
});
