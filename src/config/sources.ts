/**
 * One precedence rule for every setting: flag > environment variable > config file > default.
 * The flags and variables below are laid over the file's document before the schema checks it
 * (defaults come last, from the schema), and each remembers how it was given, so that a problem
 * names `--port`, `OPENSCOPE_PORT` or `port`, whichever the operator wrote.
 */
import { DEFAULT_ALIASES, DEFAULT_MODEL_SOURCE } from "./defaults.ts";

/** The `openscope serve` flags that are settings (parseArgs values: strings, `--strict-compat` a boolean). */
export interface ConfigFlags {
  config?: string | undefined;
  host?: string | undefined;
  port?: string | undefined;
  model?: string | undefined;
  "cache-dir"?: string | undefined;
  gpu?: string | undefined;
  threads?: string | undefined;
  parallel?: string | undefined;
  "context-size"?: string | undefined;
  "strict-compat"?: boolean | undefined;
  "data-dir"?: string | undefined;
  "store-url"?: string | undefined;
  "redis-url"?: string | undefined;
}

/** How a variable's or flag's text becomes the file's value: as is, a number, true/false, a comma list, a GPU choice. */
type Kind = "text" | "number" | "boolean" | "list" | "gpu";

interface Override {
  /**
   * The setting's path in the file; `models[].x` sets x on every embedded model (the default one when
   * none is listed), `models` replaces the list by one model from a source.
   */
  key: string;
  env: string;
  flag?: keyof ConfigFlags;
  kind: Kind;
  help: string;
}

/** Which config file is read: `--config`, else `OPENSCOPE_CONFIG`. */
export const CONFIG_FILE = { flag: "config", env: "OPENSCOPE_CONFIG" } as const;

/** Every setting a flag or an environment variable gives, in the order they are applied. */
export const OVERRIDES: readonly Override[] = [
  { key: "host", flag: "host", env: "OPENSCOPE_HOST", kind: "text", help: "address to listen on" },
  { key: "port", flag: "port", env: "OPENSCOPE_PORT", kind: "number", help: "port (0: a free one)" },
  { key: "api_keys", env: "OPENSCOPE_API_KEYS", kind: "list", help: "static API keys, comma-separated" },
  { key: "cache_dir", flag: "cache-dir", env: "OPENSCOPE_CACHE_DIR", kind: "text", help: "downloaded models" },
  { key: "gpu", flag: "gpu", env: "OPENSCOPE_GPU", kind: "gpu", help: "auto | cuda | vulkan | metal | false" },
  { key: "strict_compat", flag: "strict-compat", env: "OPENSCOPE_STRICT_COMPAT", kind: "boolean", help: "refuse what the real server refuses" },
  { key: "log_level", env: "OPENSCOPE_LOG_LEVEL", kind: "text", help: "access log level (debug also prints stack traces)" },
  { key: "log_content", env: "OPENSCOPE_LOG_CONTENT", kind: "boolean", help: "log message content and answers" },
  { key: "data_dir", flag: "data-dir", env: "OPENSCOPE_DATA_DIR", kind: "text", help: "the store, uploads and files" },
  { key: "store_url", flag: "store-url", env: "OPENSCOPE_STORE_URL", kind: "text", help: "postgres://… instead of SQLite" },
  { key: "redis_url", flag: "redis-url", env: "OPENSCOPE_REDIS_URL", kind: "text", help: "redis://… for shared limits" },
  { key: "admin_key", env: "OPENSCOPE_ADMIN_KEY", kind: "text", help: "Bearer key of the admin API" },
  { key: "search.url", env: "OPENSCOPE_SEARXNG_URL", kind: "text", help: "SearXNG for enable_search" },
  { key: "models", flag: "model", env: "OPENSCOPE_MODEL", kind: "text", help: "serve this one model (.gguf path or hf: URI)" },
  { key: "models[].threads", flag: "threads", env: "OPENSCOPE_THREADS", kind: "number", help: "threads of every embedded model" },
  { key: "models[].parallel", flag: "parallel", env: "OPENSCOPE_PARALLEL", kind: "number", help: "slots of every embedded model" },
  { key: "models[].context_size", flag: "context-size", env: "OPENSCOPE_CONTEXT_SIZE", kind: "number", help: "context of every embedded model" },
];

type Document = Record<string, unknown>;

/** The document to check, and for each path set by a flag or variable its name and the text given. */
export interface Layered {
  document: Document;
  /** `port` → `--port`: how each overridden setting was given. */
  origins: Map<string, string>;
  /** The text a flag or variable gave, as written (the document holds it converted). */
  given: Map<string, string>;
  /** The model served when the document lists none, with the flags and variables that set every embedded model. */
  defaultModel: Document;
}

function convert(text: string, kind: Kind): unknown {
  switch (kind) {
    case "number":
      return text.trim() !== "" && Number.isFinite(Number(text)) ? Number(text) : text;
    case "boolean":
      if (/^(true|1|yes)$/i.test(text)) return true;
      if (/^(false|0|no)$/i.test(text)) return false;
      return text;
    case "list":
      return text
        .split(",")
        .map((item) => item.trim())
        .filter(Boolean);
    case "gpu":
      return /^false$/i.test(text) ? false : text;
    case "text":
      return text;
  }
}

const isRecord = (value: unknown): value is Document => typeof value === "object" && value !== null && !Array.isArray(value);

/** The flag's, else the variable's value (empty counts as unset), with the name it was given under. */
function chosen(override: Override, flags: ConfigFlags, env: NodeJS.ProcessEnv): { value: unknown; name: string; text?: string } | undefined {
  const flagValue = override.flag === undefined ? undefined : flags[override.flag];
  if (flagValue === true) return { value: true, name: `--${override.flag}` };
  if (typeof flagValue === "string" && flagValue !== "") return { value: convert(flagValue, override.kind), name: `--${override.flag}`, text: flagValue };
  const envValue = env[override.env];
  if (envValue !== undefined && envValue !== "") return { value: convert(envValue, override.kind), name: override.env, text: envValue };
  return undefined;
}

/** The file's document with every flag and variable laid over it (the file itself is not changed). */
export function layer(file: Document, flags: ConfigFlags, env: NodeJS.ProcessEnv): Layered {
  const document = structuredClone(file);
  const defaultModel: Document = { source: DEFAULT_MODEL_SOURCE, aliases: [...DEFAULT_ALIASES] };
  const origins = new Map<string, string>();
  const given = new Map<string, string>();
  const set = (target: Document, key: string, path: string, value: { value: unknown; name: string; text?: string }) => {
    target[key] = value.value;
    origins.set(path, value.name);
    if (value.text !== undefined) given.set(path, value.text);
  };
  for (const override of OVERRIDES) {
    const value = chosen(override, flags, env);
    if (!value) continue;
    if (override.key === "models") {
      const model: Document = {};
      document.models = [model];
      set(model, "source", "models[0].source", value);
    } else if (override.key.startsWith("models[].")) {
      const key = override.key.slice("models[].".length);
      const models = Array.isArray(document.models) && document.models.length > 0 ? document.models : [defaultModel];
      models.forEach((model, i) => {
        if (isRecord(model) && (model.backend === undefined || model.backend === "llama")) set(model, key, `models[${i}].${key}`, value);
      });
    } else if (override.key.includes(".")) {
      const [section, key] = override.key.split(".") as [string, string];
      const target = isRecord(document[section]) ? (document[section] as Document) : {};
      document[section] = target;
      set(target, key, override.key, value);
    } else set(document, override.key, override.key, value);
  }
  return { document, origins, given, defaultModel };
}
