import { Command, CommanderError } from 'commander';
import { ThreadlineError } from '../engine/errors.js';
import { listJobs } from './jobs-command.js';
import { nonNegativeInt, positiveInt } from './options.js';
import { resumeJobs, runJobFile, type Output } from './run-command.js';

const io: Output = {
  out: (text) => process.stdout.write(`${text}\n`),
  err: (text) => process.stderr.write(`${text}\n`),
};

function dataDirOption(command: Command): Command {
  return command.option('--data-dir <dir>', 'where the job store lives (default: the per-user app data folder, or $THREADLINE_DATA_DIR)');
}

function engineOptions(command: Command): Command {
  return dataDirOption(command)
    .option('--workers <n>', 'threads in the worker pool (default: one per CPU core)', positiveInt('--workers'))
    .option('--grace <ms>', 'how long a cancelled task may take to stop before its thread is ended', nonNegativeInt('--grace'), 2000);
}

export function buildProgram(setExitCode: (code: number) => void): Command {
  const program = new Command('threadline')
    .description('Run batches of synchronous work on a worker pool, watch them live, cancel anything.')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  engineOptions(program.command('run').argument('<jobfile>', 'a JSON or YAML job file'))
    .description('run a job file to the end')
    .option('--json', 'print the result as JSON on stdout')
    .addHelpText('after', '\nExamples:\n  threadline run examples/demo.yaml\n  threadline run nightly.json --workers 4 --json > result.json\n\nExit status: 0 every task succeeded, 1 a task failed, was cancelled or timed out, 2 invalid input.')
    .action(async (file: string, options) => setExitCode(await runJobFile(file, options, io)));

  dataDirOption(program.command('jobs'))
    .description('list the job history')
    .option('--json', 'print the jobs as JSON')
    .option('--limit <n>', 'how many of the newest jobs', positiveInt('--limit'), 50)
    .addHelpText('after', '\nExamples:\n  threadline jobs\n  threadline jobs --data-dir ./data --json')
    .action((options) => setExitCode(listJobs(options, io)));

  engineOptions(program.command('resume'))
    .description('run the unfinished tasks of interrupted jobs to the end')
    .option('--json', 'print the results as JSON')
    .addHelpText('after', '\nA job is interrupted when its process died or was stopped while it ran.\n\nExample:\n  threadline resume --data-dir ./data')
    .action(async (options) => setExitCode(await resumeJobs(options, io)));

  return program;
}

/** Runs the CLI; resolves with the process exit code. Errors a person caused print one line. */
export async function main(argv: string[]): Promise<number> {
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
    if (error instanceof ThreadlineError) {
      io.err(`threadline: ${error.message}`);
      return error.exitCode;
    }
    throw error;
  }
}
