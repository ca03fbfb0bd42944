/**
 * A reader that goes away (`threadline help run | head -3`) closes the pipe: writes then fail
 * with EPIPE, which Node raises as an unhandled error with a stack. A closed stdout ends the
 * CLI quietly, as it would a classic Unix tool; a closed stderr only silences progress. Output
 * sent to a file on a full disk (ENOSPC) or a failing device ends it with one line on stderr
 * and exit 2, as an unwritable `-o` file does; a stderr that cannot be written is silent.
 */
export function endQuietlyOnClosedPipes(exit: (code: number) => never = process.exit): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    process.stderr.write(`threadline: cannot write the output: ${error.message}\n`);
    exit(2);
  });
  process.stderr.on('error', () => {});
}
