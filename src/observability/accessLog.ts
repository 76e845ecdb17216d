import type { UsageRecord } from "../core/index.ts";

/** The part of a pino logger the access log needs (Fastify's request logger fits). */
export interface LineLogger {
  info(fields: object, message: string): void;
  warn(fields: object, message: string): void;
}

export interface AccessLogOptions {
  /** Include the conversation and the answer (config `log_content`; off by default). */
  logContent: boolean;
}

export interface AccessLogEntry {
  record: UsageRecord;
  /** The managed key's display prefix (never the secret), or the caller kind. */
  caller: string;
  /** Only with `logContent`. */
  content?: { input: unknown; output: string } | undefined;
}

/**
 * One structured line per request, with its request_id: who (key prefix), what (model,
 * endpoint, backend/replica), how it went (status, code, tokens, TTFT, duration). Secrets are
 * never logged; message content only when configured.
 */
export function accessLogger(options: AccessLogOptions) {
  return (log: LineLogger, entry: AccessLogEntry): void => {
    const r = entry.record;
    const fields: Record<string, unknown> = {
      request_id: r.requestId,
      caller: entry.caller,
      workspace: r.workspace ?? undefined,
      model: r.model || undefined,
      endpoint: r.endpoint,
      backend: r.backend || undefined,
      replica: r.replica ?? undefined,
      stream: r.stream,
      status: r.status,
      code: r.code ?? undefined,
      input_tokens: r.inputTokens,
      output_tokens: r.outputTokens,
      reasoning_tokens: r.reasoningTokens || undefined,
      cached_tokens: r.cachedTokens || undefined,
      ttft_ms: r.ttftMs ?? undefined,
      duration_ms: r.durationMs,
    };
    if (options.logContent && entry.content) fields.content = entry.content;
    if (r.status >= 500 || r.code?.startsWith("Internal")) log.warn(fields, "request failed");
    else log.info(fields, "request completed");
  };
}
