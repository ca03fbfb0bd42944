/**
 * The memory watch of a process stopped (SIGSTOP, as a laptop that sleeps) just after it ended a
 * task for memory, before that task's thread had gone and given its memory back: on waking, the
 * stop is not counted as the thread's time to go, so the memory still held is not blamed on the
 * task left running. The engine runs in a child process (`fixtures/memory-watched-engine.mjs`),
 * on the built code; the thread ended lingers, waiting for its open of a FIFO to be answered, for
 * as long as the test wants.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, constants, openSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ROOT } from '../cli/bin.js';
import { onCleanup, tempDir } from '../support/engine-fixture.js';

beforeAll(assertBuilt);

const FIXTURE = join(import.meta.dirname, 'fixtures', 'memory-watched-engine.mjs');

describe('the memory watch of a process stopped just after it ended a task for memory', () => {
  it('does not count the stop as the ended thread\'s time to go: the task left running is not ended for memory the other still holds', async () => {
    const jobDir = tempDir();
    const fifo = join(jobDir, 'hold');
    execFileSync('mkfifo', [fifo]);
    const release = join(jobDir, 'release');
    // Opens the FIFO first (a request no end of the thread can cut short: the thread waits for it
    // before it goes), then takes 400 MiB outside the heap, over the process's ceiling (300 MiB
    // above where it started).
    writeFileSync(
      join(jobDir, 'big.mjs'),
      `import { open } from 'node:fs/promises'; export default async () => { const opening = open(${JSON.stringify(fifo)}, 'r'); const held = []; for (let i = 0; i < 25; i++) held.push(Buffer.alloc(16 * 1024 * 1024, i)); await (await opening).close(); return held.length; };`,
    );
    // 32 MiB, enough to be blamed when the process is over its ceiling; held until released.
    writeFileSync(
      join(jobDir, 'small.mjs'),
      `import { existsSync } from 'node:fs'; export default () => { const held = Buffer.alloc(32 * 1024 * 1024, 1); const nap = new Int32Array(new SharedArrayBuffer(4)); while (!existsSync(${JSON.stringify(release)})) Atomics.wait(nap, 0, 0, 20); return held.length; };`,
    );
    const child = spawn(process.execPath, [FIXTURE, JSON.stringify({ dataDir: tempDir(), jobDir, overMb: 300 })], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    onCleanup(() => {
      child.kill('SIGCONT');
      child.kill('SIGKILL');
    });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async (): Promise<Record<string, unknown>> => {
      const { value, done } = await lines.next();
      if (done) throw new Error(`the engine ended (${child.exitCode ?? child.signalCode}):\n${stderr}`);
      return JSON.parse(value as string) as Record<string, unknown>;
    };

    expect(await next()).toEqual({ bigEnded: true });
    // Stopped for longer than the watch waits for an ended thread to go (5 s), then going on.
    child.kill('SIGSTOP');
    await sleep(6000);
    child.kill('SIGCONT');
    // The thread goes a moment after the wake (before the fix, the first look on waking had
    // already ended `small`: the process was still over its ceiling, and it held the most).
    await sleep(1500);
    const writer = openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK); // ENXIO, not a hang, if no one reads it
    closeSync(writer);
    await sleep(500);
    writeFileSync(release, '');

    expect(await next()).toEqual({
      tasks: [
        { id: 'big', state: 'failed', code: 'WORKER_OUT_OF_MEMORY' },
        { id: 'small', state: 'succeeded', code: null },
      ],
    });
  }, 90_000);
});
