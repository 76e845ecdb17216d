import type { FastifyReply, FastifyRequest } from "fastify";
import { invalidParameter, resolveRequest, mediaParts, type EngineEvent, type GenerationRequest, type ModelRoute } from "../core/index.ts";
import { searchingGeneration } from "../features/search/index.ts";
import { prepareMedia, withMediaUsage, type MediaTokens } from "../features/media/index.ts";
import { expandFileReferences } from "../features/documents/index.ts";
import { INSPECTION_HEADER, inspectInput, inspectOutput, parseInspectionHeader, type InspectionRequest } from "../features/index.ts";
import type { NativeRouteDeps } from "./nativeRoutes.ts";
import { headerValue } from "./requestValues.ts";
import { requestSignal } from "./requestSignal.ts";

/**
 * The model a decoded request names, checked against the caller's key, and the request as that
 * model will run it (`fileid://` references replaced by the documents' text first).
 */
export async function routeGeneration(
  deps: NativeRouteDeps,
  request: FastifyRequest,
  decoded: GenerationRequest,
): Promise<{ route: ModelRoute; generation: GenerationRequest }> {
  const route = deps.registry.resolve(decoded.model);
  const account = request.account!;
  deps.gateway.authorizeModel(account, route, decoded.model);
  const expanded = deps.files ? await expandFileReferences(decoded, deps.files.textReader(account.caller)) : decoded;
  return { route, generation: resolveRequest(expanded, route, deps.stages, { search: deps.search !== undefined }) };
}

/** Which sides DataInspection covers for this request (`X-DashScope-DataInspection`, or always when configured so). */
function inspectedSides(deps: NativeRouteDeps, request: FastifyRequest): InspectionRequest {
  const asked = parseInspectionHeader(headerValue(request, INSPECTION_HEADER));
  const always = deps.inspection?.always === true;
  return { input: asked.input || always, output: asked.output || always };
}

/**
 * Admits the generation under the caller's limits and starts it: its events (observed for the
 * ledger and metrics) and the disposer of its cancellation signal (client gone, timeout, shutdown).
 */
export async function startGeneration(
  deps: NativeRouteDeps,
  request: FastifyRequest,
  reply: FastifyReply,
  route: ModelRoute,
  generation: GenerationRequest,
): Promise<{ events: AsyncIterable<EngineEvent>; dispose: () => void; imageSizes?: [number, number][] }> {
  const account = request.account!;
  let tokens: MediaTokens | undefined;
  if (mediaParts(generation.messages).length > 0) {
    if (!deps.media) throw invalidParameter("Media input is not enabled on this server.");
    const ossResolve = headerValue(request, "x-dashscope-ossresourceresolve")?.toLowerCase() === "enable";
    ({ request: generation, tokens } = await prepareMedia(generation, { fetcher: deps.media, ossResolve }));
  }
  const sides = inspectedSides(deps, request);
  const moderator = deps.inspection?.moderator;
  if (!moderator && (sides.input || sides.output)) {
    throw invalidParameter("X-DashScope-DataInspection was requested, but this server has no moderation configured (data_inspection in its config).");
  }
  if (moderator && sides.input) await inspectInput(moderator, generation.messages);
  await deps.gateway.admit(account, route, generation);
  const { signal, dispose } = requestSignal(request, reply, deps.requestTimeoutMs, deps.shutdownSignal);
  const generate = (req: GenerationRequest, inner: AbortSignal) => route.backend.generate(req, inner, account.trace);
  let events =
    generation.features.search && deps.search
      ? searchingGeneration(generation, generate, deps.search, signal, { toolCalling: route.backend.capabilities.tools })
      : generate(generation, signal);
  if (moderator && sides.output) events = inspectOutput(events, moderator, generation.messages);
  if (tokens) events = withMediaUsage(events, tokens);
  const imageSizes = generation.features.media?.returnImageSize
    ? mediaParts(generation.messages).flatMap((part): [number, number][] =>
        part.type === "image" && part.prepared ? [[part.prepared.height, part.prepared.width]] : [],
      )
    : undefined;
  return { events: account.observe(events), dispose, ...(imageSizes ? { imageSizes } : {}) };
}
