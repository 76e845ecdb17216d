import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiError, invalidParameter, toApiError, type EngineEvent, type GenerationRequest } from "../core/index.ts";
import { STRICT_MESSAGES } from "../protocols/dashscope/index.ts";
import {
  ChatCompletionChunkEncoder,
  chatCompletionBody,
  ChoiceStates,
  completionIdentity,
  dataFrame,
  decodeChatCompletion,
  OPENAI_PATHS,
  openAiErrorBody,
  type ChatCompletionContent,
  type ChatCompletionShape,
} from "../protocols/openai/index.ts";
import { startGeneration } from "./generation.ts";
import type { GenerationDeps } from "./generationDeps.ts";
import { noteError } from "./gatewayHooks.ts";

/** What the answer carries; with strict_compat, the real server's refusal of non-stream thinking. */
function contentOf(request: GenerationRequest, shape: ChatCompletionShape, strict: boolean): ChatCompletionContent {
  const thinking = request.features.thinking?.enabled === true;
  if (strict && thinking && !shape.stream) throw invalidParameter(STRICT_MESSAGES.nonStreamThinking);
  return { reasoning: thinking, logprobs: request.features.logprobs !== undefined };
}

/** Writes OpenAI's stream: `data: {chunk}` events, then `data: [DONE]`; a failure is a `data: {"error": …}` event. */
async function streamChunks(request: FastifyRequest, reply: FastifyReply, events: AsyncIterable<EngineEvent>, encoder: ChatCompletionChunkEncoder) {
  reply.hijack();
  const res = reply.raw;
  res.writeHead(200, {
    "Content-Type": "text/event-stream; charset=utf-8",
    "Cache-Control": "no-cache",
    "X-Accel-Buffering": "no",
    "X-Request-ID": request.id,
  });
  res.flushHeaders();
  try {
    for await (const event of events) {
      if (res.destroyed) break;
      res.write(encoder.encode(event).map(dataFrame).join(""));
    }
    const usage = encoder.finish();
    if (!res.destroyed) res.write((usage ? dataFrame(usage) : "") + dataFrame("[DONE]"));
  } catch (error) {
    const apiError = toApiError(error);
    if (!(error instanceof ApiError)) request.log.error({ err: error }, "generation failed");
    noteError(request, apiError);
    if (!res.destroyed) res.write(dataFrame(openAiErrorBody(apiError, request.id)));
  } finally {
    res.end();
  }
}

/** `/compatible-mode/v1/…`: the OpenAI dialect over the same pipeline and backends (protocol.md §11). */
export function registerOpenAiRoutes(app: FastifyInstance, deps: GenerationDeps): void {
  const { hooks } = deps;

  app.post(OPENAI_PATHS.chatCompletions, { onRequest: hooks.metered("chat.completions") }, async (request, reply) => {
    const decoded = decodeChatCompletion(request.body, request.id);
    request.account!.stream = decoded.shape.stream;
    const identity = completionIdentity(request.id, decoded.request.model);
    const {
      events,
      answer: carries,
      dispose,
    } = await startGeneration(deps, request, reply, decoded.request, {
      name: "OpenAI answer content",
      answer: (generation) => contentOf(generation, decoded.shape, deps.strictCompat),
    });
    try {
      if (decoded.shape.stream) {
        return await streamChunks(
          request,
          reply,
          events,
          new ChatCompletionChunkEncoder(identity, carries, decoded.shape.includeUsage, decoded.shape.continuousUsage),
        );
      }
      const collected = new ChoiceStates();
      for await (const event of events) collected.add(event);
      return reply.type("application/json").send(chatCompletionBody(identity, carries, collected));
    } finally {
      dispose();
    }
  });

  app.get(OPENAI_PATHS.models, { onRequest: hooks.authenticated }, async (_request, reply) => {
    const created = Math.floor(Date.now() / 1000);
    const data = deps.registry
      .list()
      .flatMap((m) => [m.name, ...m.aliases])
      .map((id) => ({ id, object: "model", created, owned_by: "openscope" }));
    return reply.type("application/json").send({ object: "list", data });
  });
}
