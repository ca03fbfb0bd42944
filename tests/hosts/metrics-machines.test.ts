/**
 * The per-machine gauges of remote workers, read with a real Prometheus text parser from the
 * metrics of a real engine whose executor reports machines (the loop's real executor, given the
 * `machines()` a remote executor has).
 */
import parsePrometheus, { type ParsedFamily } from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import type { RemoteMachine } from '../../contract/telemetry.js';
import { LoopExecutor } from '../../electron/engine/loop-executor.js';
import { createMetrics } from '../../electron/hosts/metrics.js';
import { makeEngine, onCleanup } from '../support/engine-fixture.js';

function machine(name: string, overrides: Partial<RemoteMachine> = {}): RemoteMachine {
  return { name, host: `${name}.example`, threads: 8, running: 3, state: 'ready', lastHeardAt: Date.now(), rssBytes: 120e6, loopDelayP99Ms: 4, ...overrides };
}

function series(families: ParsedFamily[], name: string): Array<{ labels: Record<string, string>; value: number }> {
  const found = families.find((f) => f.name === name);
  if (!found) throw new Error(`no metric ${name} in the scrape`);
  expect(found.type).toBe('GAUGE');
  return found.metrics
    .map((m) => ({ labels: { ...m.labels }, value: Number(m.value) }))
    .sort((a, b) => JSON.stringify(a.labels).localeCompare(JSON.stringify(b.labels)));
}

describe('remote machine gauges', () => {
  it('give each machine its threads, running tasks and state, and drop a machine the engine no longer lists', async () => {
    let known: RemoteMachine[] = [];
    const engine = makeEngine({
      poolSize: 1,
      telemetryIntervalMs: 60_000,
      executors: { loop: (listener) => Object.assign(new LoopExecutor(4, listener), { machines: () => known }) },
    });
    const metrics = createMetrics(engine);
    onCleanup(() => metrics.close());
    const sampleWith = (machines: RemoteMachine[]): void => {
      known = machines;
      engine.sampleTelemetry();
    };

    // No remote workers: the families are there, with no series.
    sampleWith([]);
    let families = parsePrometheus(await metrics.render());
    for (const name of ['threadline_remote_machine_threads', 'threadline_remote_machine_tasks_running', 'threadline_remote_machine_state']) {
      expect(series(families, name)).toEqual([]);
    }

    sampleWith([machine('build-07'), machine('build-08', { threads: 4, running: 0, state: 'draining' }), machine('build-09', { running: 0, state: 'lost' })]);
    families = parsePrometheus(await metrics.render());
    expect(series(families, 'threadline_remote_machine_threads')).toEqual([
      { labels: { machine: 'build-07' }, value: 8 },
      { labels: { machine: 'build-08' }, value: 4 },
      { labels: { machine: 'build-09' }, value: 8 },
    ]);
    expect(series(families, 'threadline_remote_machine_tasks_running')).toEqual([
      { labels: { machine: 'build-07' }, value: 3 },
      { labels: { machine: 'build-08' }, value: 0 },
      { labels: { machine: 'build-09' }, value: 0 },
    ]);
    const states = series(families, 'threadline_remote_machine_state');
    expect(states.filter((s) => s.value === 1).map((s) => [s.labels.machine, s.labels.state])).toEqual([
      ['build-07', 'ready'],
      ['build-08', 'draining'],
      ['build-09', 'lost'],
    ]);
    expect(states).toHaveLength(9);

    // build-08 has drained and gone; build-07 came back after a restart with fewer threads.
    sampleWith([machine('build-07', { threads: 2, running: 2 }), machine('build-09', { running: 0, state: 'lost' })]);
    families = parsePrometheus(await metrics.render());
    expect(series(families, 'threadline_remote_machine_threads')).toEqual([
      { labels: { machine: 'build-07' }, value: 2 },
      { labels: { machine: 'build-09' }, value: 8 },
    ]);
    expect(series(families, 'threadline_remote_machine_state').filter((s) => s.labels.machine === 'build-08')).toEqual([]);
  });
});
