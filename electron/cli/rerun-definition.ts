import type { Command } from 'commander';
import type { RerunCommandOptions } from './rerun-command.js';
import type { Output } from './run-command.js';

// The command's arguments, options and help; what it does (the engine, the API client) loads
// only when it runs, so that starting another command does not pay for it.

/** Adds `rerun` to the program; `engineOptions` adds the options every engine-running command takes. */
export function registerRerunCommand(program: Command, engineOptions: (command: Command) => Command, io: Output, setExitCode: (code: number) => void): void {
  engineOptions(program.command('rerun').argument('<jobId>', 'the job to run again ("threadline jobs" lists them)'))
    .description('run a job of the history again as a new job, or only its tasks that did not succeed')
    .option('--failed', 'only the tasks that did not succeed, and those that depend on them')
    .option('--json', 'print the result as JSON on stdout')
    .option('--no-progress', 'plain lines instead of the live display, even on a terminal')
    .addHelpText(
      'after',
      [
        '',
        'The new job is rebuilt from the store: the same name, settings, tasks, inputs and base folder.',
        'With --failed, a task that succeeded is not run again; a task depending on it finds that',
        'dependency met (it is left out of the new job). With a "threadline serve" or the desktop app running',
        'on the data directory, the job is submitted to it and shows in its dashboard; otherwise it runs here',
        'to the end.',
        '',
        'Examples:',
        '  threadline rerun j-lx2k9q-3f9a',
        '  threadline rerun j-lx2k9q-3f9a --failed --json > result.json',
        '',
        'Exit status: 0 every task succeeded (or nothing was left to re-run, or the serve took the job),',
        '1 a task failed, was cancelled or timed out, 2 no such job, or the job is still running (--failed).',
      ].join('\n'),
    )
    .action(async (jobId: string, options: RerunCommandOptions) => setExitCode(await (await import('./rerun-command.js')).rerunCommand(jobId, options, io)));
}
