import type { JobRecord, TaskAttempt, TaskLogLine, TaskRecord } from '../../contract/records.js';
import type { TelemetrySample } from '../../contract/telemetry.js';

/** One event of the Chrome Trace Event format (JSON object form), as Perfetto and chrome://tracing read it. */
export interface TraceEvent {
  name: string;
  ph: 'X' | 'b' | 'e' | 'C' | 'M' | 'i';
  /** Microseconds since the job was created. */
  ts: number;
  pid: number;
  tid: number;
  dur?: number;
  cat?: string;
  id?: string;
  s?: 'g' | 'p' | 't';
  args?: Record<string, unknown>;
}

export interface TraceFile {
  traceEvents: TraceEvent[];
  displayTimeUnit: 'ms';
  otherData: Record<string, string | number>;
}

export interface TraceInput {
  job: JobRecord;
  tasks: TaskRecord[];
  /** Attempts by task id. */
  attempts: Map<string, TaskAttempt[]>;
  /** Stored log lines by task id: instant events on the track of the attempt that wrote them. */
  logs?: Map<string, TaskLogLine[]>;
  /** Telemetry samples of the process that ran the job, when there are any. */
  telemetry?: TelemetrySample[];
  /** What "still running" ends at; default: now. */
  now?: number;
}

const PID = 1;
const LOOP = 'loop';
const MB = 1024 * 1024;

interface Slice {
  task: TaskRecord;
  attempt: TaskAttempt;
  start: number;
  end: number;
}

/**
 * A job's history as a Chrome trace: one track per worker thread plus one for the event loop
 * (loop tasks run concurrently, so overlapping ones get extra loop lanes), one slice per
 * attempt, each attempt's queue wait as an async slice, and counter tracks: queued and running
 * tasks from the job itself, memory and loop delay from telemetry when it is given.
 */
export function buildTrace(input: TraceInput): TraceFile {
  const { job, tasks, attempts } = input;
  const t0 = job.createdAt;
  const now = input.now ?? Date.now();
  const us = (ms: number) => round(Math.max(0, (ms - t0) * 1000), 3);
  const events: TraceEvent[] = [];

  const slices: Slice[] = [];
  const waits: Array<{ task: TaskRecord; attempt: number | null; start: number; end: number; outcome: string }> = [];
  let jobEnd = job.finishedAt ?? t0;
  for (const task of tasks) {
    const list = attempts.get(task.id) ?? [];
    list.forEach((attempt, index) => {
      const end = attempt.finishedAt ?? (job.finishedAt ?? now);
      slices.push({ task, attempt, start: attempt.startedAt, end: Math.max(attempt.startedAt, end) });
      const waitStart = index > 0 ? list[index - 1]!.finishedAt ?? attempt.startedAt : list.length === 1 ? task.queuedAt : t0;
      if (waitStart < attempt.startedAt) waits.push({ task, attempt: attempt.attempt, start: waitStart, end: attempt.startedAt, outcome: 'started' });
      jobEnd = Math.max(jobEnd, end);
    });
    if (list.length === 0) {
      // Never started: cancelled or skipped while it waited, or still waiting.
      const end = task.finishedAt ?? (job.finishedAt ?? now);
      waits.push({ task, attempt: null, start: task.queuedAt, end: Math.max(task.queuedAt, end), outcome: task.state });
      jobEnd = Math.max(jobEnd, end);
    }
  }

  // Tracks: the loop first, then worker threads in the order they first ran something.
  slices.sort((a, b) => a.start - b.start || a.end - b.end);
  let nextTid = 1;
  const loopTid = nextTid++;
  const names: Array<{ tid: number; name: string }> = [{ tid: loopTid, name: trackName(LOOP, 0) }];
  // An attempt that names no worker has a track of its own: every string is some worker's name.
  const lanes = new Map<string | null, Array<{ tid: number; freeAt: number }>>([[LOOP, [{ tid: loopTid, freeAt: -Infinity }]]]);
  const trackOf = (worker: string | null): Array<{ tid: number; freeAt: number }> => {
    let list = lanes.get(worker);
    if (!list) lanes.set(worker, (list = []));
    return list;
  };
  const tidFor = (slice: Slice): number => {
    const worker = slice.attempt.worker;
    const list = trackOf(worker);
    let lane = list.find((l) => l.freeAt <= slice.start);
    if (!lane) {
      lane = { tid: nextTid++, freeAt: 0 };
      names.push({ tid: lane.tid, name: trackName(worker, list.length) });
      list.push(lane);
    }
    lane.freeAt = slice.end;
    return lane.tid;
  };

  const tidOfAttempt = new Map<string, number>();
  for (const slice of slices) {
    const tid = tidFor(slice);
    tidOfAttempt.set(`${slice.task.key}#${slice.attempt.attempt}`, tid);
    const args: Record<string, unknown> = {
      task: slice.task.key,
      kind: slice.task.kind,
      attempt: slice.attempt.attempt,
      state: slice.attempt.state,
      worker: slice.attempt.worker,
    };
    if (slice.attempt.finishedAt === null) args.unfinished = true;
    if (slice.attempt.state !== 'succeeded' && slice.task.error && slice.attempt.attempt === slice.task.attempts) args.error = `${slice.task.error.code}: ${slice.task.error.message}`;
    events.push({ name: slice.task.id, cat: slice.task.kind, ph: 'X', ts: us(slice.start), dur: round((slice.end - slice.start) * 1000, 3), pid: PID, tid, args });
  }

  for (const wait of waits) {
    const id = `${wait.task.key}#${wait.attempt ?? 'never'}`;
    const tid = tidOfAttempt.get(id) ?? loopTid;
    const args = { task: wait.task.key, attempt: wait.attempt, waitedMs: round(wait.end - wait.start, 3), outcome: wait.outcome, dependsOn: wait.task.dependsOn };
    events.push({ name: `queued ${wait.task.id}`, cat: 'queue', ph: 'b', id, ts: us(wait.start), pid: PID, tid, args });
    events.push({ name: `queued ${wait.task.id}`, cat: 'queue', ph: 'e', id, ts: us(wait.end), pid: PID, tid });
  }

  events.push(...logInstants(input.logs, slices, tidOfAttempt, us, loopTid));
  events.push(...taskCounters(slices, waits, us, loopTid));
  events.push(...telemetryCounters(input.telemetry ?? [], t0, jobEnd, us, loopTid));

  const metadata: TraceEvent[] = [
    { name: 'process_name', ph: 'M', ts: 0, pid: PID, tid: 0, args: { name: `Threadline job ${job.name} (${job.id})` } },
    ...names.flatMap(({ tid, name }): TraceEvent[] => [
      { name: 'thread_name', ph: 'M', ts: 0, pid: PID, tid, args: { name } },
      { name: 'thread_sort_index', ph: 'M', ts: 0, pid: PID, tid, args: { sort_index: tid } },
    ]),
  ];
  return {
    traceEvents: [...metadata, ...events],
    displayTimeUnit: 'ms',
    otherData: {
      job: job.id,
      name: job.name,
      state: job.state,
      createdAt: new Date(t0).toISOString(),
      timeOrigin: 'ts 0 is the moment the job was created',
    },
  };
}

/** Names cannot be mixed up: a remote machine is never called `loop` or `w<digits>` (`contract/machine-names.ts`). */
function trackName(worker: string | null, lane: number): string {
  const base = worker === null ? 'unknown worker' : worker === LOOP ? 'event loop' : /^w\d+$/.test(worker) ? `worker thread ${worker.slice(1)}` : `worker ${worker}`;
  return lane === 0 ? base : `${base} (concurrent ${lane + 1})`;
}

/** Each log line as an instant event, on the track of the attempt running when it was written. */
function logInstants(
  logs: Map<string, TaskLogLine[]> | undefined,
  slices: Slice[],
  tidOfAttempt: Map<string, number>,
  us: (ms: number) => number,
  loopTid: number,
): TraceEvent[] {
  if (!logs) return [];
  const slicesOf = new Map<string, Slice[]>();
  for (const slice of slices) {
    const list = slicesOf.get(slice.task.id) ?? [];
    list.push(slice);
    slicesOf.set(slice.task.id, list);
  }
  const events: TraceEvent[] = [];
  for (const [taskId, lines] of logs) {
    const own = slicesOf.get(taskId) ?? [];
    for (const line of lines) {
      const slice = own.find((s) => s.start <= line.at && line.at <= s.end) ?? own.at(-1);
      const tid = slice ? tidOfAttempt.get(`${slice.task.key}#${slice.attempt.attempt}`) ?? loopTid : loopTid;
      const name = line.message.length <= 60 ? line.message : `${line.message.slice(0, 59)}…`;
      events.push({ name, cat: `log.${line.level}`, ph: 'i', s: 't', ts: us(line.at), pid: PID, tid, args: { task: line.taskKey, level: line.level, message: line.message } });
    }
  }
  return events;
}

/** Queued and running task counts over time, from the job's own intervals. */
function taskCounters(
  slices: Slice[],
  waits: Array<{ start: number; end: number }>,
  us: (ms: number) => number,
  tid: number,
): TraceEvent[] {
  const changes: Array<{ at: number; queued: number; running: number }> = [];
  for (const w of waits) changes.push({ at: w.start, queued: 1, running: 0 }, { at: w.end, queued: -1, running: 0 });
  for (const s of slices) changes.push({ at: s.start, queued: 0, running: 1 }, { at: s.end, queued: 0, running: -1 });
  changes.sort((a, b) => a.at - b.at);
  const events: TraceEvent[] = [];
  let queued = 0;
  let running = 0;
  for (let i = 0; i < changes.length; i++) {
    const change = changes[i]!;
    queued += change.queued;
    running += change.running;
    // One point per instant: the state after every change at that time.
    if (i + 1 < changes.length && changes[i + 1]!.at === change.at) continue;
    events.push({ name: 'tasks', ph: 'C', ts: us(change.at), pid: PID, tid, args: { queued, running } });
  }
  return events;
}

function telemetryCounters(samples: TelemetrySample[], from: number, to: number, us: (ms: number) => number, tid: number): TraceEvent[] {
  const events: TraceEvent[] = [];
  for (const s of samples) {
    if (s.at < from || s.at > to) continue;
    const ts = us(s.at);
    events.push({ name: 'memory (MB)', ph: 'C', ts, pid: PID, tid, args: { rss: round(s.memory.rss / MB), heapUsed: round(s.memory.heapUsed / MB) } });
    events.push({ name: 'loop delay (ms)', ph: 'C', ts, pid: PID, tid, args: { p50: round(s.loop.delayP50Ms), p99: round(s.loop.delayP99Ms), max: round(s.loop.delayMaxMs) } });
    const workers: Record<string, number> = {};
    for (const w of s.workers) if (w.heapUsed !== null) workers[`thread ${w.threadId}`] = round(w.heapUsed / MB);
    if (Object.keys(workers).length > 0) events.push({ name: 'worker heap (MB)', ph: 'C', ts, pid: PID, tid, args: workers });
  }
  return events;
}

function round(n: number, digits = 2): number {
  const scale = 10 ** digits;
  return Math.round(n * scale) / scale;
}
