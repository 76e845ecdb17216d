import type { FastifyReply, FastifyRequest } from "fastify";
import { resolveRequest } from "../core/pipeline.ts";
import type { EngineEvent, GenerationRequest, ModelRoute } from "../core/types.ts";
import type { NativeRouteDeps } from "./nativeRoutes.ts";
import { requestSignal } from "./requestSignal.ts";

/** The model a decoded request names, checked against the caller's key, and the request as that model will run it. */
export function routeGeneration(deps: NativeRouteDeps, request: FastifyRequest, decoded: GenerationRequest): { route: ModelRoute; generation: GenerationRequest } {
  const route = deps.registry.resolve(decoded.model);
  deps.gateway.authorizeModel(request.account!, route, decoded.model);
  return { route, generation: resolveRequest(decoded, route, deps.stages) };
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
): Promise<{ events: AsyncIterable<EngineEvent>; dispose: () => void }> {
  const account = request.account!;
  await deps.gateway.admit(account, route, generation);
  const { signal, dispose } = requestSignal(request, reply, deps.requestTimeoutMs, deps.shutdownSignal);
  return { events: account.observe(route.backend.generate(generation, signal, account.trace)), dispose };
}
