import type { ModelDefaults } from "../core/index.ts";
import type { UpstreamKind } from "../backends/openai/index.ts";
import type { UpstreamModel } from "../backends/upstream/index.ts";

export type GpuSetting = "auto" | "cuda" | "vulkan" | "metal" | false;

/** llama.cpp flash attention: "auto" (on where the backend supports it, as llama-server's default), or forced. */
export type FlashAttentionSetting = "auto" | boolean;

/** A GGUF model run by the embedded llama.cpp engine. */
export interface EmbeddedModelConfig {
  backend: "llama";
  name: string;
  aliases: string[];
  /** Local GGUF path or `hf:` URI. */
  source: string;
  /** Tokens per parallel slot (prompt + output). */
  contextSize: number;
  /** context_size was not given: the default, capped to the model's trained context without a warning. */
  contextSizeIsDefault: boolean;
  parallel: number;
  threads?: number | undefined;
  flashAttention?: FlashAttentionSetting | undefined;
  maxQueue: number;
  defaults: ModelDefaults;
}

/** A model served by engines elsewhere: exactly the options its upstream backend is built from, plus its names and defaults. */
export interface UpstreamModelConfig extends UpstreamModel {
  backend: "openai";
  /** An OpenAI-compatible engine kind, or `dashscope`: native forwarding to a DashScope endpoint. */
  kind: UpstreamKind | "dashscope";
  aliases: string[];
  defaults: ModelDefaults;
  /** Media the served model takes (a vision or audio model behind vLLM/SGLang/Ollama). */
  modalities: ("image" | "video" | "audio")[];
}

export type ModelConfig = EmbeddedModelConfig | UpstreamModelConfig;

/** The settings whose startup errors (a directory, a port, a store) name how the operator gave them. */
export type NamedSetting = "host" | "port" | "data_dir" | "cache_dir" | "store_url" | "redis_url";

export interface ServerConfig {
  host: string;
  port: number;
  apiKeys: string[];
  cacheDir: string;
  gpu: GpuSetting;
  bodyLimitBytes: number;
  requestTimeoutMs: number;
  /** Reproduce the real server's refusals of thinking-mode combinations openscope can serve. */
  strictCompat: boolean;
  /** The access log's level (pino's names); debug also prints the stack trace of a failure. */
  logLevel: string;
  /** Empty: serve defaultModel (pulled, or the built-in test model when offline). */
  models: ModelConfig[];
  /** The model served when none is configured, with the flags and variables that set every embedded model applied. */
  defaultModel: EmbeddedModelConfig;
  gateway: GatewayConfig;
  /** Moderation for `X-DashScope-DataInspection` (none configured: such requests are refused with 400). */
  dataInspection?: DataInspectionConfig | undefined;
  /** Uploaded files (`/compatible-mode/v1/files`, `fileid://`): blobs under `<data_dir>/files`. */
  files: FilesConfig;
  /** Web search for `enable_search` (absent: such requests are refused with 400). */
  search?: SearchConfig | undefined;
  /** Media intake (multimodal endpoint) and the SDK upload flow. */
  media: MediaConfig;
  /** How the operator named each of these settings (`--port`, `OPENSCOPE_PORT` or `port`), for startup errors that must say which one to change. */
  settingNames: Record<NamedSetting, string>;
}

export interface MediaConfig {
  /** Hosts (names, IPs or CIDRs) media URLs may reach although private; none by default. */
  allowHosts: string[];
  /** Largest media download. */
  maxBytes: number;
  /** How long files uploaded through the SDK's upload flow (`oss://`) are kept. */
  uploadTtlMs: number;
}

export interface FilesConfig {
  maxBytes: number;
}

export type SearchConfig = { provider: "searxng"; url: string; timeoutMs: number } | { provider: "local"; folder: string };

export interface DataInspectionConfig {
  /** Words or phrases refused anywhere in the input or output (case-insensitive, NFKC-normalized). */
  terms: string[];
  /** Regular expressions refused likewise. */
  patterns: string[];
  /** A guard model among the served ones (e.g. Qwen3Guard) judging input and finished output. */
  classifier?: { model: string; block: ("safe" | "unsafe" | "controversial")[]; onUnreadable: "block" | "allow" } | undefined;
  /** Inspect every request, header or not. */
  always: boolean;
}

/** Managed keys, limits, usage ledger, metrics and logs (the gateway). */
export interface GatewayConfig {
  /** Where the SQLite store lives (keys, usage ledger). */
  dataDir: string;
  /** `postgres://…` to keep keys and the ledger in PostgreSQL instead of SQLite in dataDir. */
  storeUrl?: string | undefined;
  /** `redis://…`: limit counters shared by every instance using it; absent = in memory. */
  redisUrl?: string | undefined;
  /** Bearer key of the admin API (`/admin/v1/…`); absent = admin API off. */
  adminKey?: string | undefined;
  /** Usage ledger on/off, and its batch window (the most a kill -9 can lose). */
  ledger: { enabled: boolean; flushMs: number };
  /** Per-key limits on/off (keys keep their limits; off = not enforced). */
  limits: boolean;
  /** Log message content and answers in the access log. */
  logContent: boolean;
  /** Serve `GET /metrics`. */
  metrics: boolean;
}
