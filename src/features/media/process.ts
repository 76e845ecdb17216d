/**
 * Spawn helper for ffmpeg / ffprobe: no shell, argv array, hard timeout (SIGKILL),
 * bounded stdout, stderr captured for error messages.
 */
import { type ChildProcessByStdio, spawn } from "node:child_process";
import type { Readable } from "node:stream";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ApiError, errors, RegisteredError } from "../../core/index.ts";

/** ffmpeg or ffprobe failed: the server's fault, a 503 ServiceUnavailable for the client. */
export class MediaProcessError extends RegisteredError {
  override name = "MediaProcessError";
  constructor(
    message: string,
    readonly stderr: string,
    readonly exitCode: number | null,
    readonly timedOut: boolean,
    /** True when the binary is not installed (ENOENT). */
    readonly missingBinary = false,
  ) {
    super(message);
  }

  clientError(): ApiError {
    return errors.mediaProcessingFailed(this.timedOut);
  }
}

export interface RunOptions {
  timeoutMs?: number | undefined;
  /** Maximum stdout bytes kept (default 64 MiB); more → error. */
  maxStdoutBytes?: number | undefined;
}

export interface RunResult {
  stdout: Buffer;
  stderr: string;
}

const STDERR_KEEP = 16 * 1024;

/** Last meaningful stderr lines, for error messages. */
export function stderrSummary(stderr: string, lines = 3): string {
  return stderr
    .split("\n")
    .map((l) => l.trim())
    .filter(Boolean)
    .slice(-lines)
    .join(" | ");
}

export function runProcess(cmd: string, args: readonly string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const maxStdout = opts.maxStdoutBytes ?? 64 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    let child: ChildProcessByStdio<null, Readable, Readable>;
    try {
      child = spawn(cmd, args as string[], { shell: false, stdio: ["ignore", "pipe", "pipe"], windowsHide: true });
    } catch (err) {
      reject(new MediaProcessError(`${cmd} could not be started: ${(err as Error).message}`, "", null, false));
      return;
    }
    const out: Buffer[] = [];
    let outLen = 0;
    let stderr = "";
    let timedOut = false;
    let overflow = false;
    let settled = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.stdout.on("data", (d: Buffer) => {
      outLen += d.length;
      if (outLen > maxStdout) {
        if (!overflow) {
          overflow = true;
          child.kill("SIGKILL");
        }
        return;
      }
      out.push(d);
    });
    child.stderr.on("data", (d: Buffer) => {
      stderr += d.toString("utf8");
      if (stderr.length > STDERR_KEEP * 2) stderr = stderr.slice(-STDERR_KEEP);
    });
    child.on("error", (err: NodeJS.ErrnoException) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      const missing = err.code === "ENOENT";
      reject(
        new MediaProcessError(
          missing ? `${cmd} is not installed (install the ffmpeg package).` : `${cmd} failed: ${err.message}`,
          stderr,
          null,
          false,
          missing,
        ),
      );
    });
    child.on("close", (code) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (timedOut) {
        reject(new MediaProcessError(`${cmd} timed out after ${timeoutMs} ms`, stderr, code, true));
      } else if (overflow) {
        reject(new MediaProcessError(`${cmd} produced more than ${maxStdout} bytes of output`, stderr, code, false));
      } else if (code !== 0) {
        reject(new MediaProcessError(`${cmd} exited with code ${code}: ${stderrSummary(stderr)}`, stderr, code, false));
      } else {
        resolve({ stdout: Buffer.concat(out), stderr });
      }
    });
  });
}

/** Run `fn` with a fresh private temp dir that is always removed afterwards. */
export async function withTempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), "openscope-media-"));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

let ffmpegAvailable: Promise<boolean> | undefined;
/** Whether both ffmpeg and ffprobe can be run (cached). */
export function hasFfmpeg(): Promise<boolean> {
  ffmpegAvailable ??= Promise.all([
    runProcess("ffmpeg", ["-hide_banner", "-version"], { timeoutMs: 10_000 }),
    runProcess("ffprobe", ["-hide_banner", "-version"], { timeoutMs: 10_000 }),
  ]).then(
    () => true,
    () => false,
  );
  return ffmpegAvailable;
}
