import { readFileSync } from "node:fs";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { ModelDefaults } from "../core/types.ts";
import { UPSTREAM_KINDS, type ReplicaConfig, type UpstreamKind } from "../backends/openai/index.ts";
import type { UpstreamTimings } from "../backends/upstream/index.ts";

/** DashScope model names that existing code uses; by default they all reach the served model. */
export const DEFAULT_ALIASES = ["qwen-plus", "qwen-turbo", "qwen-flash", "qwen-max"] as const;

/** What `openscope serve` pulls when no model is configured: a small real Qwen3. */
export const DEFAULT_MODEL_SOURCE = "hf:Qwen/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf";

export type GpuSetting = "auto" | "cuda" | "vulkan" | "metal" | false;

/** A model served by OpenAI-compatible engines instead of the embedded one (`backend: openai`). */
export interface UpstreamModelConfig extends UpstreamTimings {
  /** An OpenAI-compatible engine kind, or `dashscope`: native forwarding to a DashScope endpoint. */
  kind: UpstreamKind | "dashscope";
  /** The model name the engine knows (default: the served name). */
  model: string;
  replicas: ReplicaConfig[];
  /** Media the served model takes (a vision or audio model behind vLLM/SGLang/Ollama): image, video, audio. */
  modalities: ("image" | "video" | "audio")[];
}

export interface ModelConfig {
  name: string;
  aliases: string[];
  /** Local GGUF path or `hf:` URI ("" for upstream models). */
  source: string;
  /** Set for upstream models. */
  upstream?: UpstreamModelConfig;
  /** Tokens per parallel slot (prompt + output). */
  contextSize: number;
  parallel: number;
  threads?: number;
  /** llama.cpp flash attention: "auto" (on where the backend supports it, as llama-server's default), or forced. */
  flashAttention?: FlashAttentionSetting;
  maxQueue: number;
  defaults: ModelDefaults;
}

export type FlashAttentionSetting = "auto" | boolean;

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
  /** Empty: serve the default model (pulled, or the built-in test model when offline). */
  models: ModelConfig[];
  gateway: GatewayConfig;
  /** Moderation for `X-DashScope-DataInspection` (none configured: such requests are refused with 400). */
  dataInspection?: DataInspectionConfig;
  /** Uploaded files (`/compatible-mode/v1/files`, `fileid://`): blobs under `<data_dir>/files`. */
  files?: FilesConfig;
  /** Web search for `enable_search` (absent: such requests are refused with 400). */
  search?: SearchConfig | undefined;
  /** Media intake (multimodal endpoint) and the SDK upload flow. */
  media?: MediaConfig;
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

export type SearchConfig =
  | { provider: "searxng"; url: string; timeoutMs: number }
  | { provider: "local"; folder: string };

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

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ConfigError";
  }
}

/** Sampling defaults of qwen-plus (non-thinking) in the API reference; max output per model. */
export const QWEN_DEFAULTS: ModelDefaults = {
  temperature: 0.7,
  topP: 0.8,
  topK: 20,
  repetitionPenalty: 1.05,
  presencePenalty: 0,
  maxTokens: 2048,
  maxOutputTokens: 32768,
};

export interface ConfigSources {
  flags: { "data-dir"?: string; "store-url"?: string; "redis-url"?: string; "strict-compat"?: boolean; host?: string; port?: string; model?: string; config?: string; "cache-dir"?: string; gpu?: string; threads?: string; parallel?: string; "context-size"?: string };
  env: NodeJS.ProcessEnv;
}

type Raw = Record<string, unknown>;

function asRecord(value: unknown, where: string): Raw {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new ConfigError(`${where} must be a mapping`);
  return value as Raw;
}

function num(value: unknown, where: string, { min = -Infinity, integer = false } = {}): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const n = typeof value === "string" ? Number(value) : value;
  if (typeof n !== "number" || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new ConfigError(`${where} must be ${integer ? "an integer" : "a number"}${min > -Infinity ? ` >= ${min}` : ""}, got ${JSON.stringify(value)}`);
  }
  return n;
}

function str(value: unknown, where: string): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "string" || value === "") throw new ConfigError(`${where} must be a non-empty string`);
  return value;
}

function parseBool(value: unknown, where: string): boolean {
  if (value === undefined || value === null || value === "") return false;
  if (value === true || value === "true" || value === "1" || value === "yes") return true;
  if (value === false || value === "false" || value === "0" || value === "no") return false;
  throw new ConfigError(`${where} must be true or false, got ${JSON.stringify(value)}`);
}

function parseGpu(value: unknown): GpuSetting {
  if (value === undefined || value === null || value === "" || value === "auto") return "auto";
  if (value === false || value === "false" || value === "off" || value === "cpu") return false;
  if (value === "cuda" || value === "vulkan" || value === "metal") return value;
  throw new ConfigError(`gpu must be auto, cuda, vulkan, metal or false, got ${JSON.stringify(value)}`);
}

/** A served name from a model source: file name without extension, lower-cased. */
export function nameFromSource(source: string): string {
  const file = basename(source.replace(/^(hf|huggingface):/i, "")).replace(/\.gguf$/i, "");
  return file.toLowerCase().replace(/[^a-z0-9._-]+/g, "-") || "model";
}

/**
 * Sampling defaults: the reference's qwen-plus values for the embedded engine; for upstream
 * engines only what the config names (the engine's own generation config applies otherwise).
 */
function parseDefaults(raw: Raw, where: string, upstream: boolean): ModelDefaults {
  const maxOutputTokens = num(raw.max_output_tokens, `${where}.max_output_tokens`, { min: 1, integer: true }) ?? QWEN_DEFAULTS.maxOutputTokens;
  const d = asRecord(raw.defaults, `${where}.defaults`);
  const pick = (key: string, fallback: number | undefined, opts?: { min?: number; integer?: boolean }) =>
    num(d[key], `${where}.defaults.${key}`, opts) ?? (upstream ? undefined : fallback);
  const maxTokens = pick("max_tokens", QWEN_DEFAULTS.maxTokens, { min: 1, integer: true });
  const defaults: ModelDefaults = {
    temperature: pick("temperature", QWEN_DEFAULTS.temperature, { min: 0 }),
    topP: pick("top_p", QWEN_DEFAULTS.topP, { min: 0 }),
    topK: pick("top_k", QWEN_DEFAULTS.topK, { min: 0, integer: true }),
    repetitionPenalty: pick("repetition_penalty", QWEN_DEFAULTS.repetitionPenalty, { min: 0 }),
    presencePenalty: pick("presence_penalty", QWEN_DEFAULTS.presencePenalty),
    maxOutputTokens,
  };
  if (maxTokens !== undefined) defaults.maxTokens = Math.min(maxTokens, maxOutputTokens);
  const thinking = raw.enable_thinking;
  if (thinking !== undefined && thinking !== null) {
    if (typeof thinking !== "boolean") throw new ConfigError(`${where}.enable_thinking must be true or false`);
    defaults.enableThinking = thinking;
  }
  const maxThinking = num(raw.max_thinking_tokens, `${where}.max_thinking_tokens`, { min: 1, integer: true });
  if (maxThinking !== undefined) defaults.maxThinkingTokens = maxThinking;
  return defaults;
}

export interface ModelOverrides {
  threads?: number;
  parallel?: number;
  contextSize?: number;
}

function parseReplica(raw: unknown, where: string): ReplicaConfig {
  const replica = typeof raw === "string" ? { url: raw } : asRecord(raw, where);
  const url = str(replica.url, `${where}.url`);
  if (!url || !/^https?:\/\/[^/]+/.test(url)) throw new ConfigError(`${where}.url must be an http(s) base URL such as http://10.0.0.5:8000/v1`);
  const apiKey = str(replica.api_key, `${where}.api_key`);
  return { url: url.replace(/\/+$/, ""), ...(apiKey ? { apiKey } : {}) };
}

function parseModalities(value: unknown, where: string): ("image" | "video" | "audio")[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((m) => m === "image" || m === "video" || m === "audio")) {
    throw new ConfigError(`${where} must list any of image, video, audio`);
  }
  return value as ("image" | "video" | "audio")[];
}

function parseUpstream(raw: Raw, where: string, name: string): UpstreamModelConfig {
  const kind = raw.kind ?? "openai";
  const kinds = [...UPSTREAM_KINDS, "dashscope"];
  if (typeof kind !== "string" || !kinds.includes(kind)) throw new ConfigError(`${where}.kind must be one of ${kinds.join(", ")}, got ${JSON.stringify(kind)}`);
  const list = raw.replicas ?? (raw.url !== undefined ? [{ url: raw.url, api_key: raw.api_key }] : []);
  if (!Array.isArray(list) || list.length === 0) throw new ConfigError(`${where}.replicas must list at least one {url, api_key}`);
  const timeouts = asRecord(raw.timeouts, `${where}.timeouts`);
  const seconds = (key: string, fallback: number) => (num(timeouts[key], `${where}.timeouts.${key}`, { min: 0 }) ?? fallback) * 1000;
  return {
    kind: kind as UpstreamKind | "dashscope",
    model: str(raw.upstream_model, `${where}.upstream_model`) ?? name,
    replicas: list.map((r, i) => parseReplica(r, `${where}.replicas[${i}]`)),
    firstByteTimeoutMs: seconds("first_byte_s", 60),
    idleTimeoutMs: seconds("idle_s", 120),
    healthIntervalMs: seconds("health_interval_s", 10),
    cooldownMs: seconds("cooldown_s", 2),
    authCooldownMs: seconds("auth_cooldown_s", 60),
    maxConcurrency: num(raw.max_concurrency, `${where}.max_concurrency`, { min: 1, integer: true }),
    modalities: parseModalities(raw.modalities, `${where}.modalities`),
    maxQueue: num(raw.max_queue, `${where}.max_queue`, { min: 0, integer: true }),
  };
}

export function parseModel(raw: Raw, where: string, overrides: ModelOverrides = {}): ModelConfig {
  if (raw.backend !== undefined && raw.backend !== "llama" && raw.backend !== "openai") {
    throw new ConfigError(`${where}.backend must be llama (embedded, the default) or openai (upstream engines)`);
  }
  if (raw.backend === "openai") {
    const name = str(raw.name, `${where}.name`);
    if (!name) throw new ConfigError(`${where}.name is required for an upstream model`);
    const aliases = raw.aliases ?? [];
    if (!Array.isArray(aliases) || !aliases.every((a) => typeof a === "string" && a !== "")) throw new ConfigError(`${where}.aliases must be a list of names`);
    return {
      name,
      aliases: aliases as string[],
      source: "",
      upstream: parseUpstream(raw, where, name),
      contextSize: 0,
      parallel: num(raw.max_n, `${where}.max_n`, { min: 1, integer: true }) ?? 4,
      maxQueue: 0,
      defaults: parseDefaults(raw, where, true),
    };
  }
  const source = str(raw.source, `${where}.source`);
  if (!source) throw new ConfigError(`${where}.source is required (a .gguf path or hf:owner/repo/file.gguf)`);
  const aliases = raw.aliases ?? [];
  if (!Array.isArray(aliases) || !aliases.every((a) => typeof a === "string" && a !== "")) {
    throw new ConfigError(`${where}.aliases must be a list of names`);
  }
  const model: ModelConfig = {
    name: str(raw.name, `${where}.name`) ?? nameFromSource(source),
    aliases: aliases as string[],
    source,
    contextSize: overrides.contextSize ?? num(raw.context_size, `${where}.context_size`, { min: 64, integer: true }) ?? 8192,
    parallel: overrides.parallel ?? num(raw.parallel, `${where}.parallel`, { min: 1, integer: true }) ?? 4,
    maxQueue: num(raw.max_queue, `${where}.max_queue`, { min: 0, integer: true }) ?? 64,
    defaults: parseDefaults(raw, where, false),
  };
  const threads = overrides.threads ?? num(raw.threads, `${where}.threads`, { min: 1, integer: true });
  if (threads !== undefined) model.threads = threads;
  if (raw.flash_attention !== undefined) model.flashAttention = flashAttentionSetting(raw.flash_attention, `${where}.flash_attention`);
  return model;
}

function flashAttentionSetting(value: unknown, where: string): FlashAttentionSetting {
  if (value === "auto" || value === true || value === false) return value;
  throw new ConfigError(`${where} must be auto, true or false`);
}

/**
 * Gives the default DashScope names to the first model, unless some model already claims one.
 * Names must be unique across models and aliases.
 */
export function assignAliases(models: ModelConfig[]): ModelConfig[] {
  const claimed = new Set(models.flatMap((m) => m.aliases));
  const first = models[0];
  if (first) first.aliases = [...first.aliases, ...DEFAULT_ALIASES.filter((a) => !claimed.has(a) && a !== first.name)];
  const seen = new Set<string>();
  for (const name of models.flatMap((m) => [m.name, ...m.aliases])) {
    if (seen.has(name)) throw new ConfigError(`model name or alias "${name}" is used twice`);
    seen.add(name);
  }
  return models;
}

/** Per-user data directory: $OPENSCOPE_DATA_DIR, else $XDG_DATA_HOME/openscope, else ~/.local/share/openscope. */
export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  if (env.OPENSCOPE_DATA_DIR) return env.OPENSCOPE_DATA_DIR;
  return join(env.XDG_DATA_HOME ?? join(homedir(), ".local", "share"), "openscope");
}

function stringList(value: unknown, where: string): string[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || !value.every((v) => typeof v === "string")) throw new ConfigError(`${where} must be a list of strings`);
  return value as string[];
}

function parseDataInspection(raw: Raw): DataInspectionConfig {
  const section = asRecord(raw.data_inspection, "data_inspection");
  const terms = stringList(section.terms, "data_inspection.terms");
  const termsFile = str(section.terms_file, "data_inspection.terms_file");
  if (termsFile) {
    let text: string;
    try {
      text = readFileSync(termsFile, "utf8");
    } catch (error) {
      throw new ConfigError(`cannot read data_inspection.terms_file ${termsFile}: ${(error as Error).message}`);
    }
    terms.push(...text.split(/\r?\n/).map((line) => line.trim()).filter((line) => line !== "" && !line.startsWith("#")));
  }
  const patterns = stringList(section.patterns, "data_inspection.patterns");
  for (const pattern of patterns) {
    try {
      new RegExp(pattern, "iu");
    } catch (error) {
      throw new ConfigError(`data_inspection.patterns: ${JSON.stringify(pattern)} is not a valid regular expression: ${(error as Error).message}`);
    }
  }
  const classifierRaw = section.classifier === undefined ? undefined : asRecord(section.classifier, "data_inspection.classifier");
  let classifier: DataInspectionConfig["classifier"];
  if (classifierRaw) {
    const model = str(classifierRaw.model, "data_inspection.classifier.model");
    if (!model) throw new ConfigError("data_inspection.classifier.model must name a served model");
    const block = stringList(classifierRaw.block ?? ["unsafe"], "data_inspection.classifier.block");
    if (!block.every((label) => label === "safe" || label === "unsafe" || label === "controversial")) {
      throw new ConfigError("data_inspection.classifier.block may list unsafe, controversial, safe");
    }
    const onUnreadable = classifierRaw.on_unreadable ?? "block";
    if (onUnreadable !== "block" && onUnreadable !== "allow") throw new ConfigError("data_inspection.classifier.on_unreadable must be block or allow");
    classifier = { model, block: block as ("safe" | "unsafe" | "controversial")[], onUnreadable };
  }
  return { terms, patterns, classifier, always: parseBool(section.always, "data_inspection.always") };
}

function parseMedia(raw: Raw): MediaConfig {
  const section = asRecord(raw.media, "media");
  return {
    allowHosts: stringList(section.allow_hosts, "media.allow_hosts"),
    maxBytes: (num(section.max_mb, "media.max_mb", { min: 0.001 }) ?? 100) * 1024 * 1024,
    uploadTtlMs: (num(section.upload_ttl_h, "media.upload_ttl_h", { min: 0.01 }) ?? 48) * 3_600_000,
  };
}

function parseFiles(raw: Raw): FilesConfig {
  const section = asRecord(raw.files, "files");
  return { maxBytes: (num(section.max_mb, "files.max_mb", { min: 0.001 }) ?? 150) * 1024 * 1024 };
}

function parseSearch(raw: Raw, env: NodeJS.ProcessEnv): SearchConfig | undefined {
  const section = asRecord(raw.search, "search");
  const searxng = env.OPENSCOPE_SEARXNG_URL ?? str(section.url, "search.url");
  const provider = section.provider ?? (searxng ? "searxng" : section.folder !== undefined ? "local" : undefined);
  if (provider === undefined) return undefined;
  if (provider === "searxng") {
    if (!searxng || !/^https?:\/\//.test(searxng)) throw new ConfigError("search.url must be the http(s) base URL of a SearXNG instance (JSON format enabled)");
    return { provider, url: searxng.replace(/\/+$/, ""), timeoutMs: (num(section.timeout_s, "search.timeout_s", { min: 0.1 }) ?? 10) * 1000 };
  }
  if (provider === "local") {
    const folder = str(section.folder, "search.folder");
    if (!folder) throw new ConfigError("search.folder must name the folder of documents the local search indexes");
    return { provider, folder };
  }
  throw new ConfigError(`search.provider must be searxng or local, got ${JSON.stringify(provider)}`);
}

/** The gateway as a fresh install runs it: SQLite in `dataDir`, limits in memory, ledger on, metrics on. */
export function gatewayDefaults(dataDir: string): GatewayConfig {
  return { dataDir, ledger: { enabled: true, flushMs: 1000 }, limits: true, logContent: false, metrics: true };
}

function parseGateway(raw: Raw, flags: ConfigSources["flags"], env: NodeJS.ProcessEnv): GatewayConfig {
  const ledger = asRecord(raw.ledger, "ledger");
  const storeUrl = flags["store-url"] ?? env.OPENSCOPE_STORE_URL ?? str(raw.store_url, "store_url");
  if (storeUrl !== undefined && !/^postgres(ql)?:\/\//.test(storeUrl)) throw new ConfigError(`store_url must be a postgres:// URL, got ${JSON.stringify(storeUrl)}`);
  const redisUrl = flags["redis-url"] ?? env.OPENSCOPE_REDIS_URL ?? str(raw.redis_url, "redis_url");
  if (redisUrl !== undefined && !/^rediss?:\/\//.test(redisUrl)) throw new ConfigError(`redis_url must be a redis:// URL, got ${JSON.stringify(redisUrl)}`);
  const adminKey = env.OPENSCOPE_ADMIN_KEY ?? str(raw.admin_key, "admin_key");
  if (adminKey !== undefined && adminKey.length < 16) throw new ConfigError("admin_key must be at least 16 characters");
  const enabled = (value: unknown, where: string) => (value === undefined || value === null ? true : parseBool(value, where));
  return {
    dataDir: flags["data-dir"] ?? env.OPENSCOPE_DATA_DIR ?? str(raw.data_dir, "data_dir") ?? defaultDataDir(env),
    storeUrl,
    redisUrl,
    adminKey,
    ledger: {
      enabled: enabled(ledger.enabled, "ledger.enabled"),
      flushMs: num(ledger.flush_ms, "ledger.flush_ms", { min: 10, integer: true }) ?? 1000,
    },
    limits: enabled(raw.limits, "limits"),
    logContent: parseBool(env.OPENSCOPE_LOG_CONTENT ?? raw.log_content, "log_content"),
    metrics: enabled(raw.metrics, "metrics"),
  };
}

export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  if (env.OPENSCOPE_CACHE_DIR) return env.OPENSCOPE_CACHE_DIR;
  return join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "openscope");
}

/** One typed config from (lowest to highest precedence) the YAML file, the environment and flags. */
export function loadConfig({ flags, env }: ConfigSources): ServerConfig {
  const file = flags.config ?? env.OPENSCOPE_CONFIG;
  let raw: Raw = {};
  if (file) {
    let text: string;
    try {
      text = readFileSync(file, "utf8");
    } catch (error) {
      throw new ConfigError(`cannot read config file ${file}: ${(error as Error).message}`);
    }
    try {
      raw = asRecord(parseYaml(text), "config");
    } catch (error) {
      throw error instanceof ConfigError ? error : new ConfigError(`config file ${file} is not valid YAML: ${(error as Error).message}`);
    }
  }
  const overrides: ModelOverrides = {};
  const threads = num(flags.threads ?? env.OPENSCOPE_THREADS, "threads", { min: 1, integer: true });
  if (threads !== undefined) overrides.threads = threads;
  const parallel = num(flags.parallel ?? env.OPENSCOPE_PARALLEL, "parallel", { min: 1, integer: true });
  if (parallel !== undefined) overrides.parallel = parallel;
  const contextSize = num(flags["context-size"] ?? env.OPENSCOPE_CONTEXT_SIZE, "context-size", { min: 64, integer: true });
  if (contextSize !== undefined) overrides.contextSize = contextSize;

  const modelFlag = flags.model ?? env.OPENSCOPE_MODEL;
  let models: ModelConfig[];
  if (modelFlag) models = [parseModel({ source: modelFlag }, "--model", overrides)];
  else {
    const list = raw.models ?? [];
    if (!Array.isArray(list)) throw new ConfigError("models must be a list");
    models = list.map((m, i) => parseModel(asRecord(m, `models[${i}]`), `models[${i}]`, overrides));
  }
  const keysEnv = env.OPENSCOPE_API_KEYS?.split(",").map((k) => k.trim()).filter(Boolean) ?? [];
  const keysFile = raw.api_keys ?? [];
  if (!Array.isArray(keysFile) || !keysFile.every((k) => typeof k === "string" && k !== "")) {
    throw new ConfigError("api_keys must be a list of strings");
  }
  return {
    host: flags.host ?? env.OPENSCOPE_HOST ?? str(raw.host, "host") ?? "127.0.0.1",
    port: num(flags.port ?? env.OPENSCOPE_PORT ?? raw.port, "port", { min: 0, integer: true }) ?? 8000,
    apiKeys: [...keysFile, ...keysEnv],
    cacheDir: flags["cache-dir"] ?? str(raw.cache_dir, "cache_dir") ?? defaultCacheDir(env),
    gpu: parseGpu(flags.gpu ?? env.OPENSCOPE_GPU ?? raw.gpu),
    bodyLimitBytes: (num(raw.body_limit_mb, "body_limit_mb", { min: 0.001 }) ?? 10) * 1024 * 1024,
    requestTimeoutMs: (num(raw.request_timeout_s, "request_timeout_s", { min: 1 }) ?? 600) * 1000,
    strictCompat: flags["strict-compat"] === true || parseBool(env.OPENSCOPE_STRICT_COMPAT ?? raw.strict_compat, "strict_compat"),
    models: assignAliases(models),
    gateway: parseGateway(raw, flags, env),
    dataInspection: parseDataInspection(raw),
    files: parseFiles(raw),
    media: parseMedia(raw),
    search: parseSearch(raw, env),
  };
}
