/** Exit codes of the CLI: a setting or the environment is wrong (fix the config), or something failed at run time. */
export const EXIT_CONFIG = 2;
export const EXIT_RUNTIME = 1;
export type ExitCode = typeof EXIT_CONFIG | typeof EXIT_RUNTIME;

/**
 * A failure the operator must act on (a setting, a model file, the machine) — never a client's
 * answer. It says itself which one line to print and how the process ends, so the CLI reports it
 * without importing the module that threw it (and what that module loads).
 */
export class OperatorError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT_RUNTIME,
  ) {
    super(message);
    this.name = "OperatorError";
  }

  /** The one line to print (the message by default). */
  operatorLine(): string {
    return this.message;
  }
}
