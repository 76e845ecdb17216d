/**
 * Test helper: reads the real DashScope captures in `../shared/fixtures/dashscope-captures`
 * (relative to the repository root). Tests built on them must skip loudly when they are absent:
 * pass `CAPTURES_SKIP` as the `skip` option and call `warnIfCapturesAbsent` once per test file.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, "package.json"))) {
    const up = dirname(dir);
    if (up === dir) throw new Error(`captures: no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = up;
  }
  return dir;
}

export const CAPTURES_DIR = resolve(repoRoot(), "../shared/fixtures/dashscope-captures");
export const CAPTURES_PRESENT = existsSync(CAPTURES_DIR);
/** `false` when the captures are there, else the reason, for node:test's `skip` option. */
export const CAPTURES_SKIP: string | false = CAPTURES_PRESENT ? false : `DashScope captures absent (${CAPTURES_DIR}): capture replay tests SKIPPED`;

export function warnIfCapturesAbsent(file: string): void {
  if (!CAPTURES_PRESENT) console.warn(`WARNING [${file}]: ${CAPTURES_SKIP as string}`);
}

export type CapturePart = "request.header.txt" | "request.body.json" | "response.header.txt" | "response.body.txt";

/** A capture file as text, without the UTF-8 BOM many of them start with. */
export function readCapture(name: string, part: CapturePart): string {
  return readFileSync(join(CAPTURES_DIR, `${name}.${part}`), "utf8").replace(/^\uFEFF/, "");
}

export function readCaptureJson(name: string, part: "request.body.json" | "response.body.txt"): unknown {
  return JSON.parse(readCapture(name, part));
}

/** Names of every capture that has a request header file. */
export function captureNames(): string[] {
  if (!CAPTURES_PRESENT) return [];
  return readdirSync(CAPTURES_DIR)
    .filter((f) => f.endsWith(".request.header.txt"))
    .map((f) => f.slice(0, -".request.header.txt".length))
    .sort();
}

/** First line of the request header file (the request line, where the capture kept one). */
export function requestLine(name: string): string {
  return readCapture(name, "request.header.txt").split(/\r?\n/)[0] ?? "";
}

/** HTTP status from the response header file's status line. */
export function responseStatus(name: string): number {
  const match = /^HTTP\/[\d.]+ (\d{3})/.exec(readCapture(name, "response.header.txt"));
  if (!match) throw new Error(`${name}: no status line in the response header file`);
  return Number(match[1]);
}

/** Sorted keys of an object, for shape comparisons. */
export function keysOf(value: unknown): string[] {
  if (typeof value !== "object" || value === null || Array.isArray(value)) throw new Error(`not an object: ${JSON.stringify(value)}`);
  return Object.keys(value).sort();
}
