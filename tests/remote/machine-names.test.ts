/**
 * The rule for a remote machine's name (`contract/machine-names.ts`), and what it buys: every
 * reader of a task's worker (the dashboard's lanes and labels, its machine filter, the wire
 * schemas the orchestrator reads workers' messages with) tells a machine from a local worker.
 */
import { describe, expect, it } from 'vitest';
import { MACHINE_NAME_EXPECTED, machineNameProblem, machineNameRefusal, machineOfWorker } from '../../contract/machine-names.js';
import { readWire, remoteOutcomeSchema, remoteReportSchema, wireProblem, workerAnnouncementSchema } from '../../electron/remote/remote-protocol.js';
import { machineOf, threadLaneOf, workerLabel } from '../../renderer/src/worker-names.js';
import { buildTrace } from '../../electron/cli/chrome-trace.js';
import { attempt, job, T0, task } from '../renderer/records.js';

const LOCAL_WORKERS = ['loop', 'pool', 'remote', 'w0', 'w1', 'w007', '0', '12', '007'];

describe('a machine name', () => {
  it('is 1 to 100 of A-Z a-z 0-9 . _ -', () => {
    for (const name of ['build-07', 'b', 'W', 'w', 'w1a', 'a1w', 'loop2', 'pools', 'remote-1', 'x.lan', '_', '..', 'CI_RUNNER.4', 'a'.repeat(100)]) {
      expect(machineNameProblem(name), name).toBeNull();
    }
    expect(machineNameProblem('')).toBe('is empty');
    expect(machineNameProblem('a'.repeat(101))).toBe('is 101 characters long');
    expect(machineNameProblem('rack/7')).toBe('has "/" in it');
    expect(machineNameProblem('build 07')).toBe('has " " in it');
    expect(machineNameProblem('bäcker')).toBe('has "ä" in it');
    expect(machineNameProblem('build-🚀')).toBe('has "🚀" in it');
    expect(machineNameProblem('a:b')).toBe('has ":" in it');
  });

  it('is none of the names this machine’s own workers go by, in any case', () => {
    for (const name of [...LOCAL_WORKERS, 'LOOP', 'Pool', 'REMOTE', 'W1', 'W007']) {
      expect(machineNameProblem(name), name).toBe('would read as a local worker in task records');
    }
  });

  it('is refused in one line naming the field, the value quoted, and what is expected', () => {
    expect(machineNameRefusal('--name', 'build-07')).toBeNull();
    expect(machineNameRefusal('--name', 'w1')).toBe(`--name: "w1" would read as a local worker in task records; expected ${MACHINE_NAME_EXPECTED}`);
    expect(machineNameRefusal('--name', '')).toBe(`--name: "" is empty; expected ${MACHINE_NAME_EXPECTED}`);
    // A long name is shown by its start, its length said; a line break or a paragraph separator stays escaped.
    expect(machineNameRefusal('--name', 'a'.repeat(5000))).toBe(`--name: "${'a'.repeat(40)}…" is 5000 characters long; expected ${MACHINE_NAME_EXPECTED}`);
    for (const name of ['two\nlines', 'cr\rhere', 'para\u2028graph', 'next\u0085line', `${'x'.repeat(39)}\n${'y'.repeat(200)}`]) {
      const refusal = machineNameRefusal('--name', name)!;
      expect(refusal.split(/[\n\r\u0085\u2028\u2029]/)).toHaveLength(1);
      expect(refusal).toMatch(/^--name: ".*" has ".+" in it; expected /);
    }
    expect(MACHINE_NAME_EXPECTED).toBe("1 to 100 of A-Z a-z 0-9 . _ - other than loop, pool, remote, w<digits> or digits alone (the names of this machine's own workers)");
  });
});

describe('the machine a task’s worker names', () => {
  it('is the machine of one of its threads, or the machine alone; never a local worker', () => {
    expect(machineOfWorker('build-07/3')).toBe('build-07');
    expect(machineOfWorker('build-07')).toBe('build-07');
    expect(machineOfWorker('build-07/pool')).toBe('build-07');
    for (const local of LOCAL_WORKERS) expect(machineOfWorker(local), local).toBeNull();
    for (const odd of ['', '/3', 'build-07/', 'rack/a/12', 'w1/3', 'loop/1', 'bäcker/1', 'build-07/ä']) expect(machineOfWorker(odd), odd).toBeNull();
  });

  it('tells build-1 from build-10 (by name, not by prefix)', () => {
    expect(machineOfWorker('build-10/1')).toBe('build-10');
    expect(machineOfWorker('build-10')).not.toBe('build-1');
  });
});

describe('the dashboard’s reading of task workers', () => {
  it('gives a machine’s refusal no lane and its own label, and local workers theirs', () => {
    expect(threadLaneOf('build-07')).toBeNull();
    expect(workerLabel('build-07')).toBe('build-07');
    expect(machineOf('build-07')).toBe('build-07');
    expect(threadLaneOf('build-07/3')).toBe('build-07/3');
    expect(machineOf('build-07/3')).toBe('build-07');
    expect([threadLaneOf('w1'), workerLabel('w1'), machineOf('w1')]).toEqual(['1', 'thread 1', null]);
    expect([threadLaneOf('loop'), workerLabel('loop'), machineOf('loop')]).toEqual(['loop', 'event loop', null]);
    expect([threadLaneOf('remote'), machineOf('remote'), threadLaneOf('pool'), machineOf('pool')]).toEqual([null, null, null, null]);
    expect(machineOf(7)).toBeNull();
    expect(machineOf(null)).toBeNull();
  });
});

describe('the orchestrator’s wire schemas', () => {
  const announcement = { host: 'h', threads: 2, running: 0, state: 'ready', rssBytes: 1, loopDelayP99Ms: 1 };
  const failed = { type: 'failed', error: { code: 'PATH_OUTSIDE_ROOT', message: 'no' }, startedAt: 1, finishedAt: 2 };

  it('refuse an announced name a machine may not have, saying why in one line', () => {
    expect(readWire(workerAnnouncementSchema, JSON.stringify({ ...announcement, name: 'build-07' }))).toMatchObject({ name: 'build-07' });
    for (const name of [...LOCAL_WORKERS, '', 'rack/7', 'bäcker', 'a'.repeat(101)]) {
      expect(readWire(workerAnnouncementSchema, JSON.stringify({ ...announcement, name })), name).toBeNull();
    }
    expect(wireProblem(workerAnnouncementSchema, JSON.stringify({ ...announcement, name: 'loop' }))).toBe(`name: "loop" would read as a local worker in task records; expected ${MACHINE_NAME_EXPECTED}`);
  });

  it('refuse a report or an outcome whose worker is not a machine or one of its threads', () => {
    expect(readWire(remoteOutcomeSchema, { ...failed, worker: 'build-07' })).toMatchObject({ worker: 'build-07' });
    expect(readWire(remoteReportSchema, { type: 'started', worker: 'build-07/2', at: 1 })).toMatchObject({ worker: 'build-07/2' });
    for (const worker of [...LOCAL_WORKERS, 'w1/3', 'rack/a/1', '']) {
      expect(readWire(remoteOutcomeSchema, { ...failed, worker }), worker).toBeNull();
      expect(readWire(remoteReportSchema, { type: 'started', worker, at: 1 }), worker).toBeNull();
    }
    expect(wireProblem(remoteOutcomeSchema, { ...failed, worker: 'w1' })).toBe('worker: "w1" is not <machine>/<thread> or <machine> alone: its machine "w1" would read as a local worker in task records');
    expect(wireProblem(remoteOutcomeSchema, { ...failed, worker: 'rack/a/1' })).toBe('worker: "rack/a/1" is not <machine>/<thread> or <machine> alone');
    expect(wireProblem(remoteOutcomeSchema, '{')).toBe('not JSON');
  });
});

describe('the Chrome trace’s tracks', () => {
  it('name each worker as what it is, and keep a machine called `unknown` apart from attempts that name no worker', () => {
    const workers = ['loop', 'w1', 'build-07/3', 'build-07', 'unknown', null];
    const tasks = workers.map((_, i) => task(`t${i}`, { state: 'succeeded' }));
    const attempts = new Map(tasks.map((t, i) => [t.id, [attempt(1, T0 + i * 10, T0 + i * 10 + 5, workers[i]!)]]));
    const trace = buildTrace({ job: job(), tasks, attempts, now: T0 + 1000 });
    const names = new Map(trace.traceEvents.filter((e) => e.name === 'thread_name').map((e) => [e.tid, (e.args as { name: string }).name]));
    const trackOf = (id: string) => names.get(trace.traceEvents.find((e) => e.ph === 'X' && e.name === id)!.tid);
    expect(workers.map((_, i) => trackOf(`t${i}`))).toEqual(['event loop', 'worker thread 1', 'worker build-07/3', 'worker build-07', 'worker unknown', 'unknown worker']);
  });
});
