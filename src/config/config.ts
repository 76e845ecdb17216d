import { readFileSync, statSync } from "node:fs";
import { isIP } from "node:net";
import { homedir } from "node:os";
import { basename, join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { ModelDefaults } from "../core/index.ts";
import { UPSTREAM_KINDS, type ReplicaConfig, type UpstreamKind } from "../backends/openai/index.ts";
import type { UpstreamTimings } from "../backends/upstream/index.ts";
import { parseAllowEntry } from "../features/media/index.ts";

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
  /** context_size was not given: the default, capped to the model's trained context without a warning. */
  contextSizeIsDefault?: boolean;
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
  /**
   * How the operator named each of these settings (`--port`, `OPENSCOPE_PORT` or `port`), for
   * startup errors that must say which one to change; absent: the config file's key.
   */
  settingNames?: Partial<Record<NamedSetting, string>>;
}

export type NamedSetting = "host" | "port" | "data_dir" | "cache_dir" | "store_url" | "redis_url";

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
  flags: {
    "data-dir"?: string;
    "store-url"?: string;
    "redis-url"?: string;
    "strict-compat"?: boolean;
    host?: string;
    port?: string;
    model?: string;
    config?: string;
    "cache-dir"?: string;
    gpu?: string;
    threads?: string;
    parallel?: string;
    "context-size"?: string;
  };
  env: NodeJS.ProcessEnv;
}

type Raw = Record<string, unknown>;

function asRecord(value: unknown, where: string): Raw {
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value)) throw new ConfigError(`${where} must be a mapping`);
  return value as Raw;
}

/** The longest delay a Node timer takes (2^31-1 ms, ~24.8 days); a longer one fires at once. */
export const TIMER_MAX_MS = 2 ** 31 - 1;
/** The most parallel sequences one llama.cpp context takes (LLAMA_MAX_SEQ). */
export const MAX_PARALLEL = 256;
/** The most threads ggml runs (GGML_MAX_N_THREADS). */
export const MAX_THREADS = 512;
/** The largest body or media size, in MiB, a Node buffer can hold. */
const MAX_BUFFER_MB = 4096;

interface NumberRule {
  min?: number;
  max?: number;
  /** The bounds themselves are outside the range. */
  minExclusive?: boolean;
  maxExclusive?: boolean;
  integer?: boolean;
  /** Appended to the message (what the bound means). */
  hint?: string;
}

function describeRange({ min = -Infinity, max = Infinity, minExclusive = false, maxExclusive = false, integer = false }: NumberRule): string {
  const kind = integer ? "an integer" : "a number";
  if (min > -Infinity && max < Infinity) {
    if (!minExclusive && !maxExclusive) return `${kind} from ${min} to ${max}`;
    return `${kind} in ${minExclusive ? "(" : "["}${min}, ${max}${maxExclusive ? ")" : "]"}`;
  }
  if (min > -Infinity) return `${kind} ${minExclusive ? ">" : ">="} ${min}`;
  if (max < Infinity) return `${kind} ${maxExclusive ? "<" : "<="} ${max}`;
  return kind;
}

function num(value: unknown, where: string, rule: NumberRule = {}): number | undefined {
  if (value === undefined || value === null || value === "") return undefined;
  const { min = -Infinity, max = Infinity, minExclusive = false, maxExclusive = false, integer = false } = rule;
  const n = typeof value === "string" && value.trim() !== "" ? Number(value) : value;
  const outside =
    typeof n !== "number" ||
    !Number.isFinite(n) ||
    (integer && !Number.isInteger(n)) ||
    (minExclusive ? n <= min : n < min) ||
    (maxExclusive ? n >= max : n > max);
  if (outside) {
    throw new ConfigError(`${where} must be ${describeRange(rule)}, got ${JSON.stringify(value)}${rule.hint ? ` (${rule.hint})` : ""}`);
  }
  return n;
}

/** Seconds that become a timer's delay: at most TIMER_MAX_MS. */
const SECONDS: NumberRule = { min: 0, max: Math.floor(TIMER_MAX_MS / 1000), hint: "the longest timer is ~24 days" };

/**
 * Refuses keys a section does not know (a typo would otherwise be ignored in silence), naming the
 * closest known key.
 */
function knownKeys(section: Raw, where: string, known: readonly string[]): void {
  for (const key of Object.keys(section)) {
    if (known.includes(key)) continue;
    const near = closest(key, known);
    const at = where === "" ? "" : ` in ${where}`;
    throw new ConfigError(`unknown setting "${key}"${at}${near ? `: did you mean "${near}"?` : ""} (known: ${known.join(", ")})`);
  }
}

/** The known key within two edits of `key`, if any. */
function closest(key: string, known: readonly string[]): string | undefined {
  let best: { key: string; distance: number } | undefined;
  for (const candidate of known) {
    const distance = editDistance(key.toLowerCase(), candidate);
    if (distance <= 2 && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}

/** One setting from the first source that has it (flag, environment, file), and how that source names it. */
interface Sourced {
  value: unknown;
  where: string;
}

function pick(sources: [unknown, string][]): Sourced {
  for (const [value, where] of sources) if (value !== undefined && value !== null && value !== "") return { value, where };
  return { value: undefined, where: sources.at(-1)![1] };
}

const HOST_NAME = /^(?=.{1,253}$)[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?)*\.?$/i;

/** An address to listen on: an IP address (IPv6 with or without brackets) or a host name. */
function parseHost({ value, where }: Sourced): string {
  const host = str(value, where) ?? "127.0.0.1";
  const bare = host.replace(/^\[(.*)\]$/, "$1");
  if (isIP(bare) !== 0) return bare;
  const example = "127.0.0.1 (this machine only) or 0.0.0.0 (every interface)";
  if (/^[\d.]+$/.test(host)) throw new ConfigError(`${where} ${JSON.stringify(host)} is not a valid IPv4 address: use e.g. ${example}`);
  if (!HOST_NAME.test(host)) throw new ConfigError(`${where} ${JSON.stringify(host)} is not an IP address or host name: use e.g. ${example}`);
  return host;
}

/** A service URL of one of the given schemes that parses (`postgres://…`, `redis://…`). */
function serviceUrl({ value, where }: Sourced, schemes: RegExp, example: string): string | undefined {
  const url = str(value, where);
  if (url === undefined) return undefined;
  if (!schemes.test(url)) throw new ConfigError(`${where} must be a URL such as ${example}, got ${JSON.stringify(redactUrl(url))}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new ConfigError(`${where} ${JSON.stringify(redactUrl(url))} is not a valid URL: expected e.g. ${example}`);
  }
  if (parsed.hostname === "" && !parsed.searchParams.has("host"))
    throw new ConfigError(`${where} ${JSON.stringify(redactUrl(url))} names no host: expected e.g. ${example}`);
  return url;
}

/** A URL with its password hidden, for messages. */
export function redactUrl(url: string): string {
  return url.replace(/^([a-z][a-z0-9+.-]*:\/\/[^:/@]*:)[^@/]*@/i, "$1***@");
}

/** Why a file could not be read, in plain words. */
function fileProblem(error: unknown): string {
  switch ((error as NodeJS.ErrnoException).code) {
    case "ENOENT":
      return "it does not exist";
    case "EACCES":
    case "EPERM":
      return "permission denied";
    case "EISDIR":
      return "it is a directory, not a file";
    case "ENOTDIR":
      return "a part of its path is a file, not a directory";
    default:
      return (error as Error).message;
  }
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

function parseGpu({ value, where }: Sourced): GpuSetting {
  if (value === undefined || value === null || value === "" || value === "auto") return "auto";
  if (value === false || value === "false" || value === "off" || value === "cpu") return false;
  if (value === "cuda" || value === "vulkan" || value === "metal") return value;
  throw new ConfigError(`${where} must be auto, cuda, vulkan, metal or false, got ${JSON.stringify(value)}`);
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
  knownKeys(d, `${where}.defaults`, ["temperature", "top_p", "top_k", "repetition_penalty", "presence_penalty", "max_tokens"]);
  // The ranges a request may give (the real server's), so a default is never one a request could not set.
  const pick = (key: string, fallback: number | undefined, rule: NumberRule) =>
    num(d[key], `${where}.defaults.${key}`, rule) ?? (upstream ? undefined : fallback);
  const maxTokens = pick("max_tokens", QWEN_DEFAULTS.maxTokens, { min: 1, integer: true });
  const defaults: ModelDefaults = {
    temperature: pick("temperature", QWEN_DEFAULTS.temperature, { min: 0, max: 2, maxExclusive: true }),
    topP: pick("top_p", QWEN_DEFAULTS.topP, { min: 0, max: 1, minExclusive: true }),
    topK: pick("top_k", QWEN_DEFAULTS.topK, { min: 0, integer: true }),
    repetitionPenalty: pick("repetition_penalty", QWEN_DEFAULTS.repetitionPenalty, { min: 0, minExclusive: true }),
    presencePenalty: pick("presence_penalty", QWEN_DEFAULTS.presencePenalty, { min: -2, max: 2 }),
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
  knownKeys(replica, where, ["url", "api_key"]);
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
  knownKeys(timeouts, `${where}.timeouts`, ["first_byte_s", "idle_s", "health_interval_s", "cooldown_s", "auth_cooldown_s"]);
  const seconds = (key: string, fallback: number) => (num(timeouts[key], `${where}.timeouts.${key}`, SECONDS) ?? fallback) * 1000;
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
    maxQueue: num(raw.max_queue, `${where}.max_queue`, { min: 0, max: MAX_QUEUE, integer: true }),
  };
}

/** Requests one model may keep waiting (beyond that: 503 at once). */
const MAX_QUEUE = 1_000_000;
/** The longest context_size taken; the model's trained context and the machine's memory bound it further at load. */
export const MAX_CONTEXT_SIZE = 2 ** 31 - 1;

const MODEL_KEYS = ["backend", "name", "aliases", "max_output_tokens", "enable_thinking", "max_thinking_tokens", "defaults"];
const LLAMA_MODEL_KEYS = [...MODEL_KEYS, "source", "context_size", "parallel", "threads", "flash_attention", "max_queue"];
const UPSTREAM_MODEL_KEYS = [
  ...MODEL_KEYS,
  "kind",
  "upstream_model",
  "replicas",
  "url",
  "api_key",
  "timeouts",
  "max_concurrency",
  "modalities",
  "max_queue",
  "max_n",
];

/** The model settings a flag or environment variable can override: `threads`, `parallel`, `context_size`. */
export const MODEL_RULES = {
  threads: { min: 1, max: MAX_THREADS, integer: true },
  parallel: { min: 1, max: MAX_PARALLEL, integer: true, hint: `llama.cpp runs at most ${MAX_PARALLEL} sequences per context` },
  contextSize: { min: 64, max: MAX_CONTEXT_SIZE, integer: true },
} satisfies Record<string, NumberRule>;

export function parseModel(raw: Raw, where: string, overrides: ModelOverrides = {}): ModelConfig {
  if (raw.backend !== undefined && raw.backend !== "llama" && raw.backend !== "openai") {
    throw new ConfigError(`${where}.backend must be llama (embedded, the default) or openai (upstream engines)`);
  }
  knownKeys(raw, where, raw.backend === "openai" ? UPSTREAM_MODEL_KEYS : LLAMA_MODEL_KEYS);
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
    contextSize: overrides.contextSize ?? num(raw.context_size, `${where}.context_size`, MODEL_RULES.contextSize) ?? 8192,
    parallel: overrides.parallel ?? num(raw.parallel, `${where}.parallel`, MODEL_RULES.parallel) ?? 4,
    maxQueue: num(raw.max_queue, `${where}.max_queue`, { min: 0, max: MAX_QUEUE, integer: true }) ?? 64,
    defaults: parseDefaults(raw, where, false),
  };
  if (overrides.contextSize === undefined && (raw.context_size === undefined || raw.context_size === null)) model.contextSizeIsDefault = true;
  const threads = overrides.threads ?? num(raw.threads, `${where}.threads`, MODEL_RULES.threads);
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
  knownKeys(section, "data_inspection", ["terms", "terms_file", "patterns", "classifier", "always"]);
  const terms = stringList(section.terms, "data_inspection.terms");
  const termsFile = str(section.terms_file, "data_inspection.terms_file");
  if (termsFile) {
    let text: string;
    try {
      text = readFileSync(termsFile, "utf8");
    } catch (error) {
      throw new ConfigError(`data_inspection.terms_file ${termsFile} cannot be read: ${fileProblem(error)}`);
    }
    terms.push(
      ...text
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line !== "" && !line.startsWith("#")),
    );
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
    knownKeys(classifierRaw, "data_inspection.classifier", ["model", "block", "on_unreadable"]);
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
  knownKeys(section, "media", ["allow_hosts", "max_mb", "upload_ttl_h"]);
  const allowHosts = stringList(section.allow_hosts, "media.allow_hosts");
  allowHosts.forEach((entry, i) => {
    try {
      parseAllowEntry(entry);
    } catch (error) {
      throw new ConfigError(`media.allow_hosts[${i}]: ${(error as Error).message}`);
    }
  });
  return {
    allowHosts,
    maxBytes: (num(section.max_mb, "media.max_mb", { min: 0.001, max: MAX_BUFFER_MB }) ?? 100) * 1024 * 1024,
    uploadTtlMs: (num(section.upload_ttl_h, "media.upload_ttl_h", { min: 0.01, max: 24 * 365 }) ?? 48) * 3_600_000,
  };
}

function parseFiles(raw: Raw): FilesConfig {
  const section = asRecord(raw.files, "files");
  knownKeys(section, "files", ["max_mb"]);
  return { maxBytes: (num(section.max_mb, "files.max_mb", { min: 0.001, max: MAX_BUFFER_MB }) ?? 150) * 1024 * 1024 };
}

function parseSearch(raw: Raw, env: NodeJS.ProcessEnv): SearchConfig | undefined {
  const section = asRecord(raw.search, "search");
  knownKeys(section, "search", ["provider", "url", "timeout_s", "folder"]);
  const searxng = env.OPENSCOPE_SEARXNG_URL ?? str(section.url, "search.url");
  const provider = section.provider ?? (searxng ? "searxng" : section.folder !== undefined ? "local" : undefined);
  if (provider === undefined) return undefined;
  if (provider === "searxng") {
    const where = env.OPENSCOPE_SEARXNG_URL ? "OPENSCOPE_SEARXNG_URL" : "search.url";
    if (!searxng || !/^https?:\/\/[^/]/.test(searxng) || !URL.canParse(searxng))
      throw new ConfigError(`${where} must be the http(s) base URL of a SearXNG instance (JSON format enabled), such as http://searxng:8080`);
    return { provider, url: searxng.replace(/\/+$/, ""), timeoutMs: (num(section.timeout_s, "search.timeout_s", { ...SECONDS, min: 0.1 }) ?? 10) * 1000 };
  }
  if (provider === "local") {
    const folder = str(section.folder, "search.folder");
    if (!folder) throw new ConfigError("search.folder must name the folder of documents the local search indexes");
    let isFolder: boolean;
    try {
      isFolder = statSync(folder).isDirectory();
    } catch (error) {
      throw new ConfigError(`search.folder ${folder} cannot be used: ${fileProblem(error)}`);
    }
    if (!isFolder) throw new ConfigError(`search.folder ${folder} is a file: it must be the folder of documents the local search indexes`);
    return { provider, folder };
  }
  throw new ConfigError(`search.provider must be searxng or local, got ${JSON.stringify(provider)}`);
}

/** The gateway as a fresh install runs it: SQLite in `dataDir`, limits in memory, ledger on, metrics on. */
export function gatewayDefaults(dataDir: string): GatewayConfig {
  return { dataDir, ledger: { enabled: true, flushMs: 1000 }, limits: true, logContent: false, metrics: true };
}

function parseGateway(raw: Raw, flags: ConfigSources["flags"], env: NodeJS.ProcessEnv, names: Partial<Record<NamedSetting, string>>): GatewayConfig {
  const ledger = asRecord(raw.ledger, "ledger");
  knownKeys(ledger, "ledger", ["enabled", "flush_ms"]);
  const store = pick([
    [flags["store-url"], "--store-url"],
    [env.OPENSCOPE_STORE_URL, "OPENSCOPE_STORE_URL"],
    [raw.store_url, "store_url"],
  ]);
  const storeUrl = serviceUrl(store, /^postgres(ql)?:\/\//, "postgres://user:password@host:5432/database");
  const redis = pick([
    [flags["redis-url"], "--redis-url"],
    [env.OPENSCOPE_REDIS_URL, "OPENSCOPE_REDIS_URL"],
    [raw.redis_url, "redis_url"],
  ]);
  const redisUrl = serviceUrl(redis, /^rediss?:\/\//, "redis://host:6379");
  const adminKey = env.OPENSCOPE_ADMIN_KEY ?? str(raw.admin_key, "admin_key");
  if (adminKey !== undefined && adminKey.length < 16)
    throw new ConfigError(`${env.OPENSCOPE_ADMIN_KEY ? "OPENSCOPE_ADMIN_KEY" : "admin_key"} must be at least 16 characters`);
  const enabled = (value: unknown, where: string) => (value === undefined || value === null ? true : parseBool(value, where));
  const dataDir = pick([
    [flags["data-dir"], "--data-dir"],
    [env.OPENSCOPE_DATA_DIR, "OPENSCOPE_DATA_DIR"],
    [raw.data_dir, "data_dir"],
  ]);
  Object.assign(names, { store_url: store.where, redis_url: redis.where, data_dir: dataDir.where });
  return {
    dataDir: str(dataDir.value, dataDir.where) ?? defaultDataDir(env),
    storeUrl,
    redisUrl,
    adminKey,
    ledger: {
      enabled: enabled(ledger.enabled, "ledger.enabled"),
      flushMs: num(ledger.flush_ms, "ledger.flush_ms", { min: 10, max: TIMER_MAX_MS, integer: true }) ?? 1000,
    },
    limits: enabled(raw.limits, "limits"),
    logContent: parseBool(env.OPENSCOPE_LOG_CONTENT ?? raw.log_content, env.OPENSCOPE_LOG_CONTENT !== undefined ? "OPENSCOPE_LOG_CONTENT" : "log_content"),
    metrics: enabled(raw.metrics, "metrics"),
  };
}

export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  if (env.OPENSCOPE_CACHE_DIR) return env.OPENSCOPE_CACHE_DIR;
  return join(env.XDG_CACHE_HOME ?? join(homedir(), ".cache"), "openscope");
}

/** The keys a config file may hold at its top level. */
const TOP_LEVEL_KEYS = [
  "host",
  "port",
  "api_keys",
  "cache_dir",
  "gpu",
  "body_limit_mb",
  "request_timeout_s",
  "strict_compat",
  "models",
  "data_dir",
  "store_url",
  "redis_url",
  "admin_key",
  "ledger",
  "limits",
  "metrics",
  "log_content",
  "data_inspection",
  "files",
  "search",
  "media",
];

/** The config file's mapping; every problem reading or parsing it is one ConfigError line. */
function readConfigFile(file: string, where: string): Raw {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`config file ${file} (${where}) cannot be read: ${fileProblem(error)}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    // The yaml package's messages end with a drawing of the line; the first line says it all.
    const message = (error as Error).message.split("\n")[0]!.replace(/:$/, "");
    throw new ConfigError(`config file ${file} is not valid YAML: ${message}`);
  }
  if (parsed !== null && parsed !== undefined && (typeof parsed !== "object" || Array.isArray(parsed))) {
    throw new ConfigError(
      `config file ${file} must be a YAML mapping of settings (such as "port: 8000"), not ${Array.isArray(parsed) ? "a list" : `a ${typeof parsed}`}`,
    );
  }
  const raw = asRecord(parsed, "config");
  knownKeys(raw, file, TOP_LEVEL_KEYS);
  return raw;
}

/** One typed config from (lowest to highest precedence) the YAML file, the environment and flags. */
export function loadConfig({ flags, env }: ConfigSources): ServerConfig {
  const file = flags.config ?? env.OPENSCOPE_CONFIG;
  const raw: Raw = file ? readConfigFile(file, flags.config !== undefined ? "--config" : "OPENSCOPE_CONFIG") : {};
  const overrides: ModelOverrides = {};
  const sourced = (flag: keyof ConfigSources["flags"], envName: string) =>
    pick([
      [flags[flag], `--${flag}`],
      [env[envName], envName],
    ]);
  const numberFrom = ({ value, where }: Sourced, rule: NumberRule) => num(value, where, rule);
  const threads = numberFrom(sourced("threads", "OPENSCOPE_THREADS"), MODEL_RULES.threads);
  if (threads !== undefined) overrides.threads = threads;
  const parallel = numberFrom(sourced("parallel", "OPENSCOPE_PARALLEL"), MODEL_RULES.parallel);
  if (parallel !== undefined) overrides.parallel = parallel;
  const contextSize = numberFrom(sourced("context-size", "OPENSCOPE_CONTEXT_SIZE"), MODEL_RULES.contextSize);
  if (contextSize !== undefined) overrides.contextSize = contextSize;

  const modelFlag = flags.model ?? env.OPENSCOPE_MODEL;
  let models: ModelConfig[];
  if (modelFlag) models = [parseModel({ source: modelFlag }, flags.model !== undefined ? "--model" : "OPENSCOPE_MODEL", overrides)];
  else {
    const list = raw.models ?? [];
    if (!Array.isArray(list)) throw new ConfigError("models must be a list");
    models = list.map((m, i) => parseModel(asRecord(m, `models[${i}]`), `models[${i}]`, overrides));
  }
  const keysEnv =
    env.OPENSCOPE_API_KEYS?.split(",")
      .map((k) => k.trim())
      .filter(Boolean) ?? [];
  const keysFile = raw.api_keys ?? [];
  if (!Array.isArray(keysFile) || !keysFile.every((k) => typeof k === "string" && k !== "")) {
    throw new ConfigError("api_keys must be a list of strings");
  }
  const host = pick([
    [flags.host, "--host"],
    [env.OPENSCOPE_HOST, "OPENSCOPE_HOST"],
    [raw.host, "host"],
  ]);
  const port = pick([
    [flags.port, "--port"],
    [env.OPENSCOPE_PORT, "OPENSCOPE_PORT"],
    [raw.port, "port"],
  ]);
  const cacheDir = pick([
    [flags["cache-dir"], "--cache-dir"],
    [env.OPENSCOPE_CACHE_DIR, "OPENSCOPE_CACHE_DIR"],
    [raw.cache_dir, "cache_dir"],
  ]);
  const gpu = pick([
    [flags.gpu, "--gpu"],
    [env.OPENSCOPE_GPU, "OPENSCOPE_GPU"],
    [raw.gpu, "gpu"],
  ]);
  const strict = pick([
    [env.OPENSCOPE_STRICT_COMPAT, "OPENSCOPE_STRICT_COMPAT"],
    [raw.strict_compat, "strict_compat"],
  ]);
  const settingNames: Partial<Record<NamedSetting, string>> = { host: host.where, port: port.where, cache_dir: cacheDir.where };
  return {
    host: parseHost(host),
    port: num(port.value, port.where, { min: 0, max: 65535, integer: true, hint: "0 picks a free port" }) ?? 8000,
    apiKeys: [...keysFile, ...keysEnv],
    cacheDir: str(cacheDir.value, cacheDir.where) ?? defaultCacheDir(env),
    gpu: parseGpu(gpu),
    bodyLimitBytes: Math.round((num(raw.body_limit_mb, "body_limit_mb", { min: 0.001, max: MAX_BUFFER_MB }) ?? 10) * 1024 * 1024),
    requestTimeoutMs: (num(raw.request_timeout_s, "request_timeout_s", { ...SECONDS, min: 1 }) ?? 600) * 1000,
    strictCompat: flags["strict-compat"] === true || parseBool(strict.value, strict.where),
    models: assignAliases(models),
    gateway: parseGateway(raw, flags, env, settingNames),
    dataInspection: parseDataInspection(raw),
    files: parseFiles(raw),
    media: parseMedia(raw),
    search: parseSearch(raw, env),
    settingNames,
  };
}
