/**
 * End-to-end test helper: one in-process openscope server per test file, serving the tiny
 * random-weight Qwen3 model (models/test/qwen3-tiny.gguf; `npm run models:test` makes it).
 */
import { existsSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { startServer, type Logger, type RunningServer } from "../../src/cli/serve.ts";
import {
  defaultConfig,
  gatewayDefaults,
  parseModel,
  type DataInspectionConfig,
  type GatewayConfig,
  type SearchConfig,
  type ModelConfig,
  type ServerConfig,
} from "../../src/config/index.ts";
import type { LlamaBackend } from "../../src/backends/llama/index.ts";
import { parseSseBody, type ParsedSseEvent } from "./sse.ts";

export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");
/** Node arguments that run the CLI from source (`bin/openscope.js` runs the built `dist/` instead). */
export const CLI_FROM_SOURCE = ["--import", "tsx", join(REPO_ROOT, "src", "cli", "main.ts")];
export const TINY_QWEN = join(REPO_ROOT, "models", "test", "qwen3-tiny.gguf");
export const GENERATION_PATH = "/api/v1/services/aigc/text-generation/generation";

export interface TestServerOptions {
  apiKeys?: string[];
  bodyLimitBytes?: number;
  /** Extra raw model config merged into the default tiny model entry. */
  model?: Record<string, unknown>;
  strictCompat?: boolean;
  /** Gateway settings over the defaults (SQLite in the server's temp dir, limits in memory, ledger on). */
  gateway?: Partial<GatewayConfig>;
  dataInspection?: DataInspectionConfig;
  search?: SearchConfig;
}

export interface LogEntry {
  level: "info" | "warn";
  message: string;
}

export interface TestServer {
  url: string;
  server: RunningServer;
  logs: LogEntry[];
  config: ServerConfig;
  /** The tiny model's backend (for slot accounting). */
  backend(): LlamaBackend;
  close(): Promise<void>;
}

/** The ServerConfig of one test server: loopback, an ephemeral port, the tiny model only. */
export function testConfig(options: TestServerOptions, cacheDir: string): ServerConfig {
  const model: ModelConfig = parseModel(
    { source: TINY_QWEN, name: "tiny", aliases: ["qwen-plus"], context_size: 512, parallel: 2, max_queue: 4, ...options.model },
    "test",
  );
  return {
    ...defaultConfig(),
    host: "127.0.0.1",
    port: 0,
    apiKeys: options.apiKeys ?? [],
    cacheDir,
    gpu: false,
    bodyLimitBytes: options.bodyLimitBytes ?? 64 * 1024,
    requestTimeoutMs: 60_000,
    strictCompat: options.strictCompat ?? false,
    models: [model],
    gateway: { ...gatewayDefaults(join(cacheDir, "data")), ...options.gateway },
    ...(options.dataInspection ? { dataInspection: options.dataInspection } : {}),
    ...(options.search ? { search: options.search } : {}),
  };
}

export async function startTestServer(options: TestServerOptions = {}): Promise<TestServer> {
  if (!existsSync(TINY_QWEN)) throw new Error(`${TINY_QWEN} is missing: run \`npm run models:test\` first`);
  const cacheDir = await mkdtemp(join(tmpdir(), "openscope-e2e-"));
  const logs: LogEntry[] = [];
  const logger: Logger = {
    info: (message) => logs.push({ level: "info", message }),
    warn: (message) => logs.push({ level: "warn", message }),
  };
  const config = testConfig(options, cacheDir);
  const server = await startServer(config, logger);
  try {
    await server.loaded;
  } catch (error) {
    await server.close().catch(() => undefined);
    await rm(cacheDir, { recursive: true, force: true });
    throw error;
  }
  return {
    url: server.url,
    server,
    logs,
    config,
    backend: () => server.registry.resolve("tiny").backend as LlamaBackend,
    async close() {
      await server.close();
      await rm(cacheDir, { recursive: true, force: true });
    },
  };
}

export interface CallOptions {
  stream?: boolean;
  headers?: Record<string, string>;
  path?: string;
  method?: string;
  signal?: AbortSignal;
}

export interface JsonReply {
  status: number;
  headers: Headers;
  body: any;
}

export interface SseReply {
  status: number;
  headers: Headers;
  raw: string;
  events: ParsedSseEvent[];
  data: any[];
}

function requestInit(body: unknown, options: CallOptions): RequestInit {
  const headers: Record<string, string> = { "Content-Type": "application/json", ...options.headers };
  if (options.stream) headers["X-DashScope-SSE"] = "enable";
  const init: RequestInit = { method: options.method ?? "POST", headers };
  if (body !== undefined) init.body = typeof body === "string" ? body : JSON.stringify(body);
  if (options.signal) init.signal = options.signal;
  return init;
}

/** A non-stream call; the body is parsed as JSON. */
export async function postJson(base: string, body: unknown, options: CallOptions = {}): Promise<JsonReply> {
  const response = await fetch(base + (options.path ?? GENERATION_PATH), requestInit(body, options));
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new Error(`response is not JSON (status ${response.status}, ${response.headers.get("content-type")}): ${text.slice(0, 500)}`);
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** A stream call (X-DashScope-SSE: enable unless headers say otherwise); the body is read to its end. */
export async function postSse(base: string, body: unknown, options: CallOptions = {}): Promise<SseReply> {
  const response = await fetch(base + (options.path ?? GENERATION_PATH), requestInit(body, { stream: true, ...options }));
  const raw = await response.text();
  const events = parseSseBody(raw);
  return { status: response.status, headers: response.headers, raw, events, data: events.map((e) => JSON.parse(e.data)) };
}

/** A generation body for the native API. */
export function generation(prompt: string, parameters: Record<string, unknown> = {}, model = "qwen-plus"): object {
  return { model, input: { messages: [{ role: "user", content: prompt }] }, parameters };
}
