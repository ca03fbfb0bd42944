/**
 * The Node options a thread of ours starts with: undefined (the process's own, as Node passes
 * them on) unless they hold `--input-type`, which Node refuses for any file a thread loads as an
 * ES module (a process started with `node --input-type=module -e ...` would otherwise start no
 * such thread at all); then the process's own less that one. A list given explicitly is checked
 * by Node, which refuses in it the options of a whole process (`--expose-gc`, for one), so it is
 * given only when it must be.
 */
export function threadExecArgv(): string[] | undefined {
  const from = process.execArgv;
  if (!from.some((arg) => arg === '--input-type' || arg.startsWith('--input-type='))) return undefined;
  const argv: string[] = [];
  for (let i = 0; i < from.length; i++) {
    if (from[i]!.startsWith('--input-type=')) continue;
    if (from[i] === '--input-type') {
      i++; // its value is the next argument
      continue;
    }
    argv.push(from[i]!);
  }
  return argv;
}
