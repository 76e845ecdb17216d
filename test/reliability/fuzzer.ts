/**
 * The reliability fuzzer's runner: an openscope on the tiny test model (in this process, its
 * log captured), the context the cases refer to (files, managed keys, an upload policy), then
 * `requests` seeded cases on a few connections at a time. It counts statuses, answers with a
 * 5xx status, answers outside the catalogue's shapes, missing answers, error-level log lines and
 * uncaught exceptions, and checks at the end that valid requests are still served correctly.
 */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { startServer, type RunningServer } from "../../src/cli/serve.ts";
import type { UploadPolicy } from "../../src/features/media/uploads.ts";
import { testConfig, TINY_QWEN } from "../helpers/server.ts";
import { makeCase, type FuzzCase, type FuzzContext } from "./cases.ts";
import { checkResponse } from "./check.ts";
import { exchange, type RawExchange } from "./rawHttp.ts";

const API_KEY = "sk-fuzz-static-key-0123456789";
const ADMIN_KEY = "fuzz-admin-key-0123456789abcdef";
/** The fuzz server's request timeout; the fuzzer waits longer than this for an answer. */
export const SERVER_TIMEOUT_MS = 10_000;

export interface FuzzOptions {
  seed: number;
  requests: number;
  /** Connections at a time. Kept at most the model's slots + queue, so no 503 is ever legitimate. */
  concurrency: number;
  /** Deadline of a generation request (others get two thirds). */
  timeoutMs: number;
  /** Run only these case indices (reproduction). */
  only?: number[];
  /** Progress lines (the CLI prints them). */
  progress?: (line: string) => void;
  /** Print every exchange of the cases run (with `only`). */
  verbose?: boolean;
}

export interface FuzzFailure {
  seed: number;
  index: number;
  kind: string;
  problems: string[];
  /** The start of what was sent, escaped. */
  sent: string;
  /** The start of what came back. */
  answer: string;
}

export interface FuzzReport {
  seed: number;
  cases: number;
  answers: number;
  statuses: Record<string, number>;
  serverErrors: number;
  nonCatalogue: number;
  missingAnswers: number;
  errorLogs: string[];
  crashes: string[];
  failures: FuzzFailure[];
  /** Problems of the valid requests made after the run (empty: served correctly). */
  afterwards: string[];
  wallMs: number;
}

interface FuzzServer {
  server: RunningServer;
  port: number;
  errorLogs: string[];
  close(): Promise<void>;
}

/** An openscope as the fuzzer needs it: static and admin keys, 1 MiB bodies, 2 slots + 8 queued on the tiny model, 10 s request timeout. */
async function startFuzzServer(): Promise<FuzzServer> {
  const dir = await mkdtemp(join(tmpdir(), "openscope-fuzz-"));
  const errorLogs: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split("\n")) {
        if (line === "") continue;
        try {
          const entry = JSON.parse(line) as { level?: number; msg?: string; err?: { type?: string; message?: string; stack?: string } };
          if ((entry.level ?? 0) >= 50) {
            errorLogs.push(
              `${entry.msg ?? ""}: ${entry.err?.type ?? ""} ${entry.err?.message ?? ""} ${(entry.err?.stack ?? "").split("\n").slice(1, 4).join(" | ")}`.trim(),
            );
          }
        } catch {
          errorLogs.push(`unparsed log line: ${line.slice(0, 200)}`);
        }
      }
      callback();
    },
  });
  const config = {
    ...testConfig(
      {
        apiKeys: [API_KEY],
        bodyLimitBytes: 1024 * 1024,
        model: { parallel: 2, max_queue: 8, context_size: 512 },
        gateway: { adminKey: ADMIN_KEY },
      },
      dir,
    ),
    // A few mutated requests legitimately run long (e.g. a thought at temperature 0 with logprobs
    // fills the context): they end as 408 RequestTimeOut, well within the fuzzer's own deadline.
    requestTimeoutMs: SERVER_TIMEOUT_MS,
  };
  const quiet = { info: () => undefined, warn: () => undefined };
  const server = await startServer(config, quiet, { level: "info", stream });
  await server.loaded;
  return {
    server,
    port: Number(new URL(server.url).port),
    errorLogs,
    async close() {
      await server.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

async function call(base: string, path: string, init: RequestInit): Promise<{ status: number; body: any }> {
  const response = await fetch(base + path, init);
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON
  }
  return { status: response.status, body };
}

/** Files, managed keys and an upload policy for the cases to name. */
async function makeContext(base: string): Promise<FuzzContext> {
  const auth = { Authorization: `Bearer ${API_KEY}` };
  const upload = async (i: number) => {
    const form = new FormData();
    form.append("purpose", "file-extract");
    form.append("file", new Blob([`fuzz document ${i}: the quick brown fox`], { type: "text/plain" }), `doc-${i}.txt`);
    const reply = await call(base, "/compatible-mode/v1/files", { method: "POST", headers: auth, body: form });
    if (reply.status !== 200) throw new Error(`fuzz setup: file upload answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    return String(reply.body.id);
  };
  const stableFileIds = [await upload(0), await upload(1), await upload(2)];
  const deletableFileIds: string[] = [];
  for (let i = 3; i < 8; i++) deletableFileIds.push(await upload(i));
  const deletableKeyIds: string[] = [];
  for (let i = 0; i < 3; i++) {
    const reply = await call(base, "/admin/v1/keys", {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: `fuzz-setup-${i}` }),
    });
    if (reply.status !== 201) throw new Error(`fuzz setup: key create answered ${reply.status}: ${JSON.stringify(reply.body)}`);
    deletableKeyIds.push(String(reply.body.key.id));
  }
  const policyReply = await call(base, "/api/v1/uploads?action=getPolicy&model=qwen-vl-plus", { headers: auth });
  if (policyReply.status !== 200) throw new Error(`fuzz setup: getPolicy answered ${policyReply.status}`);
  const policy = policyReply.body.data as UploadPolicy;
  const ossKey = `${policy.upload_dir}/setup.png`;
  const form = new FormData();
  form.append("OSSAccessKeyId", policy.oss_access_key_id);
  form.append("Signature", policy.signature);
  form.append("policy", policy.policy);
  form.append("key", ossKey);
  form.append("x-oss-object-acl", policy.x_oss_object_acl);
  form.append("x-oss-forbid-overwrite", policy.x_oss_forbid_overwrite);
  form.append("success_action_status", "200");
  const png = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==", "base64");
  form.append("file", new Blob([new Uint8Array(png)], { type: "image/png" }), "setup.png");
  const uploaded = await fetch(policy.upload_host, { method: "POST", body: form });
  if (uploaded.status !== 200) throw new Error(`fuzz setup: OSS upload answered ${uploaded.status}: ${await uploaded.text()}`);
  return { apiKey: API_KEY, adminKey: ADMIN_KEY, stableFileIds, deletableFileIds, deletableKeyIds, policy, ossKey };
}

/** Bytes shown in a report: printable ASCII as is, the rest escaped, cut to `max`. */
export function preview(data: Buffer | Buffer[], max = 300): string {
  const bytes = Array.isArray(data) ? Buffer.concat(data) : data;
  const head = bytes.subarray(0, max).toString("latin1");
  const escaped = head.replace(/[^\x20-\x7e]/g, (c) => {
    if (c === "\r") return "\\r";
    if (c === "\n") return "\\n";
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
  });
  return bytes.length > max ? `${escaped}… (${bytes.length} bytes)` : escaped;
}

function answerPreview(result: RawExchange): string {
  if (result.responses.length === 0)
    return result.leftover.length > 0 ? `unparsed: ${preview(result.leftover, 200)}` : `(none${result.error ? `, ${result.error}` : ""})`;
  const r = result.responses[0]!;
  return `${r.status} ${r.headers["content-type"] ?? ""} ${preview(r.body, 200)}`;
}

/** Checks one case's exchange; returns its problems and feeds the counters. */
function judge(fuzzCase: FuzzCase, result: RawExchange, report: FuzzReport): string[] {
  const problems: string[] = [];
  report.answers += result.responses.length;
  for (const [i, response] of result.responses.entries()) {
    const key = String(response.status);
    report.statuses[key] = (report.statuses[key] ?? 0) + 1;
    const request = fuzzCase.requests[Math.min(i, fuzzCase.requests.length - 1)]!;
    const found = checkResponse(request, response);
    if (response.status >= 500) report.serverErrors++;
    if (found.some((p) => !p.startsWith("status "))) report.nonCatalogue++;
    problems.push(...found.map((p) => (fuzzCase.requests.length > 1 ? `answer ${i + 1}: ${p}` : p)));
  }
  // A case that resets its own connection may cut an answer short: that part is not judged.
  if (result.leftover.length > 0 && result.responses.length < fuzzCase.requests.length && !fuzzCase.allowNoResponse) {
    problems.push(`unparseable answer: ${preview(result.leftover, 120)}`);
    report.nonCatalogue++;
  }
  if (result.responses.length === 0 && !fuzzCase.allowNoResponse) {
    report.missingAnswers++;
    problems.push(result.timedOut ? `no answer within ${fuzzCase.timeoutMs} ms` : `no answer (connection closed${result.error ? `: ${result.error}` : ""})`);
  } else if (result.timedOut && result.responses.length < fuzzCase.requests.length && !fuzzCase.allowNoResponse) {
    report.missingAnswers++;
    problems.push(`answer ${result.responses.length + 1} missing after ${fuzzCase.timeoutMs} ms`);
  }
  return problems;
}

/** Valid requests after the run: a native generation, a stream, an OpenAI chat completion, the health check. */
async function servedCorrectly(base: string): Promise<string[]> {
  const problems: string[] = [];
  const headers = { Authorization: `Bearer ${API_KEY}`, "Content-Type": "application/json" };
  const body = JSON.stringify({
    model: "qwen-plus",
    input: { messages: [{ role: "user", content: "hello" }] },
    parameters: { max_tokens: 3, result_format: "message" },
  });
  const native = await call(base, "/api/v1/services/aigc/text-generation/generation", { method: "POST", headers, body });
  if (native.status !== 200 || native.body?.output?.choices?.[0]?.message?.role !== "assistant" || typeof native.body?.usage?.output_tokens !== "number") {
    problems.push(`native generation: ${native.status} ${JSON.stringify(native.body).slice(0, 200)}`);
  }
  const stream = await fetch(`${base}/api/v1/services/aigc/text-generation/generation`, {
    method: "POST",
    headers: { ...headers, "X-DashScope-SSE": "enable" },
    body,
  });
  const text = await stream.text();
  if (stream.status !== 200 || !/event:result/.test(text) || /event:error/.test(text) || !/"finish_reason":"(stop|length)"/.test(text)) {
    problems.push(`native stream: ${stream.status} ${text.slice(0, 200)}`);
  }
  const chat = await call(base, "/compatible-mode/v1/chat/completions", {
    method: "POST",
    headers,
    body: JSON.stringify({ model: "qwen-plus", messages: [{ role: "user", content: "hi" }], max_tokens: 3 }),
  });
  if (chat.status !== 200 || chat.body?.object !== "chat.completion" || typeof chat.body?.choices?.[0]?.message?.content !== "string") {
    problems.push(`chat completion: ${chat.status} ${JSON.stringify(chat.body).slice(0, 200)}`);
  }
  const health = await call(base, "/health", {});
  if (health.status !== 200 || health.body?.status !== "ok") problems.push(`health: ${health.status} ${JSON.stringify(health.body)}`);
  return problems;
}

/** Runs the fuzzer against a fresh server and reports. */
export async function runFuzzer(options: FuzzOptions): Promise<FuzzReport> {
  const started = Date.now();
  const crashes: string[] = [];
  const onCrash = (error: unknown) =>
    crashes.push(error instanceof Error ? `${error.name}: ${error.message} ${(error.stack ?? "").split("\n").slice(1, 4).join(" | ")}` : String(error));
  process.on("uncaughtException", onCrash);
  process.on("unhandledRejection", onCrash);
  const fuzz = await startFuzzServer();
  const report: FuzzReport = {
    seed: options.seed,
    cases: 0,
    answers: 0,
    statuses: {},
    serverErrors: 0,
    nonCatalogue: 0,
    missingAnswers: 0,
    errorLogs: fuzz.errorLogs,
    crashes,
    failures: [],
    afterwards: [],
    wallMs: 0,
  };
  try {
    const context = await makeContext(fuzz.server.url);
    const indices = options.only ?? Array.from({ length: options.requests }, (_, i) => i);
    let next = 0;
    let lastProgress = Date.now();
    const worker = async () => {
      while (next < indices.length) {
        const index = indices[next++]!;
        const fuzzCase = makeCase(options.seed, index, context, { timeoutMs: options.timeoutMs });
        const result = await exchange({
          port: fuzz.port,
          data: fuzzCase.data,
          expect: fuzzCase.requests.length,
          heads: fuzzCase.heads,
          timeoutMs: fuzzCase.timeoutMs,
          ...(fuzzCase.halfCloseAfterMs !== undefined ? { halfCloseAfterMs: fuzzCase.halfCloseAfterMs } : {}),
          ...(fuzzCase.resetAfterMs !== undefined ? { resetAfterMs: fuzzCase.resetAfterMs } : {}),
        });
        report.cases++;
        const problems = judge(fuzzCase, result, report);
        if (options.verbose) {
          options.progress?.(
            `case ${index} [${fuzzCase.kind}] ${result.ms} ms\n  sent: ${preview(fuzzCase.data, 600)}\n  got:  ${result.responses.map((r) => `${r.status} ${preview(r.body, 400)}`).join("\n        ") || "(none)"}`,
          );
        }
        if (problems.length > 0) {
          report.failures.push({ seed: options.seed, index, kind: fuzzCase.kind, problems, sent: preview(fuzzCase.data), answer: answerPreview(result) });
        }
        if (options.progress && Date.now() - lastProgress > 5000) {
          lastProgress = Date.now();
          options.progress(
            `${report.cases}/${indices.length} cases, ${report.serverErrors} 5xx, ${report.nonCatalogue} outside the catalogue, ${report.failures.length} failing, ${((Date.now() - started) / 1000).toFixed(0)} s`,
          );
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, worker));
    report.afterwards = await servedCorrectly(fuzz.server.url);
  } finally {
    await fuzz.close();
    process.off("uncaughtException", onCrash);
    process.off("unhandledRejection", onCrash);
    report.wallMs = Date.now() - started;
  }
  return report;
}

/** The report as text: histogram, counts, failing examples with the command that reproduces each. */
export function formatReport(report: FuzzReport, maxExamples = 20): string {
  const lines: string[] = [];
  lines.push(`seed ${report.seed}: ${report.cases} cases, ${report.answers} answers in ${(report.wallMs / 1000).toFixed(1)} s`);
  lines.push(
    `status histogram: ${Object.entries(report.statuses)
      .sort(([a], [b]) => Number(a) - Number(b))
      .map(([status, count]) => `${status}: ${count}`)
      .join(", ")}`,
  );
  lines.push(`5xx answers: ${report.serverErrors}`);
  lines.push(`answers outside the catalogue: ${report.nonCatalogue}`);
  lines.push(`missing answers: ${report.missingAnswers}`);
  lines.push(`error-level log lines: ${report.errorLogs.length}`);
  lines.push(`uncaught exceptions: ${report.crashes.length}`);
  lines.push(`valid requests afterwards: ${report.afterwards.length === 0 ? "served correctly" : report.afterwards.join("; ")}`);
  lines.push(`failing cases: ${report.failures.length}`);
  for (const failure of report.failures.slice(0, maxExamples)) {
    lines.push(`- case ${failure.index} [${failure.kind}]: ${failure.problems.join("; ")}`);
    lines.push(`    sent: ${failure.sent}`);
    lines.push(`    got:  ${failure.answer}`);
    lines.push(`    reproduce: npm run fuzz -- --seed ${failure.seed} --case ${failure.index} --verbose`);
  }
  for (const line of report.errorLogs.slice(0, maxExamples)) lines.push(`- error log: ${line.slice(0, 400)}`);
  for (const line of report.crashes.slice(0, maxExamples)) lines.push(`- uncaught: ${line.slice(0, 400)}`);
  return lines.join("\n");
}

export { TINY_QWEN };
