/**
 * The Node options a thread of ours starts with: the process's own, less `--input-type`, which
 * Node refuses for any file a thread loads as an ES module (a process started with
 * `node --input-type=module -e ...` would otherwise start no such thread at all).
 */
export function threadExecArgv(): string[] {
  const argv: string[] = [];
  const from = process.execArgv;
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
