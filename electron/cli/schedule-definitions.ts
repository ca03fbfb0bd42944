import type { Command } from 'commander';
import type { ScheduleCommandOptions } from './schedule-command.js';
import type { Output } from './run-command.js';

// The commands' arguments, options and help; what they do (the store, the API client, cron
// parsing) loads only when one runs, so that starting another command does not pay for it.

/** Registers `threadline schedule` and its subcommands. */
export function registerScheduleCommands(
  program: Command,
  dataDirOption: (command: Command) => Command,
  setExitCode: (code: number) => void,
  io: Output,
): void {
  const schedule = program
    .command('schedule')
    .description('jobs that run by themselves: add, list, pause, resume or remove schedules')
    .addHelpText(
      'after',
      [
        '',
        'A job file with a "schedule" field ({ cron, timezone?, catchUp?, overlap? }) becomes a schedule. The',
        '"threadline serve" or desktop app running on the data directory runs it when it is due; these',
        'commands reach that host, or the store directly when none runs.',
        '',
        'Examples:',
        '  threadline schedule add examples/nightly.yaml',
        '  threadline schedule list',
        '  threadline schedule pause nightly',
        '  threadline schedule remove nightly',
      ].join('\n'),
    );

  dataDirOption(schedule.command('add').argument('<jobfile>', 'a JSON or YAML job file with a "schedule" field'))
    .description('add the job as a schedule, or replace the schedule of the same name')
    .option('--json', 'print the schedule as JSON')
    .addHelpText('after', '\nExit status: 0 added or replaced, 2 invalid job file (an invalid cron expression included) or no host reachable.')
    .action(async (file: string, options: ScheduleCommandOptions) => setExitCode(await (await import('./schedule-command.js')).addSchedule(file, options, io)));

  dataDirOption(schedule.command('list'))
    .description('list the schedules: cron, time zone, next run, last run and its outcome')
    .option('--json', 'print the schedules as JSON')
    .action(async (options: ScheduleCommandOptions) => setExitCode(await (await import('./schedule-command.js')).listSchedules(options, io)));

  dataDirOption(schedule.command('remove').argument('<name>', 'the schedule (its job\'s name)'))
    .description('remove a schedule (the jobs it ran stay in the history)')
    .addHelpText('after', '\nExit status: 0 removed, 2 no such schedule.')
    .action(async (name: string, options: ScheduleCommandOptions) => setExitCode(await (await import('./schedule-command.js')).removeSchedule(name, options, io)));

  dataDirOption(schedule.command('pause').argument('<name>', 'the schedule'))
    .description('stop running a schedule until it is resumed')
    .action(async (name: string, options: ScheduleCommandOptions) => setExitCode(await (await import('./schedule-command.js')).setPaused(name, true, options, io)));

  dataDirOption(schedule.command('resume').argument('<name>', 'the schedule'))
    .description('run a paused schedule again from its next due time (what fell due while paused is not caught up)')
    .action(async (name: string, options: ScheduleCommandOptions) => setExitCode(await (await import('./schedule-command.js')).setPaused(name, false, options, io)));
}
