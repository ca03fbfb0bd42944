/**
 * `GET /metrics` of a real `threadline serve` process, read with a real Prometheus text parser
 * and checked against the job store as the sqlite3 shell reads it.
 */
import { join } from 'node:path';
import parsePrometheus, { type ParsedFamily } from 'parse-prometheus-text-format';
import { beforeAll, describe, expect, it } from 'vitest';
import { STORE_FILE } from '../../electron/engine/job-store.js';
import { connectApi } from '../../electron/serve/node-api-client.js';
import { assertBuilt, finished, spawnBin } from '../cli/bin.js';
import { sqlite3Json } from '../reliability/sqlite-cli.js';
import { onCleanup, tempDir, waitFor } from '../support/engine-fixture.js';
import { httpRequest } from './ws-test-client.js';

beforeAll(assertBuilt);

async function startServe() {
  const dataDir = tempDir();
  const child = spawnBin(['serve', '--port', '0', '--workers', '2', '--data-dir', dataDir]);
  const exited = finished(child);
  let stdout = '';
  child.stdout!.on('data', (chunk: string) => (stdout += chunk));
  const url = new URL(await waitFor(() => stdout.includes('\n') && stdout.split('\n')[0], 30_000, 'the serve URL'));
  const port = Number(url.port);
  const token = url.searchParams.get('token')!;
  const client = await connectApi({ host: '127.0.0.1', port, token });
  onCleanup(async () => {
    await client.close();
    child.kill('SIGINT');
    await exited;
  });
  return { dataDir, port, token, api: client.api };
}

function family(families: ParsedFamily[], name: string): ParsedFamily {
  const found = families.find((f) => f.name === name);
  if (!found) throw new Error(`no metric ${name} in the scrape`);
  return found;
}

function value(families: ParsedFamily[], name: string, labels: Record<string, string> = {}): number {
  const sample = family(families, name).metrics.find((m) => Object.entries(labels).every(([k, v]) => m.labels?.[k] === v));
  if (!sample?.value) throw new Error(`no sample of ${name} with ${JSON.stringify(labels)}`);
  return Number(sample.value);
}

/**
 * One kind's series of a labelled histogram. The parser folds a histogram's `_count` and `_sum`
 * only when the series carry no label but `le`, so each kind's lines are given to it on their own
 * with the `kind` label taken out.
 */
function histogramOf(text: string, name: string, kind: string): { buckets: Record<string, string>; count: number; sum: number } {
  const label = `kind="${kind}"`;
  const lines = text
    .split('\n')
    .filter((line) => line.startsWith(`${name}_`) && line.includes(label))
    .map((line) => line.replace(`,${label}`, '').replace(`{${label}}`, '').replace(`{${label},`, '{'));
  const [parsed] = parsePrometheus(`# HELP ${name} h\n# TYPE ${name} histogram\n${lines.join('\n')}\n`);
  const sample = parsed!.metrics[0]!;
  return { buckets: sample.buckets!, count: Number(sample.count), sum: Number(sample.sum) };
}

describe('GET /metrics on threadline serve', () => {
  it('after a job with successes and a failure: counters and durations match the store, gauges are there, names follow the guide', async () => {
    const { dataDir, port, token, api } = await startServe();
    const submitted = await api.submitJob({
      fileName: 'mixed.json',
      text: JSON.stringify({
        name: 'mixed',
        tasks: [
          { id: 'e1', kind: 'demo.echo', value: 1 },
          { id: 'e2', kind: 'demo.echo', value: 2 },
          { id: 'c1', kind: 'demo.cpu', ms: 30 },
          { id: 'c2', kind: 'demo.cpu', ms: 60 },
          { id: 'boom', kind: 'demo.fail', message: 'on purpose' },
          { id: 'after', kind: 'demo.echo', value: 3, dependsOn: ['boom'] },
        ],
      }),
    });
    if (!submitted.ok) throw new Error(JSON.stringify(submitted.issues));
    const db = join(dataDir, STORE_FILE);
    await waitFor(() => sqlite3Json<{ state: string }>(db, `SELECT state FROM jobs WHERE id = '${submitted.job.id}'`)[0]?.state === 'failed', 20_000, 'the job to end');
    const added = await api.addSchedule({ fileName: 'nightly.yaml', text: 'name: nightly\nschedule: { cron: "0 2 * * *", timezone: Europe/Paris }\ntasks:\n  - { id: a, kind: demo.echo, value: 1 }\n' });
    expect(added.ok).toBe(true);

    // Gauges of threads come from the telemetry sample of every 500 ms, and a thread reports its
    // heap after its tasks: scrape until one sample has seen a thread's heap.
    let reply = await httpRequest(port, `/metrics?token=${encodeURIComponent(token)}`);
    const deadline = Date.now() + 20_000;
    while (!/^threadline_worker_heap_used_bytes\{/m.test(reply.body) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      reply = await httpRequest(port, `/metrics?token=${encodeURIComponent(token)}`);
    }
    expect(reply.status).toBe(200);
    expect(reply.headers['content-type']).toBe('text/plain; version=0.0.4; charset=utf-8');
    const families = parsePrometheus(reply.body);

    // Every name prefixed, counters in _total, units in the names.
    for (const f of families) {
      expect(f.name).toMatch(/^threadline_[a-z0-9_]+$/);
      if (f.type === 'COUNTER') expect(f.name).toMatch(/_total$/);
      if (f.type === 'HISTOGRAM') expect(f.name).toMatch(/_seconds$/);
    }

    // Task counters by kind and state: the store's own counts.
    const stored = sqlite3Json<{ kind: string; state: string; n: number }>(db, 'SELECT kind, state, count(*) AS n FROM tasks GROUP BY kind, state');
    expect(stored).toEqual(
      expect.arrayContaining([
        { kind: 'demo.echo', state: 'succeeded', n: 2 },
        { kind: 'demo.echo', state: 'skipped', n: 1 },
        { kind: 'demo.cpu', state: 'succeeded', n: 2 },
        { kind: 'demo.fail', state: 'failed', n: 1 },
      ]),
    );
    const counted = family(families, 'threadline_tasks_total').metrics.map((m) => ({ kind: m.labels!.kind, state: m.labels!.state, n: Number(m.value) }));
    expect(counted.sort((a, b) => `${a.kind}${a.state}`.localeCompare(`${b.kind}${b.state}`))).toEqual(
      stored.sort((a, b) => `${a.kind}${a.state}`.localeCompare(`${b.kind}${b.state}`)),
    );

    // Durations by kind: as many as tasks that ran, summing to their stored run times.
    const ran = sqlite3Json<{ kind: string; n: number; seconds: number }>(
      db,
      'SELECT kind, count(*) AS n, sum(finished_at - started_at) / 1000.0 AS seconds FROM tasks WHERE started_at IS NOT NULL GROUP BY kind',
    );
    expect(ran.map((r) => r.kind).sort()).toEqual(['demo.cpu', 'demo.echo', 'demo.fail']);
    for (const { kind, n, seconds } of ran) {
      const histogram = histogramOf(reply.body, 'threadline_task_duration_seconds', kind);
      expect(histogram.count, kind).toBe(n);
      expect(histogram.buckets['+Inf'], kind).toBe(String(n));
      expect(histogram.sum, kind).toBeCloseTo(seconds, 6);
    }
    // The 30 and 60 ms CPU tasks are in no bucket of 10 ms or less (demo.cpu spins for its ms).
    expect(Number(histogramOf(reply.body, 'threadline_task_duration_seconds', 'demo.cpu').buckets['0.01'])).toBe(0);

    // Gauges: nothing queued or running now; the process, its loop, its threads.
    expect(value(families, 'threadline_tasks_queued')).toBe(0);
    expect(value(families, 'threadline_tasks_running')).toBe(0);
    expect(value(families, 'threadline_process_resident_memory_bytes')).toBeGreaterThan(10 * 1024 * 1024);
    expect(value(families, 'threadline_process_heap_used_bytes')).toBeGreaterThan(0);
    expect(value(families, 'threadline_process_heap_total_bytes')).toBeGreaterThanOrEqual(value(families, 'threadline_process_heap_used_bytes'));
    for (const name of ['threadline_event_loop_delay_p50_seconds', 'threadline_event_loop_delay_p99_seconds', 'threadline_event_loop_delay_max_seconds']) {
      expect(value(families, name)).toBeGreaterThanOrEqual(0);
      expect(value(families, name)).toBeLessThan(60);
    }
    const utilization = value(families, 'threadline_event_loop_utilization_ratio');
    expect(utilization).toBeGreaterThanOrEqual(0);
    expect(utilization).toBeLessThanOrEqual(1);
    const threads = value(families, 'threadline_pool_threads');
    expect(threads >= 1 && threads <= 2).toBe(true);
    const pool = value(families, 'threadline_pool_utilization_ratio');
    expect(pool >= 0 && pool <= 1).toBe(true);
    const heaps = family(families, 'threadline_worker_heap_used_bytes').metrics;
    expect(heaps.length).toBeGreaterThanOrEqual(1);
    for (const heap of heaps) {
      expect(heap.labels!.thread).toMatch(/^\d+$/);
      expect(Number(heap.value)).toBeGreaterThan(0);
    }
    const perThread = family(families, 'threadline_worker_utilization_ratio').metrics;
    expect(perThread.length).toBeGreaterThanOrEqual(1);
    expect(perThread.length).toBeLessThanOrEqual(2);
    for (const thread of perThread) expect(Number(thread.value) >= 0 && Number(thread.value) <= 1).toBe(true);

    // The schedule's next run, as the host's own list says it.
    const [schedule] = (await api.listSchedules()).schedules;
    expect(value(families, 'threadline_schedule_next_run_timestamp_seconds', { schedule: 'nightly' })).toBe(schedule!.nextRunAt! / 1000);
    await api.pauseSchedule({ name: 'nightly' });
    const paused = parsePrometheus((await httpRequest(port, `/metrics?token=${encodeURIComponent(token)}`)).body);
    expect(family(paused, 'threadline_schedule_next_run_timestamp_seconds').metrics).toEqual([]);
  });

  it('needs the token: 401 without it or with a wrong one; as a Bearer header it works', async () => {
    const { port, token } = await startServe();
    const without = await httpRequest(port, '/metrics');
    expect(without.status).toBe(401);
    expect(without.headers['www-authenticate']).toBe('Bearer realm="threadline"');
    expect(without.body).not.toContain('threadline_tasks');
    expect((await httpRequest(port, '/metrics?token=wrong')).status).toBe(401);
    expect((await httpRequest(port, '/metrics', { headers: { Authorization: 'Bearer wrong' } })).status).toBe(401);
    expect((await httpRequest(port, '/metrics', { headers: { Authorization: `Basic ${token}` } })).status).toBe(401);

    const bearer = await httpRequest(port, '/metrics', { headers: { Authorization: `Bearer ${token}` } });
    expect(bearer.status).toBe(200);
    expect(family(parsePrometheus(bearer.body), 'threadline_tasks_queued').type).toBe('GAUGE');
    expect((await httpRequest(port, `/metrics?token=${encodeURIComponent(token)}`, { method: 'POST' })).status).toBe(405);
  });
});
