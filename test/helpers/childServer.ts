/**
 * `openscope serve` as its own process, as an operator runs it: for tests and benches that measure
 * the server's memory, kill it, or restart it on the same data.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { readFileSync } from "node:fs";
import { CLI_FROM_SOURCE } from "./server.ts";

export interface ChildServer {
  child: ChildProcess;
  /** Base URL once ready. */
  url: string;
  /** Everything the server wrote to stderr so far. */
  stderr(): string;
  /** Resident set size of the server process, in bytes (Linux /proc). */
  rssBytes(): number;
  /** Resolves with the exit code (or the signal's name) once the process has ended. */
  exited: Promise<number | string>;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process has ended. */
  stop(graceMs?: number): Promise<number | string>;
}

/** Starts `openscope serve --port 0 …args` and resolves once it says it is ready. */
export async function startChildServer(args: string[], env: NodeJS.ProcessEnv = {}, readyWithinMs = 120_000): Promise<ChildServer> {
  const child = spawn(process.execPath, [...CLI_FROM_SOURCE, "serve", "--port", "0", ...args], {
    env: { ...process.env, OPENSCOPE_LOG_LEVEL: "warn", ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const exited = new Promise<number | string>((resolve) => child.once("exit", (code, signal) => resolve(code ?? signal ?? "unknown")));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`openscope serve: not ready within ${readyWithinMs} ms:\n${stderr}`));
    }, readyWithinMs);
    child.stderr!.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const listening = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (listening && stderr.includes("openscope: ready")) {
        clearTimeout(timer);
        resolve(listening);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`openscope serve exited (${code}) before it was ready:\n${stderr}`));
    });
  });
  return {
    child,
    url,
    exited,
    stderr: () => stderr,
    rssBytes: () => rssOf(child.pid!),
    async stop(graceMs = 10_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
        const code = await exited;
        clearTimeout(timer);
        return code;
      }
      return exited;
    },
  };
}

/** A process's resident set size in bytes, from /proc/PID/status. */
export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  const kib = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
  if (kib === undefined) throw new Error(`no VmRSS for process ${pid}`);
  return Number(kib) * 1024;
}
