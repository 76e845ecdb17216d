import { randomUUID } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Socket } from "node:net";
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from "fastify";
import { ApiError, clipText, errors, RegisteredError, toApiError } from "../core/index.ts";
import type { FileService, Gateway, ModelRegistry } from "../gateway/index.ts";
import { accessLogger, type Metrics } from "../observability/index.ts";
import { registerAdminRoutes } from "./adminRoutes.ts";
import { registerFileRoutes } from "./filesRoutes.ts";
import { registerUploadRoutes } from "./uploadRoutes.ts";
import type { MediaFetcher, UploadStore } from "../features/media/index.ts";
import { gatewayHooks, noteError } from "./gatewayHooks.ts";
import { parseJsonBody } from "./jsonBody.ts";
import { answerClientError, answerConnect, answerExpectation, fromFastifyError, isClientGone, MAX_PARAM_LENGTH } from "./transportErrors.ts";
import { NATIVE_PATHS, nativeErrorBody, nativeErrorFrame, SSE_CONTENT_TYPE, wantsStream } from "../protocols/dashscope/index.ts";
import { requestStages, type Moderator } from "../features/index.ts";
import type { SearchProvider } from "../features/search/index.ts";
import { openAiErrorBody, openAiStatus } from "../protocols/openai/index.ts";
import { isOpenAiPath } from "./requestValues.ts";
import type { GenerationDeps } from "./generationDeps.ts";
import { registerNativeRoutes } from "./nativeRoutes.ts";
import { registerOpenAiRoutes } from "./openaiRoutes.ts";

export interface AppOptions {
  registry: ModelRegistry;
  gateway: Gateway;
  /** Prometheus metrics (`GET /metrics`); absent = not served. */
  metrics?: Metrics | undefined;
  /** Log conversations and answers in the access log (config `log_content`). */
  logContent?: boolean;
  /** Web search for `enable_search`; absent: none configured. */
  search?: SearchProvider | undefined;
  /** Uploaded files (`/compatible-mode/v1/files`, `/api/v1/files`, `fileid://`); absent: no files API. */
  files?: FileService | undefined;
  /** Media intake for the multimodal endpoint, and the SDK upload flow's store; absent: media refused. */
  media?: { fetcher: MediaFetcher; uploads: UploadStore } | undefined;
  /** DataInspection moderators (`X-DashScope-DataInspection`); absent: none configured. */
  inspection?: { moderator: Moderator; always: boolean } | undefined;
  bodyLimitBytes: number;
  requestTimeoutMs: number;
  /** Reproduce the real server's refusals of thinking-mode combinations (config `strict_compat`). */
  strictCompat?: boolean;
  /** Fastify/pino logger settings; false for none. */
  logger?: boolean | object;
}

export interface OpenscopeApp {
  app: FastifyInstance;
  /** Aborts every request in flight (their streams end with an error frame) and closes the server. */
  shutdown(): Promise<void>;
}

/** How long requests in flight get to end after shutdown aborts them. */
const SHUTDOWN_GRACE_MS = 5000;

/** The native endpoints that stream, as the real server: only there does an SSE client get its errors as `event:error`. */
const STREAMING_ROUTES: ReadonlySet<string | undefined> = new Set([NATIVE_PATHS.textGeneration, NATIVE_PATHS.multimodalGeneration]);

/**
 * Renders an error as the client expects it: OpenAI-compatible paths in OpenAI's shape; SSE
 * clients of the native generation endpoints get 200 + `event:error`; every other native answer
 * (files, uploads, tokenizer, admin, … whatever the Accept or X-DashScope-SSE header) is JSON.
 */
export function sendApiError(request: FastifyRequest, reply: FastifyReply, error: ApiError): FastifyReply {
  noteError(request, error);
  reply.header("X-Request-ID", request.id);
  if (error.retryAfterSeconds !== undefined) reply.header("Retry-After", String(error.retryAfterSeconds));
  if (isOpenAiPath(request.url)) {
    return reply.code(openAiStatus(error)).type("application/json").send(openAiErrorBody(error, request.id));
  }
  // The matched route (none for 404/405 and the router's own refusals).
  if (STREAMING_ROUTES.has(request.routeOptions?.url) && wantsStream(request.headers) && error.status !== 401 && error.status !== 404 && error.status !== 405) {
    return reply
      .code(200)
      .type(SSE_CONTENT_TYPE)
      .send(nativeErrorFrame(error, request.id, 1));
  }
  return reply.code(error.status).type("application/json").send(nativeErrorBody(error, request.id));
}

export function buildApp(options: AppOptions): OpenscopeApp {
  const app: FastifyInstance = Fastify({
    logger: options.logger ?? false,
    // One access-log line per model request comes from the gateway (with tokens and timings).
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: options.bodyLimitBytes,
    genReqId: () => randomUUID(),
    routerOptions: { ignoreDuplicateSlashes: true, ignoreTrailingSlash: true, maxParamLength: MAX_PARAM_LENGTH },
    // A request without Host is refused by the onRequest hook below in the catalogue's shape
    // (Node's own refusal is a bodiless 400).
    http: { requireHostHeader: false },
    // Fastify's routing errors (bad percent-encoding, over-long path parameters) and Node's
    // parser errors answer in the catalogue's shape too, never the framework's.
    frameworkErrors: (error, request, reply) => {
      const apiError = fromFastifyError(error, options.bodyLimitBytes, undefined);
      request.log.debug({ code: error.code }, "request refused by the router");
      return sendApiError(request, reply, apiError);
    },
    clientErrorHandler: (error, socket) => answerClientError(error, socket, app.log),
    // shutdown() lets requests in flight end (streams get their error frame) before this runs.
    forceCloseConnections: true,
  });
  const shutdownController = new AbortController();
  const inFlight = new Set<Promise<void>>();
  app.server.on("request", (_req, res) => {
    const done = new Promise<void>((resolve) => res.once("close", () => resolve()));
    inFlight.add(done);
    void done.then(() => inFlight.delete(done));
  });
  app.server.on("connect", (request: IncomingMessage, socket: Socket) => answerConnect(request, socket, app.log));
  app.server.on("checkExpectation", (request: IncomingMessage, response: ServerResponse) => answerExpectation(request, response));
  app.decorate("knownMethods", (path: string) => ["GET", "POST", "PUT", "DELETE", "PATCH"].filter((method) => app.hasRoute({ method, url: path })));

  app.addHook("onRequest", async (request, reply) => {
    reply.header("X-Request-ID", request.id);
    const raw = request.raw;
    if (raw.httpVersionMajor === 1 && raw.httpVersionMinor >= 1 && raw.headers.host === undefined) {
      throw errors.malformedRequest("an HTTP/1.1 request needs a Host header");
    }
  });

  // JSON bodies: empty, malformed or too deeply nested ones are a 400 (jsonBody.ts); a leading BOM is tolerated.
  app.removeContentTypeParser(["application/json", "text/plain"]);
  app.addContentTypeParser(["application/json", "text/plain"], { parseAs: "string" }, (_request, body, done) => {
    const parsed = parseJsonBody(body as string);
    if ("error" in parsed) return done(parsed.error, undefined);
    done(null, parsed.value);
  });
  app.addContentTypeParser("*", (request, _payload, done) => {
    done(errors.unsupportedMediaType(clipText(String(request.headers["content-type"] ?? ""))), undefined);
  });

  app.setErrorHandler((error: FastifyError | ApiError, request, reply) => {
    const apiError =
      error instanceof ApiError || error instanceof RegisteredError
        ? toApiError(error)
        : fromFastifyError(error, options.bodyLimitBytes, request.headers["content-type"]);
    // Only the server's own failures are errors in the log; the client's mistakes (and clients
    // that went away) are debug lines.
    if (apiError.status >= 500) request.log.error({ err: error }, "request failed");
    else if (!(error instanceof ApiError)) request.log.debug({ code: error.code, message: error.message, client_gone: isClientGone(error) }, "request refused");
    return sendApiError(request, reply, apiError);
  });

  const logContent = options.logContent ?? false;
  const hooks = gatewayHooks({ gateway: options.gateway, accessLog: accessLogger({ logContent }), logContent });
  const routeDeps: GenerationDeps = {
    registry: options.registry,
    gateway: options.gateway,
    hooks,
    requestTimeoutMs: options.requestTimeoutMs,
    shutdownSignal: shutdownController.signal,
    stages: requestStages,
    strictCompat: options.strictCompat ?? false,
    inspection: options.inspection,
    search: options.search,
    files: options.files,
    media: options.media?.fetcher,
  };
  registerNativeRoutes(app, routeDeps);
  registerOpenAiRoutes(app, routeDeps);
  registerAdminRoutes(app, options.gateway);
  if (options.files) registerFileRoutes(app, { files: options.files, gateway: options.gateway });
  if (options.media) registerUploadRoutes(app, { uploads: options.media.uploads, gateway: options.gateway });
  const metrics = options.metrics;
  if (metrics) {
    options.gateway.observe((_account, record) => metrics.observe(record));
    app.get("/metrics", async (_request, reply) => reply.type(metrics.contentType).send(await metrics.text()));
  }

  app.get("/health", async (_request, reply) => {
    const models = options.registry.list();
    // A model that failed to load never becomes ready: say so (and why) until the process ends.
    const failed = options.registry.failed;
    if (failed.length > 0) return reply.code(503).send({ status: "failed", reason: failed.map((m) => `model "${m.name}": ${m.error}`).join("; "), models });
    const ready = options.registry.ready;
    return reply.code(ready ? 200 : 503).send({ status: ready ? "ok" : "loading", models });
  });

  app.setNotFoundHandler((request, reply) => {
    const path = request.url
      .split("?")[0]!
      .replace(/\/{2,}/g, "/")
      .replace(/\/$/, "");
    const allowed = app.knownMethods(path);
    const error = allowed.length > 0 ? errors.methodNotAllowed(request.method, path, allowed) : errors.notFound(request.method, path);
    if (allowed.length > 0) reply.header("Allow", allowed.join(", "));
    return sendApiError(request, reply, error);
  });

  return {
    app,
    async shutdown() {
      shutdownController.abort(errors.serviceShuttingDown());
      const grace = new Promise<void>((resolve) => setTimeout(resolve, SHUTDOWN_GRACE_MS).unref());
      await Promise.race([Promise.all(inFlight), grace]);
      await app.close();
    },
  };
}

declare module "fastify" {
  interface FastifyInstance {
    knownMethods(path: string): string[];
  }
}
