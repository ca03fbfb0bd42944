/**
 * Job names, task ids and error messages come from job files that may be someone else's: the
 * CLI prints their control characters and bidirectional overrides as `\u` escapes, so that none
 * can clear the screen, retitle the window or reorder what a person reads. JSON output still
 * reads back as the text stored.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, expectNoStack, jobFile, onTerminal, runBin } from './bin.js';
import { tempDir } from '../support/engine-fixture.js';

beforeAll(assertBuilt);

const NAME = 'evil\u001b]0;retitled\u0007\u001b[31mred\u0000nul\u202eright-to-left\u009bc';
const TASK_ID = 'clear\u001b[2Jscreen';
const MESSAGE = 'boom\u001b[1;1H\u001b[Kover';

/** Any character a terminal acts on rather than shows, but the line breaks the output is made of. */
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

function hostileJob(): string {
  return jobFile({ name: NAME, tasks: [{ id: TASK_ID, kind: 'demo.fail', message: MESSAGE }, { id: 'slow', kind: 'demo.sleep', ms: 300 }] });
}


describe('control characters from a job file', () => {
  it('are printed as escapes by run, jobs and show, and read back whole from --json', async () => {
    const dataDir = tempDir();
    const run = await runBin(['run', hostileJob(), '--data-dir', dataDir, '--no-progress']);
    expect(run.code).toBe(1);
    expectNoStack(run.stderr);
    const listed = await runBin(['jobs', '--data-dir', dataDir]);
    const json = await runBin(['jobs', '--data-dir', dataDir, '--json']);
    const [job] = JSON.parse(json.stdout) as Array<{ id: string; name: string }>;
    expect(job!.name).toBe(NAME);
    const shown = await runBin(['show', job!.id, '--data-dir', dataDir]);
    const shownJson = JSON.parse((await runBin(['show', job!.id, '--data-dir', dataDir, '--json'])).stdout) as { tasks: Array<{ id: string; error: { message: string } | null }> };
    expect(shownJson.tasks.find((t) => t.id === TASK_ID)?.error?.message).toBe(MESSAGE);

    for (const [what, text] of [['run', run.stdout + run.stderr], ['jobs', listed.stdout], ['show', shown.stdout], ['jobs --json', json.stdout]] as const) {
      expect(text, what).not.toMatch(UNSAFE);
    }
    expect(run.stdout + run.stderr).toContain('clear\\u001b[2Jscreen');
    expect(shown.stdout).toContain('evil\\u001b]0;retitled\\u0007\\u001b[31mred\\u0000nul\\u202eright-to-left\\u009bc');
    expect(shown.stdout).toContain('boom\\u001b[1;1H\\u001b[Kover');
  });

  it('reach a terminal, under the live display, only as escapes: the display\'s own moves are its only sequences', async () => {
    const { code, output } = await onTerminal(['run', hostileJob(), '--data-dir', tempDir()]);
    expect(code).toBe(1);
    expect(output).toContain('clear\\u001b[2Jscreen');
    // Cursor up and erase below are the display's; nothing else may act on the terminal.
    const acting = output.replace(new RegExp(String.raw`\u001b\[(\d+A|J)`, 'g'), '').replace(/\r\n/g, '\n').replace(/\r/g, '');
    expect(acting).not.toMatch(UNSAFE);
  });
});
