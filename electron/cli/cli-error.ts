/** A problem with how the CLI was used or with its surroundings: printed as one line, no stack. */
export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    /** 2 for bad input or surroundings, 1 for an outcome that is not a success. */
    readonly exitCode: 1 | 2 = 2,
  ) {
    super(message);
  }
}
