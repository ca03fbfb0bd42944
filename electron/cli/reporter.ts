/** What follows a run on the terminal: its own lines, and the CLI's messages while it runs. */
export interface Reporter {
  /** A message of the CLI (a signal noticed, a job resumed), printed without tearing the display. */
  log(line: string): void;
  /** Stops following and leaves the terminal clean for what comes next. */
  stop(): void;
}
