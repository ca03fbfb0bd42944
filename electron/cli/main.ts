import { Command, CommanderError } from 'commander';
import { MACHINE_NAME_EXPECTED } from '../../contract/machine-names.js';
import { ThreadlineError } from '../engine/errors.js';
import { CliError } from './cli-error.js';
import { endQuietlyOnClosedPipes } from './closed-pipes.js';
import { hostAddress, MAX_TIMER_MS, MAX_WORKER_THREADS, nonNegativeInt, portNumber, positiveInt } from './options.js';
import { registerRerunCommand } from './rerun-definition.js';
import type { Output } from './run-command.js';
import { registerScheduleCommands } from './schedule-definitions.js';
import { terminalSafe } from './terminal-text.js';
import { threadlineVersion } from './version.js';

// A command's modules (the engine, the web server, ...) load when that command runs, so that
// starting one command does not pay for all of them.

const io: Output = {
  out: (text) => process.stdout.write(`${terminalSafe(text)}\n`),
  err: (text) => process.stderr.write(`${terminalSafe(text)}\n`),
  terminal: process.stderr.isTTY ? process.stderr : undefined,
};

function dataDirOption(command: Command): Command {
  return command.option('--data-dir <dir>', 'where the job store lives (default: the per-user app data folder, or $THREADLINE_DATA_DIR)');
}

function engineOptions(command: Command): Command {
  return dataDirOption(command)
    .option('--workers <n>', 'threads in the worker pool (default: one per CPU core, and for run no more than the job has sync tasks; 0 with --redis: none, every sync task runs on a remote worker)', nonNegativeInt('--workers', MAX_WORKER_THREADS))
    .option('--redis <url>', 'also run sync tasks on the "threadline worker"s of this Redis: redis://[user:password@]host[:port][/db], or rediss://')
    .option('--grace <ms>', 'how long a cancelled task may take to stop before its thread is ended', nonNegativeInt('--grace', MAX_TIMER_MS), 2000)
    .option('--loop-concurrency <n>', 'async tasks (http.fetch, demo.sleep) of jobs without a concurrency of their own running at once', positiveInt('--loop-concurrency'), 64)
    .option('--crash-budget <n>', 'crashes of the process a task may be running at before resume fails it (PROCESS_CRASHED)', positiveInt('--crash-budget'), 2);
}

export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('threadline')
    .description('Run batches of synchronous work on a worker pool, watch them live, cancel anything.')
    .showHelpAfterError('(run with --help for usage)')
    .version(threadlineVersion(), '-V, --version', 'print the version')
    .exitOverride()
    .addHelpText(
      'after',
      [
        '',
        'Examples:',
        '  threadline run examples/nightly.yaml       run a job file, with live progress',
        '  threadline serve                           the dashboard in a browser, on 127.0.0.1',
        '  threadline jobs --state failed             the job history, the failed jobs only',
        '  threadline show j-lx2k9q-3f9a              a job\'s tasks, results and logs',
        '  threadline cancel j-lx2k9q-3f9a            cancel a job on the running serve',
        '  threadline export-trace <jobId> -o t.json  a trace for Perfetto or chrome://tracing',
        '  threadline worker --redis redis://host     run tasks here for an orchestrator elsewhere',
        '',
        'Exit status: 0 success, 1 a task failed, was cancelled or timed out, 2 invalid input,',
        '130 stopped by Ctrl-C.',
        '',
        'Run "threadline <command> --help" for the options of a command.',
      ].join('\n'),
    );

  engineOptions(program.command('run').argument('<jobfile>', 'a JSON or YAML job file'))
    .description('run a job file to the end')
    .option('--json', 'print the result as JSON on stdout')
    .option('--no-progress', 'plain lines instead of the live display, even on a terminal')
    .addHelpText(
      'after',
      [
        '',
        'On a terminal a live display shows a line per running task, the running/queued/done counts and the',
        'event loop\'s delay; into a pipe or a file it prints plain lines. Warnings are printed as they come,',
        'and each task\'s result in a line at the end.',
        '',
        'When a "threadline serve" or the desktop app owns the data directory, the job runs there (and shows',
        'in its dashboard), followed live from here; Ctrl-C then cancels it there. Another --data-dir runs',
        'its own engine.',
        '',
        'Examples:',
        '  threadline run examples/sql-query.yaml',
        '  threadline run examples/file-hash.yaml --workers 4 --json > result.json',
        '',
        'Exit status: 0 every task succeeded, 1 a task failed, was cancelled or timed out, 2 invalid input,',
        '130 stopped by Ctrl-C (143 by SIGTERM).',
      ].join('\n'),
    )
    .action(async (file: string, options) => setExitCode(await (await import('./run-command.js')).runJobFile(file, options, io)));

  dataDirOption(program.command('jobs'))
    .description('list the job history')
    .option('--json', 'print the jobs as JSON')
    .option('--limit <n>', 'how many of the newest jobs', positiveInt('--limit'), 50)
    .option('--state <state>', 'only jobs in this state: running, succeeded, failed, cancelled or interrupted')
    .option('--name <text>', 'only jobs whose name contains this text (any case)')
    .addHelpText('after', '\nExamples:\n  threadline jobs\n  threadline jobs --state failed --name nightly --limit 5\n  threadline jobs --data-dir ./data --json')
    .action(async (options) => setExitCode(await (await import('./jobs-command.js')).listJobs(options, io)));

  dataDirOption(program.command('show').argument('<jobId>', 'the job to show ("threadline jobs" lists them)'))
    .description("a job's tasks: state, attempts, error, result and stored log lines")
    .option('--json', 'print the job as JSON')
    .addHelpText('after', '\nExamples:\n  threadline show j-lx2k9q-3f9a\n  threadline show j-lx2k9q-3f9a --json > job.json')
    .action(async (jobId: string, options) => setExitCode(await (await import('./show-command.js')).showJob(jobId, options, io)));

  engineOptions(program.command('resume').argument('[jobIds...]', 'the interrupted jobs to resume (default: every one)'))
    .description('run the unfinished tasks of interrupted jobs to the end')
    .option('--json', 'print the results as JSON')
    .option('--no-progress', 'plain lines instead of the live display, even on a terminal')
    .addHelpText(
      'after',
      [
        '',
        'A job is interrupted when its process died or was stopped while it ran. When a "threadline serve" or',
        'the desktop app owns the data directory, the jobs resume there, followed from here. A task that was',
        'running each time the process died (--crash-budget times) is not run again: it ends failed,',
        'PROCESS_CRASHED. Tasks that were running beside others at a crash run alone first, so that only the',
        'culprit is blamed.',
        '',
        'Examples:',
        '  threadline resume --data-dir ./data',
        '  threadline resume j-lx2k9q-3f9a',
        '',
        'Exit status: 0 every task succeeded, 1 a task failed, was cancelled or timed out, 2 invalid input,',
        '130 stopped by Ctrl-C.',
      ].join('\n'),
    )
    .action(async (jobIds: string[], options) => setExitCode(await (await import('./run-command.js')).resumeJobs(jobIds, options, io)));

  engineOptions(program.command('serve'))
    .description('run the engine with the dashboard and its API on a local web server')
    .option('--port <n>', 'the port (0 picks a free one)', portNumber, 0)
    .option('--host <address>', 'the address to bind; anything but loopback exposes the dashboard to the network', hostAddress, '127.0.0.1')
    .option('--web-root <dir>', 'the built dashboard (default: out/renderer of the Threadline folder)')
    .option('--token <token>', 'keep this token across runs, for bookmarks and scripts (default: $THREADLINE_TOKEN, else a new random one)')
    .addHelpText(
      'after',
      [
        '',
        'Prints one line, the URL to open: http://127.0.0.1:PORT/?token=TOKEN. The API (a WebSocket at /api)',
        'refuses any client without the token, and browsers of other origins. The token is new on every run',
        'unless --token or THREADLINE_TOKEN (16 to 200 of A-Z a-z 0-9 - _) keeps one. It writes serve.json (port,',
        'token, pid) into the data directory, so that "threadline cancel" can reach it, and removes it on exit.',
        'SIGINT or SIGTERM stop it gracefully: running tasks are asked to stop, the store is flushed.',
        '',
        'Examples:',
        '  threadline serve',
        '  threadline serve --port 8080 --workers 4 --data-dir ./data',
      ].join('\n'),
    )
    .action(async (options) => setExitCode(await (await import('./serve-command.js')).serveDashboard(options, io)));

  dataDirOption(program.command('cancel').argument('<jobId|taskKey>', 'a job id, or a task key "<jobId>:<taskId>"'))
    .description('cancel a job or a task on the "threadline serve" or desktop app running on the data directory, or an interrupted job')
    .option('--json', 'print the outcome as JSON')
    .addHelpText(
      'after',
      [
        '',
        'A queued task is removed at once; a running one is asked to stop, and its thread is ended after',
        'the grace period if it does not. With no serve running, an interrupted job is cancelled in the',
        'store: its unfinished tasks end cancelled.',
        '',
        'Examples:',
        '  threadline cancel j-lx2k9q-3f9a',
        '  threadline cancel j-lx2k9q-3f9a:resize-images --data-dir ./data',
        '',
        'Exit status: 0 asked to stop, 1 it had already ended, 2 no such job or task, or nothing to reach.',
      ].join('\n'),
    )
    .action(async (target: string, options) => setExitCode(await (await import('./cancel-command.js')).cancelJobOrTask(target, options, io)));

  dataDirOption(program.command('export-trace').argument('<jobId>', 'the job to export ("threadline jobs" lists them)'))
    .description('write a job\'s timeline as Chrome Trace Event JSON (Perfetto, chrome://tracing)')
    .option('-o, --output <file>', 'where to write the trace ("-" for stdout; default: <jobId>.trace.json)')
    .addHelpText(
      'after',
      [
        '',
        'One track per worker thread plus one for the event loop, a slice per attempt, each attempt\'s',
        'queue wait, counters of queued and running tasks, each stored log line as an instant event, and',
        'the memory and loop-delay telemetry the engine kept while the job ran.',
        '',
        'Examples:',
        '  threadline export-trace j-lx2k9q-3f9a -o trace.json',
        '  threadline export-trace j-lx2k9q-3f9a -o - | gzip > trace.json.gz',
      ].join('\n'),
    )
    .action(async (jobId: string, options) => setExitCode(await (await import('./export-trace-command.js')).exportTrace(jobId, options, io)));

  program
    .command('worker')
    .description('run tasks for orchestrators on other machines, taken from a queue on Redis')
    .requiredOption('--redis <url>', 'the Redis the orchestrator uses: redis://[user:password@]host[:port][/db], or rediss:// for TLS')
    .option('--workers <n>', 'threads in its pool, and tasks it runs at once (default: one per CPU core)', positiveInt('--workers', MAX_WORKER_THREADS))
    .option('--name <name>', `its name on the queue, unique among the workers; its threads are <name>/<n> in task records (default: the host name); ${MACHINE_NAME_EXPECTED}`)
    .option('--root <dir>', 'the folder task paths must stay in, e.g. a shared mount (default: the current folder)')
    .addHelpText(
      'after',
      [
        '',
        'Task paths arrive as the orchestrator resolved them, so the files must be at the same place on both',
        'machines (a shared mount); a path outside --root is refused. It runs only built-in kinds, and script',
        'modules under --root: whoever can write to the Redis server can hand it tasks. It announces itself',
        'every second; SIGTERM or Ctrl-C drain it (its running tasks end, then it exits 0), a second Ctrl-C',
        'stops it at once (its tasks then run on another worker).',
        '',
        'Example:',
        '  threadline worker --redis redis://queue-host:6379 --workers 8 --name build-07 --root /mnt/shared',
      ].join('\n'),
    )
    .action(async (options) => setExitCode(await (await import('./worker-command.js')).runWorker(options, io)));

  registerRerunCommand(program, engineOptions, io, setExitCode);
  registerScheduleCommands(program, dataDirOption, setExitCode, io);
  return program;
}

/** Runs the CLI; resolves with the process exit code. Errors a person caused print one line. */
export async function main(argv: string[]): Promise<number> {
  endQuietlyOnClosedPipes();
  let code = 0;
  const program = buildProgram((c) => (code = c));
  try {
    await program.parseAsync(argv, { from: 'user' });
    return code;
  } catch (error) {
    if (error instanceof CommanderError) {
      // Help and version print and succeed; usage errors were printed by commander.
      return error.exitCode === 0 ? 0 : 2;
    }
    if (error instanceof ThreadlineError || error instanceof CliError) {
      // A refusal of several problems is several lines, each one prefixed.
      for (const line of error.message.split('\n')) io.err(`threadline: ${line}`);
      return error.exitCode;
    }
    throw error;
  }
}
