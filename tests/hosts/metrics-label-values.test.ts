/**
 * The exposition stays valid whatever people name things: label values made of schedule names
 * with quotes, backslashes, newlines, carriage returns, unicode and direction overrides, checked
 * line by line against the text format's grammar (written out here: the npm parser at hand is
 * lenient) and read back with that parser. Series follow what exists: job names are no label,
 * and a removed schedule's series go with it.
 */
import parsePrometheus from 'parse-prometheus-text-format';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../electron/hosts/metrics.js';
import { Scheduler } from '../../electron/schedules/scheduler.js';
import { jobSpec, makeEngine, onCleanup, waitFor } from '../support/engine-fixture.js';

const HOSTILE_NAMES = [
  'quote " inside',
  'back\\slash',
  'trailing backslash \\',
  'new\nline',
  'a literal \\n, not a newline',
  'carriage\rreturn',
  '} = , "{',
  '# HELP threadline_tasks_total forged',
  'ünïcødé 名前 🚀',
  '\u202Egnp.exe',
  'tab\there',
];

// The text format (version 0.0.4), as Prometheus reads it.
const METRIC_NAME = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const LABEL = `[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\\\\n]|\\\\[\\\\"n])*"`;
const VALUE = '(?:[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]?Inf|NaN)';
const SAMPLE_LINE = new RegExp(`^(${METRIC_NAME})(?:\\{(${LABEL}(?:,${LABEL})*,?)?\\})? ${VALUE}(?: -?\\d+)?$`);
const HELP_LINE = new RegExp(`^# HELP ${METRIC_NAME} (?:[^\\\\\\n]|\\\\[\\\\n])*$`);
const TYPE_LINE = new RegExp(`^# TYPE ${METRIC_NAME} (?:counter|gauge|histogram|summary|untyped)$`);

/** Every line of the exposition that breaks the grammar (none, for a valid one). */
function invalidLines(text: string): string[] {
  expect(text.endsWith('\n')).toBe(true);
  return text
    .slice(0, -1)
    .split('\n')
    .filter((line) => line !== '' && !SAMPLE_LINE.test(line) && !HELP_LINE.test(line) && !TYPE_LINE.test(line));
}

/** The values of one label over the samples of one metric, unescaped as the format says. */
function labelValues(text: string, metric: string, label: string): string[] {
  const values: string[] = [];
  const pattern = new RegExp(`[{,]${label}="((?:[^"\\\\\\n]|\\\\[\\\\"n])*)"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const match = pattern.exec(line);
    if (match) values.push(match[1]!.replace(/\\(["\\n])/g, (_, c: string) => (c === 'n' ? '\n' : c)));
  }
  return values;
}

function setUp() {
  const engine = makeEngine({ poolSize: 1 });
  const scheduler = new Scheduler({ engine, log: () => undefined });
  const metrics = createMetrics(engine, scheduler);
  onCleanup(async () => {
    metrics.close();
    await scheduler.stop();
  });
  return { engine, scheduler, metrics };
}

const scheduled = (name: string) => jobSpec([{ id: 'a', kind: 'demo.echo', value: 1 }], { name, schedule: { cron: '0 3 * * *' } });

describe('label values from what people name things', () => {
  it('are escaped so that every line keeps to the text format, and read back as written', async () => {
    const { scheduler, metrics } = setUp();
    for (const name of HOSTILE_NAMES) {
      await scheduler.add(scheduled(name), 'hostile.yaml', '/');
      expect((await scheduler.runNow(name)).outcome).toBe('started');
    }
    const text = await metrics.render();
    expect(invalidLines(text)).toEqual([]);
    const sorted = [...HOSTILE_NAMES].sort();
    expect(labelValues(text, 'threadline_schedule_next_run_timestamp_seconds', 'schedule').sort()).toEqual(sorted);
    expect(labelValues(text, 'threadline_schedule_runs_total', 'schedule').sort()).toEqual(sorted);
    // A forged line inside a label value stays inside it: one HELP line per metric.
    expect(text.split('\n').filter((line) => line.startsWith('# HELP threadline_tasks_total'))).toHaveLength(1);

    const families = parsePrometheus(text);
    const runs = families.find((f) => f.name === 'threadline_schedule_runs_total')!;
    expect(runs.metrics.map((m) => m.labels!.schedule).sort()).toEqual(sorted);
  });

  it('stay valid under concurrent scrapes: twenty at once give the same valid text', async () => {
    const { scheduler, metrics } = setUp();
    for (const name of HOSTILE_NAMES) await scheduler.add(scheduled(name), 'hostile.yaml', '/');
    const texts = await Promise.all(Array.from({ length: 20 }, () => metrics.render()));
    const withoutProcessFigures = (text: string) => text.split('\n').filter((line) => !/^threadline_(process|event_loop)_/.test(line)).join('\n');
    for (const text of texts) {
      expect(invalidLines(text)).toEqual([]);
      expect(withoutProcessFigures(text)).toBe(withoutProcessFigures(texts[0]!));
    }
  });
});

describe('how many series there are', () => {
  it('does not grow with the names of jobs: three hundred differently named jobs add no series', async () => {
    const { engine, metrics } = setUp();
    // Each series by its name and labels; the pool threads' gauges come and go with telemetry samples, by thread.
    const seriesCount = async () =>
      new Set(
        (await metrics.render())
          .split('\n')
          .filter((line) => line !== '' && !line.startsWith('#') && !line.startsWith('threadline_worker_'))
          .map((line) => line.slice(0, line.lastIndexOf(' '))),
      );
    const first = await engine.submitJob(jobSpec([{ id: 'a', kind: 'demo.echo', value: 1 }], { name: 'job-0' }), '/');
    await waitFor(() => engine.job(first.id)?.state === 'succeeded', 20_000, 'the first job');
    const before = await seriesCount();
    const ids: string[] = [];
    for (let n = 1; n <= 300; n++) ids.push((await engine.submitJob(jobSpec([{ id: 'a', kind: 'demo.echo', value: n }], { name: `job-${n}-${'x'.repeat(150)}` }), '/')).id);
    await waitFor(() => ids.every((id) => engine.job(id)?.state === 'succeeded'), 60_000, 'three hundred jobs');
    const after = await seriesCount();
    expect([...after].filter((series) => !before.has(series))).toEqual([]);
    expect(after.size).toBe(before.size);
  });

  it('drops a removed schedule’s series, so that adding and removing names cannot grow the scrape for ever', async () => {
    const { scheduler, metrics } = setUp();
    await scheduler.add(scheduled('kept'), 'kept.yaml', '/');
    await scheduler.runNow('kept');
    for (let n = 0; n < 50; n++) {
      await scheduler.add(scheduled(`passing-${n}`), 'passing.yaml', '/');
      await scheduler.runNow(`passing-${n}`);
      await scheduler.runNow(`passing-${n}`);
      expect(await scheduler.remove(`passing-${n}`)).toBe(true);
    }
    const text = await metrics.render();
    expect(labelValues(text, 'threadline_schedule_runs_total', 'schedule')).toEqual(['kept']);
    expect(labelValues(text, 'threadline_schedule_next_run_timestamp_seconds', 'schedule')).toEqual(['kept']);
  });
});
