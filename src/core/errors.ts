/**
 * The one error catalogue. Every failure a client can see is an ApiError; each dialect
 * renders it (native JSON or an `event:error` frame; OpenAI's nested shape later).
 * Codes and default messages follow the DashScope status-code reference (protocol.md §7.2).
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** What went wrong when the code alone does not say (dialects that tell the cases apart use it). */
    readonly reason?: "model_not_found",
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** Seconds the client should wait before retrying (throttling); sent as `Retry-After`. */
  retryAfterSeconds?: number;

  withRetryAfter(seconds: number): this {
    this.retryAfterSeconds = Math.max(1, Math.ceil(seconds));
    return this;
  }
}

export const invalidParameter = (message: string): ApiError => new ApiError(400, "InvalidParameter", message);

export const errors = {
  invalidParameter,
  emptyModel: () => new ApiError(400, "BadRequest.EmptyModel", 'Required parameter "model" missing from request.'),
  emptyInput: () => new ApiError(400, "BadRequest.EmptyInput", "Required input parameter missing from request."),
  modelNotFound: () => new ApiError(400, "InvalidParameter", "Model not exist.", "model_not_found"),
  invalidApiKey: () => new ApiError(401, "InvalidApiKey", "Invalid API-key provided."),
  accessDenied: (message = "Access denied.") => new ApiError(403, "AccessDenied", message),
  notFound: (method: string, url: string) =>
    new ApiError(404, "NotFound", `No route for ${method} ${url}. See the DashScope API reference for the available paths.`),
  methodNotAllowed: (method: string, url: string, allowed: readonly string[]) =>
    new ApiError(405, "MethodNotAllowed", `Method ${method} is not allowed for ${url}; use ${allowed.join(", ")}.`),
  requestTimeout: () => new ApiError(408, "RequestTimeOut", "Request timed out, please try again later."),
  payloadTooLarge: (limitBytes: number) => new ApiError(413, "BadRequest.TooLarge", `Payload Too Large: the request body exceeds ${limitBytes} bytes.`),
  uriTooLong: (limit: string) => new ApiError(414, "BadRequest.UriTooLong", `URI Too Long: ${limit}.`),
  expectationFailed: () => new ApiError(417, "BadRequest.ExpectationFailed", 'Expectation Failed: the only Expect header this server meets is "100-continue".'),
  headersTooLarge: (limitBytes: number) =>
    new ApiError(431, "BadRequest.HeadersTooLarge", `Request Header Fields Too Large: the request line and headers exceed ${limitBytes} bytes.`),
  /** The HTTP request itself is malformed (request line, headers, chunked framing, URL encoding). */
  malformedRequest: (what: string) => new ApiError(400, "InvalidParameter", `Malformed HTTP request: ${what}.`),
  unsupportedMediaType: (contentType: string) =>
    new ApiError(
      415,
      "BadRequest.UnsupportedMediaType",
      `Unsupported Content-Type "${contentType}": the request body must be JSON (Content-Type: application/json).`,
    ),
  throttled: () => new ApiError(429, "Throttling", "Requests throttling triggered."),
  rateQuota: () => new ApiError(429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later."),
  allocationQuota: () => new ApiError(429, "Throttling.AllocationQuota", "Allocated quota exceeded, please increase your quota limit."),
  internal: () => new ApiError(500, "InternalError", "An internal error has occured, please try again later or contact service support."),
  modelUnavailable: (message = "Model is unavailable, please try again later.") => new ApiError(503, "ModelUnavailable", message),
  serviceShuttingDown: () => new ApiError(503, "ServiceUnavailable", "The server is shutting down, please try again later."),
  /** A service this server was configured without (the store, the ledger). */
  serviceUnavailable: (message: string) => new ApiError(503, "ServiceUnavailable", message),
  /** The client went away before the answer (nobody reads it; it names the outcome in logs and the ledger). */
  clientClosed: () => new ApiError(499, "ClientClosedRequest", "The client closed the connection."),
} as const;

/** A client's text echoed in a message as it is, cut at `maxChars` (with "…"). */
export function clipText(text: string, maxChars = 120): string {
  if (text.length <= maxChars) return text;
  const end = /[\uD800-\uDBFF]/.test(text[maxChars - 1]!) ? maxChars - 1 : maxChars;
  return `${text.slice(0, end)}…`;
}

/** Nesting levels the server looks at when it quotes a client's value in a message. */
const PREVIEW_DEPTH = 4;

/**
 * A client's value quoted in an error message: JSON for what is small, cut at `maxChars` (with
 * "…") otherwise, and nested values beyond a few levels shown as `[…]` / `{…}`. Unlike
 * JSON.stringify or String() it never recurses deeper than that, so no value (however deep or
 * large) can overflow the stack or balloon a message; it never throws.
 */
export function jsonPreview(value: unknown, maxChars = 120): string {
  let out = "";
  const write = (text: string): boolean => {
    out += text;
    return out.length <= maxChars;
  };
  const visit = (v: unknown, depth: number): boolean => {
    if (v === null || v === undefined) return write("null");
    if (typeof v === "boolean") return write(v ? "true" : "false");
    if (typeof v === "number") return write(Number.isFinite(v) ? String(v) : "null");
    if (typeof v === "string") return write(JSON.stringify(v.length > maxChars ? v.slice(0, maxChars + 1) : v));
    if (typeof v !== "object") return write(typeof v);
    const array = Array.isArray(v);
    const keys = array ? undefined : Object.keys(v);
    const size = array ? (v as unknown[]).length : keys!.length;
    if (size === 0) return write(array ? "[]" : "{}");
    if (depth >= PREVIEW_DEPTH) return write(array ? "[…]" : "{…}");
    if (!write(array ? "[" : "{")) return false;
    for (let i = 0; i < size; i++) {
      if (i > 0 && !write(",")) return false;
      if (array) {
        if (!visit((v as unknown[])[i], depth + 1)) return false;
      } else {
        const key = keys![i]!;
        if (!write(`${JSON.stringify(key.length > maxChars ? key.slice(0, maxChars + 1) : key)}:`)) return false;
        if (!visit((v as Record<string, unknown>)[key], depth + 1)) return false;
      }
    }
    return write(array ? "]" : "}");
  };
  visit(value, 0);
  return clipText(out, maxChars);
}

/** Any thrown value as an ApiError; unknown failures become InternalError (details go to the log, not the client). */
export function toApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : errors.internal();
}
