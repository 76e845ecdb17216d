import type { FastifyRequest } from "fastify";
import type { Caller, Gateway } from "../gateway/index.ts";

/** A request header's value (the first, when sent more than once). */
export function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Who is calling: the Bearer key and, for workspace-bound keys, `X-DashScope-WorkSpace` (401/403 otherwise). */
export function authenticateCaller(gateway: Gateway, request: FastifyRequest): Promise<Caller> {
  return gateway.auth.authenticate(request.headers.authorization, headerValue(request, "x-dashscope-workspace"));
}
