/**
 * A reader that goes away (`threadline help run | head -3`) closes the pipe: writes then fail
 * with EPIPE, which Node raises as an unhandled error with a stack. A closed stdout ends the
 * CLI quietly, as it would a classic Unix tool; a closed stderr only silences progress.
 */
export function endQuietlyOnClosedPipes(exit: (code: number) => never = process.exit): void {
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') exit(typeof process.exitCode === 'number' ? process.exitCode : 0);
    throw error;
  });
  process.stderr.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
  });
}
