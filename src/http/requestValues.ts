import type { FastifyRequest } from "fastify";
import { invalidParameter } from "../core/index.ts";
import type { Caller, Gateway } from "../gateway/index.ts";
import { OPENAI_PATHS } from "../protocols/openai/index.ts";

/**
 * Whether a request target is on the OpenAI-compatible API (its errors are OpenAI-shaped):
 * duplicate slashes collapsed as the router does, an absolute-form target's origin dropped.
 */
export function isOpenAiPath(url: string): boolean {
  return url
    .replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/, "")
    .replace(/\/{2,}/g, "/")
    .startsWith(OPENAI_PATHS.prefix);
}

/** A request header's value (the first, when sent more than once). */
export function headerValue(request: FastifyRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

/** Who is calling: the Bearer key and, for workspace-bound keys, `X-DashScope-WorkSpace` (401/403 otherwise). */
export function authenticateCaller(gateway: Gateway, request: FastifyRequest): Promise<Caller> {
  return gateway.auth.authenticate(request.headers.authorization, headerValue(request, "x-dashscope-workspace"));
}

export type Query = Record<string, string | undefined>;

/** The query parameters, one value each (the last one when repeated). */
export function queryOf(request: FastifyRequest): Query {
  const raw = (request.query ?? {}) as Record<string, string | string[] | undefined>;
  const query: Query = {};
  for (const [key, value] of Object.entries(raw)) query[key] = Array.isArray(value) ? value.at(-1) : value;
  return query;
}

/** This server's base URL as the client reached it. */
export function baseUrlOf(request: FastifyRequest, trustForwardedHeaders: boolean): string {
  let protocol: string = request.protocol;
  let host = request.host;
  if (trustForwardedHeaders) {
    const proto = headerValue(request, "x-forwarded-proto")?.split(",")[0]?.trim().toLowerCase();
    const forwardedHost = headerValue(request, "x-forwarded-host")?.split(",")[0]?.trim();
    if (proto === "http" || proto === "https") protocol = proto;
    if (forwardedHost) host = forwardedHost;
  }
  // A Host value that is not a plain host[:port] is not echoed into a URL.
  if (!/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+)(:\d{1,5})?$/.test(host)) throw invalidParameter("The Host header is not a valid host name.");
  return `${protocol}://${host}`;
}
