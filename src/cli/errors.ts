import { access, constants, mkdir, stat } from "node:fs/promises";
import { dirname } from "node:path";
import { ConfigError } from "../config/index.ts";
import { EXIT_CONFIG, EXIT_RUNTIME, type ExitCode, OperatorError } from "../core/index.ts";

export { EXIT_CONFIG, EXIT_RUNTIME };

/** A startup failure whose message is already the one line to print. */
export class StartupError extends OperatorError {
  constructor(message: string, exitCode: ExitCode = EXIT_RUNTIME) {
    super(message, exitCode);
    this.name = "StartupError";
  }
}

/** One line: the first line of a message, without trailing punctuation noise. */
function oneLine(message: string): string {
  return (
    message
      .split("\n")
      .map((line) => line.trim())
      .find((line) => line !== "") ?? ""
  );
}

/** What ends the process: one line per problem (a configuration may have several), and the exit code. */
export interface Failure {
  lines: string[];
  exitCode: number;
}

/**
 * The lines to print for an error that ends the process, and the exit code: 2 for settings or the
 * environment (a line per wrong setting, naming it and what to do), 1 for failures at run time (one line).
 */
export function describeFailure(error: unknown): Failure {
  if (error instanceof ConfigError) return { lines: error.problems.map(oneLine), exitCode: EXIT_CONFIG };
  const { line, exitCode } = describeOther(error);
  return { lines: [line], exitCode };
}

function describeOther(error: unknown): { line: string; exitCode: number } {
  if (error instanceof OperatorError) return { line: oneLine(error.operatorLine()), exitCode: error.exitCode };
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && code.startsWith("ERR_PARSE_ARGS")) {
    const ambiguous = /Option '(-[\w-]+)' argument is ambiguous/.exec((error as Error).message)?.[1];
    if (ambiguous)
      return {
        line: `${ambiguous} needs a value; one starting with "-" is written ${ambiguous}=-… (openscope --help lists the options)`,
        exitCode: EXIT_CONFIG,
      };
    const message = oneLine((error as Error).message).replace(/ To specify .*$/, "");
    return { line: `${message} (openscope --help lists the options)`, exitCode: EXIT_CONFIG };
  }
  const message = error instanceof Error ? oneLine(error.message) : String(error);
  return { line: `startup failed: ${message}${typeof code === "string" && !message.includes(code) ? ` (${code})` : ""}`, exitCode: EXIT_RUNTIME };
}

/** Why a directory cannot be used, in plain words: the ancestor that is a file, permissions, a read-only disk. */
async function directoryProblem(path: string, error: NodeJS.ErrnoException): Promise<string> {
  switch (error.code) {
    case "ENOTDIR":
    case "EEXIST": {
      for (let dir = path; ; dir = dirname(dir)) {
        const info = await stat(dir).catch(() => undefined);
        if (info && !info.isDirectory()) return dir === path ? "it is a file, not a directory" : `${dir} is a file, not a directory`;
        if (dirname(dir) === dir) break;
      }
      return "a part of the path is not a directory";
    }
    case "EACCES":
    case "EPERM":
      return "permission denied for the server's user";
    case "EROFS":
      return "the file system is read-only";
    case "ENOSPC":
      return "the disk is full";
    default:
      return oneLine(error.message);
  }
}

/**
 * Creates a directory the server writes to (with its parents) and checks that it can write there;
 * a ConfigError naming the setting otherwise (`data_dir` under a regular file, no permission, …).
 */
export async function prepareDirectory(path: string, setting: string, what: string): Promise<void> {
  try {
    await mkdir(path, { recursive: true });
    await access(path, constants.W_OK | constants.X_OK);
  } catch (error) {
    const problem = await directoryProblem(path, error as NodeJS.ErrnoException);
    throw new ConfigError(`${setting} ${path} cannot hold ${what}: ${problem}. Set ${setting} to a directory this user can write`);
  }
}
