import { join } from "node:path";
import type { ModelRoute } from "../core/types.ts";
import { DEFAULT_ALIASES, DEFAULT_MODEL_SOURCE, parseModel, type DataInspectionConfig, type ModelConfig, type ServerConfig } from "../config/config.ts";
import { AnyOfModerators, ClassifierModerator, TermListModerator, type Moderator } from "../features/index.ts";
import { engineBuildName, LlamaBackend, llamaRuntime, ModelSourceError, resolveModelSource } from "../backends/llama/index.ts";
import { DashScopeUpstreamBackend } from "../backends/dashscope/index.ts";
import { OpenAiUpstreamBackend } from "../backends/openai/index.ts";
import { ModelRegistry, type Gateway } from "../gateway/index.ts";
import { Metrics } from "../observability/index.ts";
import { setupGateway } from "./gatewaySetup.ts";
import { randomBytes } from "node:crypto";
import { MediaFetcher } from "../features/media/fetch.ts";
import { UploadStore } from "../features/media/uploads.ts";
import { FileService } from "../gateway/files.ts";
import { openSearchProvider } from "../features/search/index.ts";
import { buildApp } from "../http/app.ts";
import { ensureTestModel } from "../testmodels/index.ts";

/** The served name of the built-in random-weight model: it says what it is. */
export const TINY_MODEL_NAME = "openscope-tiny-random";

export interface Logger {
  info(message: string): void;
  warn(message: string): void;
}

export const consoleLogger: Logger = {
  info: (message) => console.error(`openscope: ${message}`),
  warn: (message) => console.error(`openscope: WARNING: ${message}`),
};

export interface RunningServer {
  url: string;
  registry: ModelRegistry;
  gateway: Gateway;
  /** Resolves once every model is loaded (rejects if one fails). */
  loaded: Promise<void>;
  close(): Promise<void>;
}

interface ResolvedModel {
  config: ModelConfig;
  path: string;
}

/** Where and how remote models are fetched: the cache's models folder, a progress bar on a terminal. */
function pullOptions(config: ServerConfig) {
  return { cacheDir: join(config.cacheDir, "models"), progress: process.stderr.isTTY === true };
}

function isLoopback(host: string): boolean {
  return host === "localhost" || host === "::1" || host.startsWith("127.");
}

/**
 * With no model configured: the default Qwen3 pulled from the hub, or (offline) the built-in tiny
 * random-weight model, announced loudly so nobody mistakes its noise for a model's answer.
 */
async function defaultModel(config: ServerConfig, log: Logger): Promise<ResolvedModel> {
  try {
    const path = await resolveModelSource(DEFAULT_MODEL_SOURCE, pullOptions(config));
    return { config: parseModel({ source: DEFAULT_MODEL_SOURCE, aliases: [...DEFAULT_ALIASES] }, "default"), path };
  } catch (error) {
    if (!(error instanceof ModelSourceError) || !error.offline) throw error;
    log.warn(error.message);
    const path = await ensureTestModel("qwen3-tiny", join(config.cacheDir, "test-models"));
    log.warn(
      [
        `serving the built-in test model "${TINY_MODEL_NAME}" (random weights: its output is NOISE, not language).`,
        `It answers to ${[TINY_MODEL_NAME, ...DEFAULT_ALIASES].join(", ")}.`,
        `Get a real model with:  openscope pull ${DEFAULT_MODEL_SOURCE}   (then restart), or start with --model <file.gguf | hf:owner/repo/file.gguf>.`,
      ].join("\n  "),
    );
    return {
      config: parseModel({ source: path, name: TINY_MODEL_NAME, aliases: [...DEFAULT_ALIASES], context_size: 4096 }, "default"),
      path,
    };
  }
}

async function resolveModels(config: ServerConfig, log: Logger): Promise<ResolvedModel[]> {
  if (config.models.length === 0) return [await defaultModel(config, log)];
  const resolved: ResolvedModel[] = [];
  for (const model of config.models) {
    if (model.upstream) {
      resolved.push({ config: model, path: "" });
      continue;
    }
    const path = await resolveModelSource(model.source, pullOptions(config));
    resolved.push({ config: model, path });
  }
  return resolved;
}

function upstreamModel(model: ModelConfig, log: Logger): ModelRoute {
  const { kind, model: upstreamModel, ...rest } = model.upstream!;
  const u = model.upstream!;
  const common = { ...rest, name: model.name, upstreamModel, maxN: model.parallel };
  const backend = kind === "dashscope" ? new DashScopeUpstreamBackend(common) : new OpenAiUpstreamBackend({ ...common, kind });
  log.info(`model "${model.name}" served by ${u.kind} "${u.model}" on ${u.replicas.map((r) => r.url).join(", ")}`);
  return { name: model.name, backend, defaults: model.defaults };
}

async function loadModel(model: ResolvedModel, config: ServerConfig, log: Logger): Promise<ModelRoute> {
  if (model.config.upstream) return upstreamModel(model.config, log);
  const llama = await llamaRuntime(config.gpu);
  const backendOptions = {
    modelPath: model.path,
    contextSize: model.config.contextSize,
    parallel: model.config.parallel,
    maxQueue: model.config.maxQueue,
    ...(model.config.threads !== undefined ? { threads: model.config.threads } : {}),
    ...(model.config.flashAttention !== undefined ? { flashAttention: model.config.flashAttention } : {}),
  };
  const backend = await LlamaBackend.load(llama, backendOptions);
  const i = backend.info;
  log.info(
    `model "${model.config.name}" loaded (${i.architecture}, ${model.path}): ${i.parallel} slots x ${i.contextSize} tokens ` +
      `(KV cache and buffers ~${Math.round(i.contextBytes / 2 ** 20)} MiB beside ${Math.round(backend.modelBytes / 2 ** 20)} MiB of weights), ` +
      `${i.threads} thread(s), flash attention ${i.flashAttention === "auto" ? "auto" : i.flashAttention ? "on" : "off"}, gpu=${String(llama.gpu)}, engine: ${engineBuildName(llama)}${llama.buildType === "prebuilt" && llama.gpu === false ? " (`npm run build:engine` builds a faster one for this CPU)" : ""}${i.templateIsFallback ? ", no chat template in the file: using ChatML" : ""}`,
  );
  return { name: model.config.name, backend, defaults: model.config.defaults };
}

/** Media intake: the SDK upload flow's store (in the data dir, swept hourly) and the SSRF-safe fetcher that also resolves its `oss://` keys. */
function mediaIntake(config: ServerConfig) {
  const m = config.media ?? { allowHosts: [], maxBytes: 100 * 2 ** 20, uploadTtlMs: 48 * 3_600_000 };
  const uploads = new UploadStore({ dir: join(config.gateway.dataDir, "uploads"), secret: randomBytes(32), ttlMs: m.uploadTtlMs });
  const fetcher = new MediaFetcher({ allowHosts: m.allowHosts, maxBytes: m.maxBytes, resolveOss: (key) => uploads.resolve(key) });
  const sweeper = setInterval(() => void uploads.sweep().catch(() => undefined), 3_600_000);
  sweeper.unref();
  return { uploads, fetcher, sweeper };
}

/** The DataInspection moderators the config names (term lists, a guard model), or none. */
function buildModerator(config: DataInspectionConfig | undefined, registry: ModelRegistry, log: Logger): { moderator: Moderator; always: boolean } | undefined {
  if (!config) return undefined;
  const moderators: Moderator[] = [];
  const lists = new TermListModerator({ terms: config.terms, patterns: config.patterns });
  if (!lists.empty) moderators.push(lists);
  const classifier = config.classifier;
  if (classifier) moderators.push(new ClassifierModerator(() => registry.resolve(classifier.model), { block: classifier.block, onUnreadable: classifier.onUnreadable }));
  if (moderators.length === 0) return undefined;
  log.info(
    `DataInspection: ${config.terms.length} terms, ${config.patterns.length} patterns${classifier ? `, classifier model "${classifier.model}"` : ""}` +
      (config.always ? ", on every request" : ", on requests that ask (X-DashScope-DataInspection)"),
  );
  return { moderator: moderators.length === 1 ? moderators[0]! : new AnyOfModerators(moderators), always: config.always };
}

/** Resolves (pulls) the models, starts listening, and loads the models; /health turns 200 once they are loaded. */
export async function startServer(config: ServerConfig, log: Logger = consoleLogger, logger: boolean | object = false): Promise<RunningServer> {
  const resolved = await resolveModels(config, log);
  const registry = new ModelRegistry();
  for (const model of resolved) registry.announce(model.config.name, model.config.aliases);
  const setup = await setupGateway(config, log);
  const { gateway } = setup;
  if (!(await gateway.auth.required()) && !isLoopback(config.host)) {
    log.warn(`listening on ${config.host} with no API keys: anyone who can reach this port can use it. Create keys (openscope keys create) or set OPENSCOPE_API_KEYS.`);
  }
  const ledger = gateway.ledger;
  const metrics = config.gateway.metrics
    ? new Metrics({
        routes: () => registry.routes(),
        ledger: ledger ? () => ({ lagMs: ledger.lagMs(), pending: ledger.pending, dropped: ledger.dropped, written: ledger.written }) : undefined,
      })
    : undefined;
  const inspection = buildModerator(config.dataInspection, registry, log);
  const files = new FileService({ store: setup.store, dir: join(config.gateway.dataDir, "files"), maxBytes: config.files?.maxBytes ?? 150 * 2 ** 20 });
  const search = config.search ? openSearchProvider(config.search) : undefined;
  const media = mediaIntake(config);
  if (config.search) log.info(`web search: ${config.search.provider === "searxng" ? `SearXNG at ${config.search.url}` : `local corpus of ${config.search.folder}`}`);
  const { app, shutdown } = buildApp({
    registry,
    gateway,
    inspection,
    files,
    search,
    media,
    metrics,
    logContent: config.gateway.logContent,
    bodyLimitBytes: config.bodyLimitBytes,
    requestTimeoutMs: config.requestTimeoutMs,
    strictCompat: config.strictCompat,
    logger,
  });
  let address: string;
  try {
    address = await app.listen({ host: config.host, port: config.port });
  } catch (error) {
    await setup.close();
    throw error;
  }
  const loaded = (async () => {
    for (const model of resolved) registry.attach(await loadModel(model, config, log));
  })();
  loaded.catch(() => undefined);
  return {
    url: address,
    registry,
    gateway,
    loaded,
    async close() {
      await shutdown();
      await loaded.catch(() => undefined);
      await Promise.all(registry.routes().map((route) => route.backend.close()));
      await setup.close();
      search?.close();
      clearInterval(media.sweeper);
    },
  };
}
