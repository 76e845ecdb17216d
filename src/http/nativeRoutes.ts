import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { mediaParts, ApiError, toApiError, type EngineEvent, type GenerationRequest } from "../core/index.ts";
import { noteError } from "./gatewayHooks.ts";
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
import { startGeneration } from "./generation.ts";
import type { GenerationDeps } from "./generationDeps.ts";

/** `vl_enable_image_hw_output`: the prepared images' [height, width]. */
function imageSizes(request: GenerationRequest): [number, number][] {
  return mediaParts(request.messages).flatMap((part): [number, number][] =>
    part.type === "image" && part.prepared ? [[part.prepared.height, part.prepared.width]] : [],
  );
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

export function registerNativeRoutes(app: FastifyInstance, deps: GenerationDeps): void {
  const { gateway, hooks } = deps;

  const generationRoute = (endpoint: "text" | "multimodal") => async (request: FastifyRequest, reply: FastifyReply) => {
    const stream = wantsStream(request.headers);
    request.account!.stream = stream;
    const decoded = decodeGeneration(request.body, request.id, endpoint);
    const started = await startGeneration(deps, request, reply, decoded.request, {
      name: "DashScope answer shape",
      answer: (generation) => finalizeShape(decoded.shape, generation, { stream, strict: deps.strictCompat }),
    });
    const shape = started.answer;
    try {
      if (started.request.features.media?.returnImageSize) shape.imageSizes = imageSizes(started.request);
      if (stream) return await streamEvents(request, reply, started.events, shape);
      return reply.type("application/json").send(await collectEvents(request, started.events, shape));
    } finally {
      started.dispose();
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
