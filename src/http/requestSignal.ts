import type { FastifyReply, FastifyRequest } from "fastify";
import { errors, type ApiError } from "../core/index.ts";

/**
 * One AbortSignal per request that fires when the client disconnects, the request times out, or
 * the server shuts down; its reason is the ApiError the client (if still there) should see.
 */
export function requestSignal(
  request: FastifyRequest,
  reply: FastifyReply,
  timeoutMs: number,
  shutdown: AbortSignal,
): { signal: AbortSignal; dispose: () => void } {
  const controller = new AbortController();
  const abort = (reason: ApiError) => {
    if (!controller.signal.aborted) controller.abort(reason);
  };
  const onClose = () => {
    if (!reply.raw.writableFinished) abort(errors.clientClosed());
  };
  const onShutdown = () => abort(errors.serviceShuttingDown());
  reply.raw.on("close", onClose);
  request.raw.on("aborted", onClose);
  if (shutdown.aborted) onShutdown();
  else shutdown.addEventListener("abort", onShutdown, { once: true });
  const timer = setTimeout(() => abort(errors.requestTimeout()), timeoutMs);
  timer.unref();
  return {
    signal: controller.signal,
    dispose: () => {
      clearTimeout(timer);
      shutdown.removeEventListener("abort", onShutdown);
      reply.raw.off("close", onClose);
      request.raw.off("aborted", onClose);
    },
  };
}
