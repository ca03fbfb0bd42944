import { describe, expect, it } from 'vitest';
import type { RemoteMachine, TelemetrySample } from '../../contract/telemetry.js';
import type { Executor } from '../../electron/engine/executor.js';
import { JobStore } from '../../electron/engine/job-store.js';
import { LoopExecutor } from '../../electron/engine/loop-executor.js';
import { machinesOf, Telemetry, type TelemetrySource } from '../../electron/engine/telemetry.js';
import { makeEngine, onCleanup, tempDir } from '../support/engine-fixture.js';

function machine(name: string, overrides: Partial<RemoteMachine> = {}): RemoteMachine {
  return { name, host: `${name}.example`, threads: 4, running: 1, state: 'ready', lastHeardAt: 1_000, rssBytes: 90e6, loopDelayP99Ms: 2, ...overrides };
}

/** An executor that runs nothing; only what it says about machines matters here. */
function idleExecutor(machines?: () => RemoteMachine[]): Executor {
  return {
    fill: () => undefined,
    withdraw: () => false,
    requestStop: () => undefined,
    terminate: () => undefined,
    close: async () => undefined,
    ...(machines ? { machines } : {}),
  };
}

function source(machines: () => RemoteMachine[]): TelemetrySource {
  return { workers: () => [], machines, queued: () => 0, running: () => 0, takeCompletions: () => 0 };
}

describe('remote machines in telemetry', () => {
  it('takes the union of the machines of the executors that have any, and none when no executor has', () => {
    const a = machine('build-07');
    const b = machine('build-08', { state: 'draining' });
    const c = machine('build-09', { state: 'lost' });
    expect(machinesOf([idleExecutor(), idleExecutor(() => [a, b]), idleExecutor(() => [c])])).toEqual([a, b, c]);
    expect(machinesOf([idleExecutor(), idleExecutor()])).toEqual([]);
    expect(machinesOf([idleExecutor(() => [])])).toEqual([]);
  });

  it('puts in each sample the machines its source knows at that moment', () => {
    let known: RemoteMachine[] = [];
    const samples: TelemetrySample[] = [];
    const telemetry = new Telemetry(source(() => known), 60_000, 10, (s) => samples.push(s));
    try {
      expect(telemetry.sample().machines).toEqual([]);
      known = [machine('build-07')];
      expect(telemetry.sample().machines).toEqual([machine('build-07')]);
      known = [machine('build-07', { state: 'lost', running: 0 })];
      expect(telemetry.sample().machines).toEqual([machine('build-07', { state: 'lost', running: 0 })]);
      expect(samples.map((s) => s.machines.map((m) => m.state))).toEqual([[], ['ready'], ['lost']]);
      expect(telemetry.history()).toEqual(samples);
    } finally {
      telemetry.stop();
    }
  });

  it('samples no machines on an engine with only its local pool and loop', () => {
    const engine = makeEngine({ poolSize: 1, telemetryIntervalMs: 60_000 });
    expect(engine.sampleTelemetry().machines).toEqual([]);
    expect(engine.snapshot().telemetry.at(-1)?.machines).toEqual([]);
  });

  it('samples the machines an engine’s executor reports, as they change, and emits them', () => {
    let known = [machine('build-07')];
    // The loop's real executor, given the machines() a remote executor has.
    const engine = makeEngine({
      poolSize: 1,
      telemetryIntervalMs: 60_000,
      executors: { loop: (listener) => Object.assign(new LoopExecutor(4, listener), { machines: () => known }) },
    });
    const emitted: RemoteMachine[][] = [];
    engine.on('telemetry', (s) => emitted.push(s.machines));
    expect(engine.sampleTelemetry().machines).toEqual([machine('build-07')]);
    known = [machine('build-07', { state: 'draining' }), machine('build-08')];
    expect(engine.sampleTelemetry().machines).toEqual(known);
    expect(emitted).toEqual([[machine('build-07')], known]);
  });

  it('reads samples stored before machines were sampled as having none, and newer ones as stored', () => {
    const store = new JobStore(tempDir());
    onCleanup(() => store.close());
    const telemetry = new Telemetry(source(() => [machine('build-07')]), 60_000, 10, () => undefined);
    const withMachines = telemetry.sample();
    telemetry.stop();
    const { machines: _, ...older } = { ...withMachines, at: withMachines.at - 1000 };
    const insert = store.db.prepare('INSERT INTO telemetry (at, sample) VALUES (?, ?)');
    insert.run(older.at, JSON.stringify(older));
    insert.run(withMachines.at, JSON.stringify(withMachines));
    const read = store.telemetryBetween(older.at, withMachines.at);
    expect(read.map((s) => s.machines)).toEqual([[], [machine('build-07')]]);
    expect(read[0]).toEqual({ ...older, machines: [] });
  });
});
