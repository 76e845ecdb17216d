import { join } from "node:path";
import type { ModelRoute } from "../core/index.ts";
import type { DataInspectionConfig, EmbeddedModelConfig, ServerConfig, UpstreamModelConfig } from "../config/index.ts";
import { AnyOfModerators, ClassifierModerator, TermListModerator, type Moderator } from "../features/index.ts";
import {
  engineBuildName,
  InsufficientMemoryError,
  isRemoteSource,
  LlamaBackend,
  llamaRuntime,
  ModelSourceError,
  resolveModelSource,
} from "../backends/llama/index.ts";
import { DashScopeUpstreamBackend } from "../backends/dashscope/index.ts";
import { OpenAiUpstreamBackend } from "../backends/openai/index.ts";
import { ModelRegistry, type Gateway, FileService } from "../gateway/index.ts";
import { Metrics } from "../observability/index.ts";
import { setupGateway } from "./gatewaySetup.ts";
import { randomBytes } from "node:crypto";
import { MediaFetcher, UploadStore, hasFfmpeg } from "../features/media/index.ts";
import { extractText } from "../features/documents/index.ts";
import { openSearchProvider } from "../features/search/index.ts";
import { buildApp } from "../http/index.ts";
import { ensureTestModel } from "../testmodels/index.ts";
import { describeFailure, prepareDirectory, StartupError } from "./errors.ts";
import { consoleLogger, type Logger } from "./logger.ts";

export type { Logger } from "./logger.ts";

/** How long close() waits for an aborted model load to end before closing the rest. */
const LOAD_ABORT_WAIT_MS = 2000;

/** The served name of the built-in random-weight model: it says what it is. */
export const TINY_MODEL_NAME = "openscope-tiny-random";
const TINY_MODEL_CONTEXT = 4096;

export interface RunningServer {
  url: string;
  registry: ModelRegistry;
  gateway: Gateway;
  /** Resolves once every model is loaded (rejects if one fails). */
  loaded: Promise<void>;
  close(): Promise<void>;
}

/** A model ready to load: an embedded one with its local file, or an upstream one as configured. */
type ResolvedModel = { config: EmbeddedModelConfig; path: string } | { config: UpstreamModelConfig };

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
async function defaultModel(config: ServerConfig, log: Logger): Promise<{ config: EmbeddedModelConfig; path: string }> {
  const model = config.defaultModel;
  try {
    return { config: model, path: await resolveModelSource(model.source, pullOptions(config)) };
  } catch (error) {
    if (!(error instanceof ModelSourceError) || !error.offline) throw error;
    log.warn(error.message);
    const path = await ensureTestModel("qwen3-tiny", join(config.cacheDir, "test-models"));
    log.warn(
      [
        `serving the built-in test model "${TINY_MODEL_NAME}" (random weights: its output is NOISE, not language).`,
        `It answers to ${[TINY_MODEL_NAME, ...model.aliases].join(", ")}.`,
        `Get a real model with:  openscope pull ${model.source}   (then restart), or start with --model <file.gguf | hf:owner/repo/file.gguf>.`,
      ].join("\n  "),
    );
    // Its trained context, unless one was asked for.
    const contextSize = model.contextSizeIsDefault ? TINY_MODEL_CONTEXT : model.contextSize;
    return { config: { ...model, source: path, name: TINY_MODEL_NAME, contextSize }, path };
  }
}

async function resolveModels(config: ServerConfig, log: Logger): Promise<ResolvedModel[]> {
  if (config.models.length === 0 || config.models.some((m) => m.backend === "llama" && isRemoteSource(m.source))) {
    await prepareDirectory(config.cacheDir, config.settingNames.cache_dir, "downloaded models");
  }
  if (config.models.length === 0) return [await defaultModel(config, log)];
  const resolved: ResolvedModel[] = [];
  for (const model of config.models) {
    if (model.backend === "openai") resolved.push({ config: model });
    else resolved.push({ config: model, path: await resolveModelSource(model.source, pullOptions(config)) });
  }
  return resolved;
}

function upstreamModel(model: UpstreamModelConfig, log: Logger): ModelRoute {
  const { backend: _backend, kind, aliases: _aliases, defaults, ...options } = model;
  const backend = kind === "dashscope" ? new DashScopeUpstreamBackend(options) : new OpenAiUpstreamBackend({ ...options, kind });
  log.info(`model "${model.name}" served by ${kind} "${model.upstreamModel}" on ${model.replicas.map((r) => r.url).join(", ")}`);
  return { name: model.name, backend, defaults };
}

async function loadModel(model: ResolvedModel, config: ServerConfig, log: Logger, signal: AbortSignal): Promise<ModelRoute> {
  if (!("path" in model)) return upstreamModel(model.config, log);
  const llama = await llamaRuntime(config.gpu);
  const backendOptions = {
    modelPath: model.path,
    contextSize: model.config.contextSize,
    parallel: model.config.parallel,
    maxQueue: model.config.maxQueue,
    signal,
    ...(model.config.threads !== undefined ? { threads: model.config.threads } : {}),
    ...(model.config.flashAttention !== undefined ? { flashAttention: model.config.flashAttention } : {}),
  };
  let backend: LlamaBackend;
  try {
    backend = await LlamaBackend.load(llama, backendOptions);
  } catch (error) {
    if (error instanceof InsufficientMemoryError) {
      const capped =
        error.sizes && error.sizes.contextSize < model.config.contextSize
          ? ` (context_size ${model.config.contextSize} capped to the ${error.sizes.contextSize} tokens it was trained for)`
          : "";
      throw new InsufficientMemoryError(`model "${model.config.name}"${capped}: ${error.message}`, error.sizes);
    }
    throw error;
  }
  const i = backend.info;
  if (
    !model.config.contextSizeIsDefault &&
    model.config.contextSize > i.contextSize &&
    i.trainContextSize > 0 &&
    model.config.contextSize > i.trainContextSize
  ) {
    log.warn(
      `model "${model.config.name}": context_size ${model.config.contextSize} is above the ${i.trainContextSize} tokens it was trained for: ` +
        `each slot holds ${i.contextSize} tokens (capped, as llama-server does). Set context_size to ${i.trainContextSize} or less to silence this.`,
    );
  }
  log.info(
    `model "${model.config.name}" loaded (${i.architecture}, ${model.path}): ${i.parallel} slots x ${i.contextSize} tokens ` +
      `(KV cache and buffers ~${Math.round(i.contextBytes / 2 ** 20)} MiB beside ${Math.round(backend.modelBytes / 2 ** 20)} MiB of weights), ` +
      `${i.threads} thread(s), flash attention ${i.flashAttention === "auto" ? "auto" : i.flashAttention ? "on" : "off"}, gpu=${String(llama.gpu)}, engine: ${engineBuildName(llama)}${llama.buildType === "prebuilt" && llama.gpu === false ? " (`npm run build:engine` builds a faster one for this CPU)" : ""}${i.templateIsFallback ? ", no chat template in the file: using ChatML" : ""}`,
  );
  return { name: model.config.name, backend, defaults: model.config.defaults };
}

/** Media intake: the SDK upload flow's store (in the data dir, swept hourly) and the SSRF-safe fetcher that also resolves its `oss://` keys. */
function mediaIntake(config: ServerConfig) {
  const m = config.media;
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
  if (classifier)
    moderators.push(new ClassifierModerator(() => registry.resolve(classifier.model), { block: classifier.block, onUnreadable: classifier.onUnreadable }));
  if (moderators.length === 0) return undefined;
  log.info(
    `DataInspection: ${config.terms.length} terms, ${config.patterns.length} patterns${classifier ? `, classifier model "${classifier.model}"` : ""}` +
      (config.always ? ", on every request" : ", on requests that ask (X-DashScope-DataInspection)"),
  );
  return { moderator: moderators.length === 1 ? moderators[0]! : new AnyOfModerators(moderators), always: config.always };
}

/** A failed listen as one line naming the setting: port in use (run time), no such address, no privilege (settings). */
function listenError(error: unknown, config: ServerConfig): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  const { port, host } = config.settingNames;
  switch (code) {
    case "EADDRINUSE":
      return new StartupError(`port ${config.port} on ${config.host} is already in use by another process: stop it, or choose another port with ${port}`);
    case "EACCES":
      return new StartupError(
        `port ${config.port} needs privileges this user does not have (ports below 1024 usually do): choose a port from 1024 up with ${port}`,
        2,
      );
    case "EADDRNOTAVAIL":
      return new StartupError(
        `${host} ${config.host} is not an address of this machine: use one of its addresses, 127.0.0.1 (this machine only) or 0.0.0.0 (every interface)`,
        2,
      );
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_NONAME":
      return new StartupError(`${host} "${config.host}" does not resolve to an address: use an IP address of this machine, 127.0.0.1 or 0.0.0.0`, 2);
    default:
      return error;
  }
}

/**
 * Models that take video or audio need ffmpeg (and ffprobe) to sample and convert it; without them
 * every such request fails. Said once at startup, loudly, with what to install.
 */
async function warnWithoutFfmpeg(models: ResolvedModel[], log: Logger): Promise<void> {
  const needing = models.filter((m) => m.config.backend === "openai" && m.config.modalities.some((kind) => kind === "video" || kind === "audio"));
  if (needing.length === 0 || (await hasFfmpeg())) return;
  const names = needing.map((m) => `"${m.config.name}"`).join(", ");
  log.warn(
    `model ${names} takes video/audio input but ffmpeg/ffprobe are not installed: every video or audio request to it will fail (503). ` +
      `Install ffmpeg (Debian/Ubuntu: apt-get install ffmpeg; macOS: brew install ffmpeg) and restart.`,
  );
}

/** Resolves (pulls) the models, starts listening, and loads the models; /health turns 200 once they are loaded. */
export async function startServer(config: ServerConfig, log: Logger = consoleLogger, logger: boolean | object = false): Promise<RunningServer> {
  const resolved = await resolveModels(config, log);
  const registry = new ModelRegistry();
  for (const model of resolved) registry.announce(model.config.name, model.config.aliases);
  const setup = await setupGateway(config, log);
  const { gateway } = setup;
  if (!(await gateway.auth.required()) && !isLoopback(config.host)) {
    log.warn(
      `listening on ${config.host} with no API keys: anyone who can reach this port can use it. Create keys (openscope keys create) or set OPENSCOPE_API_KEYS.`,
    );
  }
  const ledger = gateway.ledger;
  const metrics = config.gateway.metrics
    ? new Metrics({
        routes: () => registry.routes(),
        ledger: ledger ? () => ({ lagMs: ledger.lagMs(), pending: ledger.pending, dropped: ledger.dropped, written: ledger.written }) : undefined,
      })
    : undefined;
  const inspection = buildModerator(config.dataInspection, registry, log);
  const files = new FileService({ store: setup.store, readDocument: extractText, dir: join(config.gateway.dataDir, "files"), maxBytes: config.files.maxBytes });
  const search = config.search ? openSearchProvider(config.search) : undefined;
  const media = mediaIntake(config);
  if (config.search)
    log.info(`web search: ${config.search.provider === "searxng" ? `SearXNG at ${config.search.url}` : `local corpus of ${config.search.folder}`}`);
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
    throw listenError(error, config);
  }
  void warnWithoutFfmpeg(resolved, log).catch(() => undefined);
  const loading = new AbortController();
  const loaded = (async () => {
    for (const model of resolved) {
      try {
        const route = await loadModel(model, config, log, loading.signal);
        if (loading.signal.aborted) {
          // Loaded after close() stopped waiting for it.
          await route.backend.close();
          throw loading.signal.reason;
        }
        registry.attach(route);
      } catch (error) {
        if (!loading.signal.aborted) registry.fail(model.config.name, describeFailure(error).lines.join("; "));
        throw error;
      }
    }
  })();
  loaded.catch(() => undefined);
  return {
    url: address,
    registry,
    gateway,
    loaded,
    async close() {
      loading.abort(new Error("shutting down"));
      await shutdown();
      // An aborted load ends at llama.cpp's next progress callback; a step that cannot be aborted
      // is not waited for long (the process is going away; its memory goes with it).
      await Promise.race([loaded.catch(() => undefined), new Promise<void>((resolve) => setTimeout(resolve, LOAD_ABORT_WAIT_MS).unref())]);
      await Promise.all(registry.routes().map((route) => route.backend.close()));
      await setup.close();
      search?.close();
      clearInterval(media.sweeper);
    },
  };
}
