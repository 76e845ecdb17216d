import { homedir } from "node:os";
import { join } from "node:path";

/** DashScope model names that existing code uses; by default they all reach the (first) served model. */
export const DEFAULT_ALIASES = ["qwen-plus", "qwen-turbo", "qwen-flash", "qwen-max"] as const;

/** What `openscope serve` pulls when no model is configured: a small real Qwen3. */
export const DEFAULT_MODEL_SOURCE = "hf:Qwen/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf";

/**
 * Every setting's default, in the config file's names and units: the one table. The schema applies
 * it (and publishes it in the JSON Schema) after flags, environment and file had their say.
 */
export const DEFAULTS = {
  host: "127.0.0.1",
  port: 8000,
  gpu: "auto",
  body_limit_mb: 10,
  request_timeout_s: 600,
  strict_compat: false,
  log_level: "info",
  log_content: false,
  limits: true,
  metrics: true,
  ledger: { enabled: true, flush_ms: 1000 },
  files: { max_mb: 150 },
  media: { max_mb: 100, upload_ttl_h: 48 },
  search: { timeout_s: 10 },
  data_inspection: { always: false, classifier: { block: ["unsafe"], on_unreadable: "block" } },
  /** Embedded (llama.cpp) models. */
  model: { context_size: 8192, parallel: 4, max_queue: 64, max_output_tokens: 32768 },
  /** Models on upstream engines (`backend: openai`). */
  upstream: {
    kind: "openai",
    max_n: 4,
    max_queue: 64,
    max_output_tokens: 32768,
    timeouts: { first_byte_s: 60, idle_s: 120, health_interval_s: 10, cooldown_s: 2, auth_cooldown_s: 60 },
  },
  /** Sampling defaults of the embedded engine: qwen-plus (non-thinking) in the API reference. Upstream engines keep their own. */
  sampling: { temperature: 0.7, top_p: 0.8, top_k: 20, repetition_penalty: 1.05, presence_penalty: 0, max_tokens: 2048 },
} as const;

/** Where downloaded models go by default: $XDG_CACHE_HOME/openscope, else ~/.cache/openscope. */
export function defaultCacheDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_CACHE_HOME || join(homedir(), ".cache"), "openscope");
}

/** Where the server's data (store, uploads, files) goes by default: $XDG_DATA_HOME/openscope, else ~/.local/share/openscope. */
export function defaultDataDir(env: NodeJS.ProcessEnv): string {
  return join(env.XDG_DATA_HOME || join(homedir(), ".local", "share"), "openscope");
}
