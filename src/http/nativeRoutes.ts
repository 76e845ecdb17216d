import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiError, toApiError, type RequestStage, type EngineEvent } from "../core/index.ts";
import type { Moderator } from "../features/index.ts";
import type { SearchProvider } from "../features/search/index.ts";
import type { Gateway, ModelRegistry, FileService } from "../gateway/index.ts";
import type { MediaFetcher } from "../features/media/index.ts";
import { noteError, type gatewayHooks } from "./gatewayHooks.ts";
import {
  decodeGeneration,
  decodeTokenize,
  encodeTokenize,
  finalizeShape,
  NATIVE_PATHS,
  NativeResponseCollector,
  NativeStreamEncoder,
  nativeErrorFrame,
  resultFrame,
  SSE_CONTENT_TYPE,
  wantsStream,
  type ResponseShape,
} from "../protocols/dashscope/index.ts";
import { routeGeneration, startGeneration } from "./generation.ts";

export interface NativeRouteDeps {
  registry: ModelRegistry;
  gateway: Gateway;
  /** Authentication and metering hooks (gatewayHooks). */
  hooks: ReturnType<typeof gatewayHooks>;
  requestTimeoutMs: number;
  shutdownSignal: AbortSignal;
  /** Feature stages (tools, structured output, ...) every request goes through before its backend. */
  stages: readonly RequestStage[];
  /** Reproduce the real server's refusals of thinking-mode combinations openscope can serve. */
  strictCompat: boolean;
  /** Fetches media (SSRF-safe, `data:`, `oss://`) for the multimodal endpoint; absent: media input is refused. */
  media: MediaFetcher | undefined;
  /** Uploaded files, for `fileid://` references; absent: references stay as written. */
  files: FileService | undefined;
  /** Web search for `enable_search`; absent: such requests are refused. */
  search: SearchProvider | undefined;
  /** DataInspection: the configured moderators, and whether they run without the header too. */
  inspection: { moderator: Moderator; always: boolean } | undefined;
}

/** Writes a native SSE stream: one write per event, an `event:error` frame on failure, then close. */
async function streamEvents(request: FastifyRequest, reply: FastifyReply, events: AsyncIterable<EngineEvent>, shape: ResponseShape): Promise<void> {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "Content-Type": SSE_CONTENT_TYPE,
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    "X-Request-ID": request.id,
  });
  res.flushHeaders();
  const encoder = new NativeStreamEncoder(shape, request.id);
  let id = 0;
  try {
    for await (const event of events) {
      if (res.destroyed) break;
      res.write(resultFrame(++id, encoder.encode(event)));
    }
  } catch (error) {
    const apiError = toApiError(error);
    if (!(error instanceof ApiError)) request.log.error({ err: error }, "generation failed");
    noteError(request, apiError);
    if (!res.destroyed) res.write(nativeErrorFrame(apiError, request.id, ++id));
  } finally {
    res.end();
  }
}

async function collectEvents(request: FastifyRequest, events: AsyncIterable<EngineEvent>, shape: ResponseShape): Promise<object> {
  const collector = new NativeResponseCollector(shape, request.id);
  for await (const event of events) collector.add(event);
  return collector.body();
}

export function registerNativeRoutes(app: FastifyInstance, deps: NativeRouteDeps): void {
  const { gateway, hooks } = deps;

  const generationRoute = (endpoint: "text" | "multimodal") => async (request: FastifyRequest, reply: FastifyReply) => {
    const stream = wantsStream(request.headers);
    request.account!.stream = stream;
    const decoded = decodeGeneration(request.body, request.id, endpoint);
    const { route, generation } = await routeGeneration(deps, request, decoded.request);
    const shape = finalizeShape(decoded.shape, generation, { stream, strict: deps.strictCompat });
    const { events, dispose, imageSizes } = await startGeneration(deps, request, reply, route, generation);
    if (imageSizes) shape.imageSizes = imageSizes;
    try {
      if (stream) return await streamEvents(request, reply, events, shape);
      return reply.type("application/json").send(await collectEvents(request, events, shape));
    } finally {
      dispose();
    }
  };
  app.post(NATIVE_PATHS.textGeneration, { onRequest: hooks.metered("text-generation") }, generationRoute("text"));
  app.post(NATIVE_PATHS.multimodalGeneration, { onRequest: hooks.metered("multimodal-generation") }, generationRoute("multimodal"));

  app.post(NATIVE_PATHS.tokenizer, { onRequest: hooks.metered("tokenizer") }, async (request, reply) => {
    const { model, input } = decodeTokenize(request.body);
    const route = deps.registry.resolve(model);
    gateway.authorizeModel(request.account!, route, model);
    const result = await route.backend.tokenize(input);
    request.account!.noteUsage({ inputTokens: result.tokenIds.length, outputTokens: 0 });
    return reply.type("application/json").send(encodeTokenize(result, request.id));
  });

  app.get(NATIVE_PATHS.models, { onRequest: hooks.authenticated }, async (request, reply) => {
    const models = deps.registry.list().map((m) => ({
      name: m.name,
      aliases: m.aliases,
      ...(m.error !== undefined ? { status: "failed", reason: m.error } : { status: m.ready ? "ready" : "loading" }),
    }));
    return reply.type("application/json").send({ output: { models }, request_id: request.id });
  });
}
