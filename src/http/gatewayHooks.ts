import type { FastifyReply, FastifyRequest } from "fastify";
import { errors, type ApiError } from "../core/index.ts";
import { RequestAccount, type Gateway } from "../gateway/index.ts";
import { authenticateCaller } from "./requestValues.ts";
import type { AccessLogEntry, LineLogger } from "../observability/index.ts";

export interface MeteringOptions {
  gateway: Gateway;
  /** Writes the access-log line of a finished request. */
  accessLog: (log: LineLogger, entry: AccessLogEntry) => void;
  logContent: boolean;
}

function callerLabel(account: RequestAccount): string {
  const caller = account.caller;
  return caller.kind === "managed" ? caller.key.prefix : caller.kind;
}

/**
 * `onRequest` hooks for the model APIs. `metered(endpoint)` opens the request's account
 * (ledger record, metrics, access log — completed when the response closes, however it ends)
 * and authenticates; `authenticated` only authenticates (listings).
 */
export function gatewayHooks(options: MeteringOptions) {
  const { gateway } = options;
  return {
    metered(endpoint: string) {
      return async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
        const account = new RequestAccount(request.id, endpoint);
        if (options.logContent) account.captureContent();
        request.account = account;
        reply.raw.once("close", () => {
          // Closed before any answer was written (the client went away, or its request turned
          // out malformed mid-body and the connection was refused): 499, not the default 200.
          const answered = reply.raw.headersSent;
          if (!answered) account.error ??= errors.clientClosed();
          const record = gateway.complete(account, answered ? reply.raw.statusCode : 499);
          const content = options.logContent
            ? { input: (request.body as { input?: unknown; messages?: unknown } | undefined) ?? null, output: account.capturedContent ?? "" }
            : undefined;
          options.accessLog(request.log, { record, caller: callerLabel(account), content });
        });
        account.caller = await authenticateCaller(gateway, request);
      };
    },
    authenticated: async (request: FastifyRequest): Promise<void> => {
      await authenticateCaller(gateway, request);
    },
  };
}

/** Notes the error a client was told on the request's account (ledger code, metrics). */
export function noteError(request: FastifyRequest, error: ApiError): void {
  if (request.account) request.account.error = error;
}

declare module "fastify" {
  interface FastifyRequest {
    /** Set on metered routes (generation, tokenizer). */
    account?: RequestAccount;
  }
}
