import { cpus } from 'node:os';
import type { HostNotice } from '../../contract/api.js';
import type { JobSpec } from '../../contract/job-spec.js';
import { findKind } from '../../contract/kinds/index.js';
import type { JobRecord, TaskLogLine } from '../../contract/records.js';
import { Engine } from '../engine/engine.js';
import { DEFAULTS } from '../engine/engine-options.js';
import { describeIssues, loadJobFile } from '../engine/job-file.js';
import { CliError } from './cli-error.js';
import type { NodeApiClient } from '../serve/node-api-client.js';
import { hostName, theHost } from '../serve/serve-info.js';
import { reachHost, type HostLink } from './host-link.js';
import { exitCodeOf, printOutcomes, type JobOutcome } from './job-output.js';
import { withRemoteWorkers } from '../remote/remote-workers-option.js';
import { dataDirOf, type EngineFlags } from './options.js';
import type { Reporter } from './reporter.js';
import { engineFeed, type RunFeed } from './run-feed.js';
import { onShutdownSignals, signalExitCode } from './shutdown-signals.js';
import { noticeLines } from './notice-lines.js';
import { isStoreNotice, stopOnStoreTrouble, storeTroubleLine } from './store-trouble.js';
import { oneLine } from './terminal-text.js';

// Following a job on a host (host-run.ts, the WebSocket client) loads only when a host owns the
// data directory: a run of its own does not pay for it at start.

export interface EngineRunOptions extends EngineFlags {
  json?: boolean;
  /** False to keep plain lines even on a terminal (`--no-progress`). */
  progress?: boolean;
}

export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** The terminal for live displays; absent when stderr is not a TTY. */
  terminal?: NodeJS.WriteStream;
}

/**
 * `threadline run <jobfile>`: runs one job to the end. Resolves with the exit code. When a
 * `threadline serve` or the desktop app owns the data directory, the job runs there (and shows
 * in its dashboard), followed from here the same way.
 */
export async function runJobFile(file: string, options: EngineRunOptions, io: Output): Promise<number> {
  // Refused here, with the same one-line messages, whether it would run here or on a host.
  const loaded = await loadJobFile(file);
  const host = await reachHost(dataDirOf(options));
  if (host) {
    const { onHost } = await import('./host-run.js');
    return driveOnHost(host, options, io, async (api, log) => {
      const submitted = await onHost(`${theHost(host.info)} refused the job`, (a) => a.submitJob({ text: loaded.text, fileName: file, baseDir: loaded.baseDir }), api);
      if (!submitted.ok) throw new CliError(describeIssues(file, submitted.issues));
      log(`running on ${theHost(host.info)} of this data directory as job ${submitted.job.id}`);
      if (options.workers !== undefined || options.redis !== undefined) log('(--workers and --redis apply to an engine of this process; the host keeps its own)');
      return [submitted.job];
    });
  }
  // A pool thread takes tens of milliseconds of a core to start: no more than the job can keep busy.
  const workers = options.workers ?? Math.max(1, Math.min(cpus().length, poolTasksOf(loaded.spec)));
  return drive({ ...options, workers }, io, async (engine) => [await engine.submitJob(loaded.spec, loaded.baseDir)]);
}

function poolTasksOf(spec: JobSpec): number {
  return spec.tasks.filter((task) => findKind(task.kind)?.executor === 'pool').length;
}

/** `threadline resume [jobId...]`: runs the unfinished tasks of interrupted jobs (those named, or all) to the end. */
export async function resumeJobs(jobIds: string[], options: EngineRunOptions, io: Output): Promise<number> {
  const named = jobIds.length > 0 ? jobIds : undefined;
  const announce = (jobs: JobRecord[], log: (line: string) => void) => {
    if (jobs.length === 0 && !options.json) io.err('no interrupted jobs to resume');
    for (const job of jobs) if (!options.json) log(`resuming ${oneLine(job.id)} (${oneLine(job.name)})`);
    return jobs;
  };
  const host = await reachHost(dataDirOf(options));
  if (host) {
    const { onHost } = await import('./host-run.js');
    return driveOnHost(host, options, io, async (api, log) => announce((await onHost('resume', (a) => a.resumeJobs(named ? { jobIds: named } : {}), api)).jobs, log));
  }
  return drive(options, io, (engine, log) => announce(engine.resumeInterrupted(named), log));
}

/** Runs jobs on an engine of this process, to the end or to a stop by a signal. */
export async function drive(options: EngineRunOptions, io: Output, start: (engine: Engine, log: (line: string) => void) => JobRecord[] | Promise<JobRecord[]>): Promise<number> {
  const engineOptions = {
    dataDir: dataDirOf(options),
    poolSize: options.workers || undefined,
    cancelGraceMs: options.grace,
    loopConcurrency: options.loopConcurrency,
    crashBudget: options.crashBudget,
    // A run that ends within its first checkpoint interval never starts the checkpoint thread.
    checkpointThreadDelayMs: DEFAULTS.checkpointIntervalMs,
    // Nor the pool's spare threads, unless its work waits behind busy threads.
    spareThreadsAhead: false,
  };
  const engine = new Engine(await withRemoteWorkers(engineOptions, options));
  const { feed, detach } = engineFeed(engine);
  const reporter = await attachReporter(feed, options, io);
  let stoppedBy: NodeJS.Signals | null = null;
  const removeSignals = onShutdownSignals(
    (signal) => {
      stoppedBy = signal;
      void engine.shutdown();
    },
    reporter.log,
    { beforeHardStop: () => reporter.stop() },
  );
  const storeTrouble = stopOnStoreTrouble(engine);
  // Other notices (remote workers refused while tasks wait for them) are said as `serve` says them; the store's stops the run instead.
  const noticeLog = noticeLines(reporter.log);
  const logNotices = (notices: HostNotice[]) => noticeLog(notices.filter((notice) => !isStoreNotice(notice)));
  engine.on('notices', logNotices);
  logNotices(engine.notices());
  try {
    const jobs = await start(engine, reporter.log);
    const finished = await Promise.all(jobs.map((job) => engine.waitForJob(job.id)));
    const outcomes: JobOutcome[] = finished.map((job) => {
      const tasks = engine.tasksOfJob(job.id);
      const logs = new Map<string, TaskLogLine[]>();
      for (const task of tasks) {
        const lines = engine.logsOf(task.key);
        if (lines.length > 0) logs.set(task.key, lines);
      }
      return { job, tasks, logs };
    });
    await engine.shutdown();
    // The live display owns the terminal until it stops; the results come after it.
    reporter.stop();
    const trouble = storeTrouble.notice();
    if (trouble) io.err(storeTroubleLine(trouble));
    await printOutcomes(outcomes, options.json, io);
    if (stoppedBy) return signalExitCode(stoppedBy);
    // What ran while the store could not record it is not a success yet.
    if (trouble) return 1;
    return outcomes.every(({ tasks }) => exitCodeOf(tasks) === 0) ? 0 : 1;
  } finally {
    reporter.stop();
    detach();
    removeSignals();
    // A run that failed already reports its own error: the store's trouble is not a second line.
    storeTrouble.detach();
    engine.off('notices', logNotices);
    await engine.shutdown();
  }
}

/**
 * Runs jobs on the host that owns the data directory and follows them from its event stream.
 * Ctrl-C cancels the jobs this command started there (a second one leaves them and exits).
 */
async function driveOnHost(
  { client, info }: HostLink,
  options: EngineRunOptions,
  io: Output,
  start: (api: NodeApiClient['api'], log: (line: string) => void) => Promise<JobRecord[]>,
): Promise<number> {
  const { HostJobWatch } = await import('./host-run.js');
  const watch = new HostJobWatch(client, hostName(info));
  const reporter = await attachReporter(watch.feed, options, io);
  let jobs: JobRecord[] = [];
  let stoppedBy: NodeJS.Signals | null = null;
  const removeSignals = onShutdownSignals(
    (signal) => {
      stoppedBy = signal;
      for (const job of jobs) client.api.cancelJob({ jobId: job.id }).catch(() => {});
    },
    reporter.log,
    { what: 'cancelling the job on the host', beforeHardStop: () => reporter.stop() },
  );
  try {
    jobs = await start(client.api, reporter.log);
    // A signal while the job was being submitted: it is cancelled as soon as it is known.
    if (stoppedBy) for (const job of jobs) await client.api.cancelJob({ jobId: job.id }).catch(() => {});
    const outcomes = await watch.follow(jobs);
    reporter.stop();
    await printOutcomes(outcomes, options.json, io);
    if (stoppedBy) return signalExitCode(stoppedBy);
    return outcomes.every(({ tasks }) => exitCodeOf(tasks) === 0) ? 0 : 1;
  } finally {
    watch.stop();
    reporter.stop();
    removeSignals();
    await client.close();
  }
}

/**
 * Live lines on a terminal, plain lines into pipes and logs, nothing besides `--json`. The
 * reporters are loaded only when they report: they measure text with string-width (task-table.ts).
 */
async function attachReporter(feed: RunFeed, options: EngineRunOptions, io: Output): Promise<Reporter> {
  if (options.json) return { log: io.err, stop: () => {} };
  if (io.terminal && options.progress !== false) return (await import('./progress-display.js')).attachProgressDisplay(feed, io.terminal);
  return (await import('./plain-reporter.js')).attachPlainReporter(feed, io.err);
}
