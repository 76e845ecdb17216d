/**
 * The configuration as one strict schema, in the config file's names and units: what
 * `openscope.yaml` may hold (published as JSON Schema by `openscope config schema`), with every
 * default from the one table. Flags and environment variables are laid over the file before it is
 * checked (see sources.ts), so they meet the same rules.
 */
import { z } from "zod";
import { UPSTREAM_KINDS } from "../backends/openai/index.ts";
import { parseAllowEntry } from "../features/media/index.ts";
import { DEFAULTS } from "./defaults.ts";
import { flag, httpUrl, listenHost, names, number, regex, seconds, serviceUrl, strictObject, text, TIMER_MAX_MS } from "./rules.ts";

/** The most parallel sequences one llama.cpp context takes (LLAMA_MAX_SEQ). */
const MAX_PARALLEL = 256;
/** The most threads ggml runs (GGML_MAX_N_THREADS). */
const MAX_THREADS = 512;
/** The longest context_size taken; the model's trained context and the machine's memory bound it further at load. */
const MAX_CONTEXT_SIZE = 2 ** 31 - 1;
/** Requests one model may keep waiting (beyond that: 503 at once). */
const MAX_QUEUE = 1_000_000;
/** The largest body or media size, in MiB, a Node buffer can hold. */
const MAX_BUFFER_MB = 4096;

const maxQueue = number({ min: 0, max: MAX_QUEUE, integer: true });
const megabytes = (min = 0.001) => number({ min, max: MAX_BUFFER_MB });

/** Sampling defaults, in the ranges a request may give (the real server's), so a default is never one a request could not set. */
const sampling = strictObject({
  temperature: number({ min: 0, max: 2, maxExclusive: true }).optional(),
  top_p: number({ min: 0, max: 1, minExclusive: true }).optional(),
  top_k: number({ min: 0, integer: true }).optional(),
  repetition_penalty: number({ min: 0, minExclusive: true }).optional(),
  presence_penalty: number({ min: -2, max: 2 }).optional(),
  max_tokens: number({ min: 1, integer: true }).optional(),
}).describe("Sampling defaults for requests that leave them out");

/** Keys every model takes, whichever backend serves it. */
const modelCommon = {
  aliases: names().default([]).describe("Other names the model answers to (the DashScope names by default for the first model)"),
  max_output_tokens: number({ min: 1, integer: true }).describe("Largest max_tokens accepted"),
  enable_thinking: flag().optional().describe("Think when a request leaves enable_thinking out (default: by the model's name)"),
  max_thinking_tokens: number({ min: 1, integer: true }).optional().describe("Largest thinking_budget; the budget when none is given"),
  defaults: sampling.optional(),
};

/** The model settings a flag or environment variable can set for every embedded model. */
const MODEL_RULES = {
  threads: number({ min: 1, max: MAX_THREADS, integer: true }),
  parallel: number({ min: 1, max: MAX_PARALLEL, integer: true, hint: `llama.cpp runs at most ${MAX_PARALLEL} sequences per context` }),
  context_size: number({ min: 64, max: MAX_CONTEXT_SIZE, integer: true }),
};

/** Where keys of the other kind of model belong, for the line that refuses them. */
function misplacedIn(owner: string, keys: string[]): Record<string, string> {
  return Object.fromEntries(keys.map((key) => [key, `${key} is ${owner} setting`]));
}

/** A GGUF model run by the embedded llama.cpp engine (`backend: llama`, the default). */
const embeddedModelSchema = strictObject(
  {
    backend: z.literal("llama").optional().describe("llama: the embedded engine (the default)"),
    name: text().optional().describe("The served name (default: from the file name)"),
    source: text("a .gguf path or hf:owner/repo/file.gguf").describe("A .gguf path or hf:owner/repo/file.gguf"),
    ...modelCommon,
    max_output_tokens: modelCommon.max_output_tokens.default(DEFAULTS.model.max_output_tokens),
    context_size: MODEL_RULES.context_size
      .optional()
      .describe(`Tokens per parallel slot, prompt and output (default ${DEFAULTS.model.context_size}, capped to the model's trained context)`),
    parallel: MODEL_RULES.parallel.default(DEFAULTS.model.parallel).describe("Slots decoded together"),
    threads: MODEL_RULES.threads.optional().describe("CPU threads (default: 1 for tiny models, all cores otherwise)"),
    flash_attention: z
      .union([z.literal("auto"), z.boolean()], { error: "must be auto, true or false" })
      .optional()
      .describe("auto (as llama-server: on where the backend supports it), true or false"),
    max_queue: maxQueue.default(DEFAULTS.model.max_queue).describe("Requests waiting for a slot before 503"),
  },
  misplacedIn("an upstream model's (backend: openai)", [
    "kind",
    "upstream_model",
    "replicas",
    "url",
    "api_key",
    "timeouts",
    "max_concurrency",
    "max_n",
    "modalities",
  ]),
);

const replicaUrl = httpUrl("http://10.0.0.5:8000/v1");

/** A model served by OpenAI-compatible engines or a DashScope endpoint (`backend: openai`). */
const upstreamModelSchema = strictObject(
  {
    backend: z.literal("openai").describe("openai: engines elsewhere (vLLM, SGLang, llama-server, Ollama, OpenAI-compatible APIs, DashScope)"),
    name: text("an upstream model needs the name it is served under"),
    ...modelCommon,
    max_output_tokens: modelCommon.max_output_tokens.default(DEFAULTS.upstream.max_output_tokens),
    kind: z.enum([...UPSTREAM_KINDS, "dashscope"]).default(DEFAULTS.upstream.kind),
    upstream_model: text().optional().describe("The model name the engine knows (default: name)"),
    replicas: z
      .array(z.union([replicaUrl, strictObject({ url: replicaUrl, api_key: text().optional() })]), { error: "must be a list of {url, api_key}" })
      .min(1, { error: "must list at least one {url, api_key}" })
      .optional(),
    url: replicaUrl.optional().describe("One replica's base URL (instead of replicas)"),
    api_key: text().optional().describe("That replica's key"),
    timeouts: strictObject({
      first_byte_s: seconds().default(DEFAULTS.upstream.timeouts.first_byte_s),
      idle_s: seconds().default(DEFAULTS.upstream.timeouts.idle_s),
      health_interval_s: seconds().default(DEFAULTS.upstream.timeouts.health_interval_s),
      cooldown_s: seconds().default(DEFAULTS.upstream.timeouts.cooldown_s),
      auth_cooldown_s: seconds().default(DEFAULTS.upstream.timeouts.auth_cooldown_s),
    }).prefault({}),
    max_concurrency: number({ min: 1, integer: true }).optional().describe("Requests sent to the model at once, all replicas together (default: no cap)"),
    max_queue: maxQueue.default(DEFAULTS.upstream.max_queue).describe("Requests waiting beyond max_concurrency before 503"),
    max_n: number({ min: 1, integer: true }).default(DEFAULTS.upstream.max_n).describe("Largest n (choices) per request"),
    modalities: z
      .array(z.enum(["image", "video", "audio"]))
      .default([])
      .describe("Media the model takes"),
  },
  {
    ...misplacedIn("an embedded model's (backend: llama)", ["source", "context_size", "threads", "flash_attention"]),
    parallel: "parallel is an embedded model's setting; an upstream model takes max_concurrency (requests at once) and max_n (choices per request)",
  },
).superRefine((model, ctx) => {
  if (model.replicas === undefined && model.url === undefined)
    ctx.addIssue({ code: "custom", path: ["replicas"], message: "must list at least one {url, api_key} (or give url)" });
  if (model.replicas !== undefined && (model.url !== undefined || model.api_key !== undefined))
    ctx.addIssue({ code: "custom", path: ["url"], message: "goes in replicas (with its api_key) when replicas is given" });
});

export const modelSchema = z.discriminatedUnion("backend", [embeddedModelSchema, upstreamModelSchema], {
  error: "must be llama (embedded, the default) or openai (upstream engines)",
});

const classifierSchema = strictObject({
  model: text("a served model's name, such as a Qwen3Guard"),
  block: z.array(z.enum(["safe", "unsafe", "controversial"])).default([...DEFAULTS.data_inspection.classifier.block]),
  on_unreadable: z.enum(["block", "allow"]).default(DEFAULTS.data_inspection.classifier.on_unreadable),
});

const searchSchema = strictObject({
  provider: z.enum(["searxng", "local"]).optional().describe("searxng (default when url is given) or local"),
  url: httpUrl("http://searxng:8080").optional().describe("A SearXNG instance with the JSON format enabled"),
  timeout_s: seconds(0.1).default(DEFAULTS.search.timeout_s),
  folder: text().optional().describe("The folder of documents the local search indexes"),
}).superRefine((search, ctx) => {
  const provider = search.provider ?? (search.url !== undefined ? "searxng" : search.folder !== undefined ? "local" : undefined);
  if (provider === "searxng" && search.url === undefined)
    ctx.addIssue({
      code: "custom",
      path: ["url"],
      message: "is required (the http(s) base URL of a SearXNG instance with the JSON format enabled, such as http://searxng:8080)",
    });
  if (provider === "local" && search.folder === undefined)
    ctx.addIssue({ code: "custom", path: ["folder"], message: "is required (the folder of documents the local search indexes)" });
});

/** The whole config file. */
export const configSchema = strictObject({
  host: listenHost().default(DEFAULTS.host).describe("Address to listen on: 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)"),
  port: number({ min: 0, max: 65535, integer: true, hint: "0 picks a free port" }).default(DEFAULTS.port),
  api_keys: names().default([]).describe("Static API keys (none, and no managed keys: an open server)"),
  cache_dir: text().optional().describe("Downloaded models (default $XDG_CACHE_HOME/openscope or ~/.cache/openscope)"),
  gpu: z
    .union([z.literal(false), z.enum(["auto", "cuda", "vulkan", "metal", "cpu", "off"])], { error: "must be auto, cuda, vulkan, metal or false" })
    .default(DEFAULTS.gpu),
  body_limit_mb: megabytes().default(DEFAULTS.body_limit_mb),
  request_timeout_s: seconds(1).default(DEFAULTS.request_timeout_s),
  strict_compat: flag().default(DEFAULTS.strict_compat).describe("Refuse what the real server refuses in thinking mode"),
  log_level: z.enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"]).default(DEFAULTS.log_level),
  models: z.array(modelSchema, { error: "must be a list of models" }).default([]).describe("None: the default model is pulled"),
  data_dir: text().optional().describe("The store, uploads and files (default $XDG_DATA_HOME/openscope or ~/.local/share/openscope)"),
  store_url: serviceUrl(/^postgres(ql)?:\/\//, "postgres://user:password@host:5432/database")
    .optional()
    .describe("PostgreSQL instead of SQLite"),
  redis_url: serviceUrl(/^rediss?:\/\//, "redis://host:6379")
    .optional()
    .describe("Limit counters shared by every instance using it"),
  admin_key: z.string({ error: "must be a string" }).min(16, { error: "must be at least 16 characters" }).optional().describe("Bearer key of /admin/v1"),
  ledger: strictObject({
    enabled: flag().default(DEFAULTS.ledger.enabled),
    flush_ms: number({ min: 10, max: TIMER_MAX_MS, integer: true }).default(DEFAULTS.ledger.flush_ms),
  }).prefault({}),
  limits: flag().default(DEFAULTS.limits).describe("Enforce per-key limits"),
  metrics: flag().default(DEFAULTS.metrics).describe("Serve GET /metrics"),
  log_content: flag().default(DEFAULTS.log_content).describe("Log message content and answers"),
  data_inspection: strictObject({
    terms: z.array(z.string(), { error: "must be a list of strings" }).default([]),
    terms_file: text().optional().describe("One term per line; # starts a comment"),
    patterns: z.array(regex(), { error: "must be a list of regular expressions" }).default([]),
    classifier: classifierSchema.optional(),
    always: flag().default(DEFAULTS.data_inspection.always).describe("Inspect every request, header or not"),
  }).prefault({}),
  files: strictObject({ max_mb: megabytes().default(DEFAULTS.files.max_mb) }).prefault({}),
  search: searchSchema.optional().describe("Web search for enable_search (absent: such requests are refused)"),
  media: strictObject({
    allow_hosts: z
      .array(
        z.string({ error: "must be a string" }).superRefine((entry, ctx) => {
          try {
            parseAllowEntry(entry);
          } catch (error) {
            ctx.addIssue({ code: "custom", message: (error as Error).message });
          }
        }),
        { error: "must be a list of hosts" },
      )
      .default([])
      .describe("Hosts (names, IPs or CIDRs, optionally :port) media URLs may reach although private"),
    max_mb: megabytes().default(DEFAULTS.media.max_mb),
    upload_ttl_h: number({ min: 0.01, max: 24 * 365 }).default(DEFAULTS.media.upload_ttl_h),
  }).prefault({}),
});

export type ConfigDocument = z.output<typeof configSchema>;
export type ModelDocument = z.output<typeof modelSchema>;

/** The JSON Schema of openscope.yaml, for editors (yaml-language-server) to complete and check it. */
export function configJsonSchema(): Record<string, unknown> {
  return { ...z.toJSONSchema(configSchema, { io: "input", unrepresentable: "any" }), title: "openscope configuration (openscope.yaml)" };
}
