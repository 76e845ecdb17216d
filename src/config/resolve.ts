/** From the checked document (file names and units, defaults applied) to the typed config the server runs on. */
import { readFileSync, statSync } from "node:fs";
import { basename } from "node:path";
import type { ModelDefaults } from "../core/index.ts";
import { ConfigError } from "./configError.ts";
import { DEFAULT_ALIASES, DEFAULTS, defaultCacheDir, defaultDataDir } from "./defaults.ts";
import type { ConfigDocument, ModelDocument } from "./schema.ts";
import type {
  DataInspectionConfig,
  EmbeddedModelConfig,
  GatewayConfig,
  ModelConfig,
  NamedSetting,
  SearchConfig,
  ServerConfig,
  UpstreamModelConfig,
} from "./types.ts";

const MIB = 1024 * 1024;

/** A served name from a model source: file name without extension, lower-cased. */
function nameFromSource(source: string): string {
  const file = basename(source.replace(/^(hf|huggingface):/i, "")).replace(/\.gguf$/i, "");
  return file.toLowerCase().replace(/[^a-z0-9._-]+/g, "-") || "model";
}

/**
 * Sampling defaults: the reference's qwen-plus values for the embedded engine; for upstream
 * engines only what the config names (the engine's own generation config applies otherwise).
 */
function samplingDefaults(model: ModelDocument, embedded: boolean): ModelDefaults {
  const given = model.defaults ?? {};
  const fallback = (value: number | undefined, standard: number) => value ?? (embedded ? standard : undefined);
  const s = DEFAULTS.sampling;
  const defaults: ModelDefaults = { maxOutputTokens: model.max_output_tokens };
  const set = <K extends keyof ModelDefaults>(key: K, value: ModelDefaults[K] | undefined) => {
    if (value !== undefined) defaults[key] = value;
  };
  set("temperature", fallback(given.temperature, s.temperature));
  set("topP", fallback(given.top_p, s.top_p));
  set("topK", fallback(given.top_k, s.top_k));
  set("repetitionPenalty", fallback(given.repetition_penalty, s.repetition_penalty));
  set("presencePenalty", fallback(given.presence_penalty, s.presence_penalty));
  const maxTokens = fallback(given.max_tokens, s.max_tokens);
  set("maxTokens", maxTokens === undefined ? undefined : Math.min(maxTokens, model.max_output_tokens));
  set("enableThinking", model.enable_thinking);
  set("maxThinkingTokens", model.max_thinking_tokens);
  return defaults;
}

export function resolveModel(model: ModelDocument): ModelConfig {
  if (model.backend === "openai") {
    const t = model.timeouts;
    const replicas = model.replicas ?? [{ url: model.url!, ...(model.api_key !== undefined ? { api_key: model.api_key } : {}) }];
    const upstream: UpstreamModelConfig = {
      backend: "openai",
      kind: model.kind,
      name: model.name,
      aliases: [...model.aliases],
      upstreamModel: model.upstream_model ?? model.name,
      replicas: replicas.map((replica) => {
        const { url, api_key } = typeof replica === "string" ? { url: replica, api_key: undefined } : replica;
        return { url: url.replace(/\/+$/, ""), ...(api_key !== undefined ? { apiKey: api_key } : {}) };
      }),
      firstByteTimeoutMs: t.first_byte_s * 1000,
      idleTimeoutMs: t.idle_s * 1000,
      healthIntervalMs: t.health_interval_s * 1000,
      cooldownMs: t.cooldown_s * 1000,
      authCooldownMs: t.auth_cooldown_s * 1000,
      maxConcurrency: model.max_concurrency,
      maxQueue: model.max_queue,
      maxN: model.max_n,
      modalities: [...model.modalities],
      defaults: samplingDefaults(model, false),
    };
    return upstream;
  }
  const embedded: EmbeddedModelConfig = {
    backend: "llama",
    name: model.name ?? nameFromSource(model.source),
    aliases: [...model.aliases],
    source: model.source,
    contextSize: model.context_size ?? DEFAULTS.model.context_size,
    contextSizeIsDefault: model.context_size === undefined,
    parallel: model.parallel,
    threads: model.threads,
    flashAttention: model.flash_attention,
    maxQueue: model.max_queue,
    defaults: samplingDefaults(model, true),
  };
  return embedded;
}

/**
 * Gives the default DashScope names to the first model, unless some model already claims one.
 * Names must be unique across models and aliases.
 */
function assignAliases(models: ModelConfig[]): ModelConfig[] {
  const claimed = new Set(models.flatMap((m) => m.aliases));
  const first = models[0];
  if (first) first.aliases = [...first.aliases, ...DEFAULT_ALIASES.filter((a) => !claimed.has(a) && a !== first.name)];
  const seen = new Set<string>();
  const problems: string[] = [];
  models.forEach((model, i) => {
    for (const name of [model.name, ...model.aliases]) {
      if (seen.has(name)) problems.push(`models[${i}]: the name or alias "${name}" is already another model's (names and aliases must be unique)`);
      seen.add(name);
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return models;
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

/** The text of a file a setting names, or a ConfigError naming the setting. */
export function readSettingFile(file: string, where: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    throw new ConfigError(`${where}: ${file} cannot be read: ${fileProblem(error)}`);
  }
}

function dataInspection(section: ConfigDocument["data_inspection"]): DataInspectionConfig {
  const terms = [...section.terms];
  if (section.terms_file !== undefined) {
    const text = readSettingFile(section.terms_file, "data_inspection.terms_file");
    terms.push(
      ...text
        .split(/\r?\n/)
        .map((line) => line.trim())
        .filter((line) => line !== "" && !line.startsWith("#")),
    );
  }
  const c = section.classifier;
  return {
    terms,
    patterns: [...section.patterns],
    classifier: c && { model: c.model, block: [...c.block], onUnreadable: c.on_unreadable },
    always: section.always,
  };
}

function search(section: ConfigDocument["search"]): SearchConfig | undefined {
  if (!section) return undefined;
  if (section.url !== undefined && section.provider !== "local")
    return { provider: "searxng", url: section.url.replace(/\/+$/, ""), timeoutMs: section.timeout_s * 1000 };
  if (section.folder === undefined) return undefined;
  let isFolder: boolean;
  try {
    isFolder = statSync(section.folder).isDirectory();
  } catch (error) {
    throw new ConfigError(`search.folder: ${section.folder} cannot be used: ${fileProblem(error)}`);
  }
  if (!isFolder) throw new ConfigError(`search.folder: ${section.folder} is a file: it must be the folder of documents the local search indexes`);
  return { provider: "local", folder: section.folder };
}

/** The gateway as a fresh install runs it: SQLite in `dataDir`, limits in memory, ledger on, metrics on. */
export function gatewayDefaults(dataDir: string): GatewayConfig {
  return {
    dataDir,
    ledger: { enabled: DEFAULTS.ledger.enabled, flushMs: DEFAULTS.ledger.flush_ms },
    limits: DEFAULTS.limits,
    logContent: DEFAULTS.log_content,
    metrics: DEFAULTS.metrics,
  };
}

/** The typed config; `origins` names the settings a flag or variable gave (for later startup errors); `env` places the default directories. */
export function resolveConfig(
  document: ConfigDocument,
  origins: ReadonlyMap<string, string>,
  env: NodeJS.ProcessEnv,
  defaultModel: EmbeddedModelConfig,
): ServerConfig {
  const named = (key: NamedSetting) => origins.get(key) ?? key;
  const gpu = document.gpu === "cpu" || document.gpu === "off" ? false : document.gpu;
  return {
    host: document.host.replace(/^\[(.*)\]$/, "$1"),
    port: document.port,
    apiKeys: [...document.api_keys],
    cacheDir: document.cache_dir ?? defaultCacheDir(env),
    gpu,
    bodyLimitBytes: Math.round(document.body_limit_mb * MIB),
    requestTimeoutMs: document.request_timeout_s * 1000,
    strictCompat: document.strict_compat,
    logLevel: document.log_level,
    models: assignAliases(document.models.map(resolveModel)),
    defaultModel,
    gateway: {
      dataDir: document.data_dir ?? defaultDataDir(env),
      storeUrl: document.store_url,
      redisUrl: document.redis_url,
      adminKey: document.admin_key,
      ledger: { enabled: document.ledger.enabled, flushMs: document.ledger.flush_ms },
      limits: document.limits,
      logContent: document.log_content,
      metrics: document.metrics,
    },
    dataInspection: dataInspection(document.data_inspection),
    files: { maxBytes: document.files.max_mb * MIB },
    media: {
      allowHosts: [...document.media.allow_hosts],
      maxBytes: document.media.max_mb * MIB,
      uploadTtlMs: document.media.upload_ttl_h * 3_600_000,
    },
    search: search(document.search),
    settingNames: {
      host: named("host"),
      port: named("port"),
      data_dir: named("data_dir"),
      cache_dir: named("cache_dir"),
      store_url: named("store_url"),
      redis_url: named("redis_url"),
    },
  };
}
