import type { JobRecord } from '../../contract/records.js';
import { Engine } from '../engine/engine.js';
import { loadJobFile } from '../engine/job-file.js';
import { exitCodeOf, jobJson } from './job-output.js';
import { dataDirOf } from './options.js';
import { attachPlainReporter } from './plain-reporter.js';
import { attachProgressDisplay } from './progress-display.js';
import { onShutdownSignals } from './shutdown-signals.js';
import { stopOnStoreTrouble, storeTroubleLine } from './store-trouble.js';
import { taskTable } from './task-table.js';

export interface EngineRunOptions {
  dataDir?: string;
  workers?: number;
  grace?: number;
  loopConcurrency?: number;
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

/** `threadline run <jobfile>`: runs one job to the end. Resolves with the exit code. */
export async function runJobFile(file: string, options: EngineRunOptions, io: Output): Promise<number> {
  const { spec, baseDir } = await loadJobFile(file);
  return drive(options, io, async (engine) => [await engine.submitJob(spec, baseDir)]);
}

/** `threadline resume`: runs every unfinished task of interrupted jobs to the end. */
export async function resumeJobs(options: EngineRunOptions, io: Output): Promise<number> {
  return drive(options, io, (engine) => {
    const jobs = engine.resumeInterrupted();
    if (jobs.length === 0 && !options.json) io.err('no interrupted jobs to resume');
    for (const job of jobs) if (!options.json) io.err(`resuming ${job.id} (${job.name})`);
    return jobs;
  });
}

/** Runs the jobs `start` submits or resumes on an engine of its own, reports them, and resolves with the exit code. */
export async function drive(options: EngineRunOptions, io: Output, start: (engine: Engine) => JobRecord[] | Promise<JobRecord[]>): Promise<number> {
  const engine = new Engine({ dataDir: dataDirOf(options), poolSize: options.workers, cancelGraceMs: options.grace, loopConcurrency: options.loopConcurrency });
  let detach: (() => void) | null = attachReporter(engine, options, io);
  const stopReporting = () => {
    detach?.();
    detach = null;
  };
  const removeSignals = onShutdownSignals(() => void engine.shutdown(), io.err);
  const storeTrouble = stopOnStoreTrouble(engine);
  try {
    const jobs = await start(engine);
    const finished = await Promise.all(jobs.map((job) => engine.waitForJob(job.id)));
    const results = finished.map((job) => ({ job, tasks: engine.tasksOfJob(job.id) }));
    await engine.shutdown();
    // The live display owns the terminal until it stops; the results come after it.
    stopReporting();
    const trouble = storeTrouble.notice();
    if (trouble) io.err(storeTroubleLine(trouble));
    if (options.json) {
      const payload = results.map(({ job, tasks }) => jobJson(job, tasks));
      io.out(JSON.stringify(payload.length === 1 ? payload[0] : payload, null, 2));
    } else {
      for (const { job, tasks } of results) {
        io.out(`\njob ${job.id} (${job.name}): ${job.state}\n${taskTable(tasks)}`);
        if (job.state === 'interrupted') io.out(`run "threadline resume" to finish it`);
      }
    }
    // What ran while the store could not record it is not a success yet.
    if (trouble) return 1;
    return results.every(({ tasks }) => exitCodeOf(tasks) === 0) ? 0 : 1;
  } finally {
    stopReporting();
    removeSignals();
    // A run that failed already reports its own error: the store's trouble is not a second line.
    storeTrouble.detach();
    await engine.shutdown();
  }
}

/** Live bars on a terminal, plain lines into pipes and logs, nothing besides `--json`. */
function attachReporter(engine: Engine, options: EngineRunOptions, io: Output): () => void {
  if (options.json) return () => {};
  if (io.terminal && options.progress !== false) return attachProgressDisplay(engine, io.terminal);
  return attachPlainReporter(engine, io.err);
}
