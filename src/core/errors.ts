/**
 * The one error registry. Every failure a client can see is an ApiError made here: ERROR_CODES
 * holds each DashScope code this server answers with and its HTTP status, `errors` each message
 * template. Code elsewhere picks an entry (`errors.…`, `invalidParameter`) and never constructs
 * an ApiError itself (errorRegistry.test.ts checks the sources); the README's error table lists
 * every code. Each dialect renders an ApiError (native JSON or an `event:error` frame; OpenAI's
 * nested shape). Codes and messages follow the DashScope status-code reference (protocol.md §7.2).
 */

/** Each code this server answers with, and its HTTP status. */
export const ERROR_CODES = {
  InvalidParameter: 400,
  InvalidURL: 400,
  DataInspectionFailed: 400,
  "BadRequest.EmptyModel": 400,
  "BadRequest.EmptyInput": 400,
  InvalidApiKey: 401,
  AccessDenied: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  RequestTimeOut: 408,
  "BadRequest.TooLarge": 413,
  "BadRequest.UriTooLong": 414,
  "BadRequest.UnsupportedMediaType": 415,
  "BadRequest.ExpectationFailed": 417,
  "Throttling.RateQuota": 429,
  "Throttling.AllocationQuota": 429,
  "BadRequest.HeadersTooLarge": 431,
  ClientClosedRequest: 499,
  InternalError: 500,
  ModelUnavailable: 503,
  ServiceUnavailable: 503,
} as const satisfies Record<string, number>;

export type ErrorCode = keyof typeof ERROR_CODES;

export interface ApiErrorOptions {
  /** What went wrong when the code alone does not say (dialects that tell the cases apart use it). */
  reason?: "model_not_found";
  /** The failure behind this error: kept for the logs, never shown to the client. */
  cause?: unknown;
}

export class ApiError extends Error {
  /** What went wrong when the code alone does not say (dialects that tell the cases apart use it). */
  readonly reason: "model_not_found" | undefined;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: ApiErrorOptions = {},
  ) {
    super(message, "cause" in options ? { cause: options.cause } : undefined);
    this.name = "ApiError";
    this.reason = options.reason;
  }

  /** Seconds the client should wait before retrying (throttling); sent as `Retry-After`. */
  retryAfterSeconds?: number;

  withRetryAfter(seconds: number): this {
    this.retryAfterSeconds = Math.max(1, Math.ceil(seconds));
    return this;
  }

  /** Keeps the failure this error answers for (the logs show it; the client sees only code and message). */
  withCause(cause: unknown): this {
    this.cause = cause;
    return this;
  }
}

/** The registered error for a code: its status comes from ERROR_CODES. */
const registered = (code: ErrorCode, message: string, options?: ApiErrorOptions): ApiError => new ApiError(ERROR_CODES[code], code, message, options);

export const invalidParameter = (message: string): ApiError => registered("InvalidParameter", message);

const INTERNAL_MESSAGE = "An internal error has occured, please try again later or contact service support.";

export const errors = {
  invalidParameter,
  emptyModel: () => registered("BadRequest.EmptyModel", 'Required parameter "model" missing from request.'),
  emptyInput: () => registered("BadRequest.EmptyInput", "Required input parameter missing from request."),
  modelNotFound: () => registered("InvalidParameter", "Model not exist.", { reason: "model_not_found" }),
  /** A media source that is not a URL this server fetches (`url` already shortened for the message). */
  invalidUrl: (url: string, reason: string) => registered("InvalidURL", `Invalid URL provided in your request: ${url} (${reason})`),
  dataInspectionFailed: (side: "input" | "output") =>
    registered("DataInspectionFailed", `${side === "input" ? "Input" : "Output"} data may contain inappropriate content.`),
  invalidApiKey: () => registered("InvalidApiKey", "Invalid API-key provided."),
  accessDenied: (message = "Access denied.") => registered("AccessDenied", message),
  notFound: (method: string, url: string) => registered("NotFound", `No route for ${method} ${url}. See the DashScope API reference for the available paths.`),
  fileNotFound: (id: string) => registered("NotFound", `File not found: ${id}`),
  apiKeyNotFound: (idOrPrefix: string) => registered("NotFound", `No API key with id or prefix ${jsonPreview(idOrPrefix)}.`),
  methodNotAllowed: (method: string, url: string, allowed: readonly string[]) =>
    registered("MethodNotAllowed", `Method ${method} is not allowed for ${url}; use ${allowed.join(", ")}.`),
  requestTimeout: () => registered("RequestTimeOut", "Request timed out, please try again later."),
  payloadTooLarge: (limitBytes: number) => registered("BadRequest.TooLarge", `Payload Too Large: the request body exceeds ${limitBytes} bytes.`),
  fileTooLarge: (maxBytes: number) => registered("BadRequest.TooLarge", `File too large: files may be at most ${maxBytes} bytes.`),
  uriTooLong: (limit: string) => registered("BadRequest.UriTooLong", `URI Too Long: ${limit}.`),
  expectationFailed: () => registered("BadRequest.ExpectationFailed", 'Expectation Failed: the only Expect header this server meets is "100-continue".'),
  headersTooLarge: (limitBytes: number) =>
    registered("BadRequest.HeadersTooLarge", `Request Header Fields Too Large: the request line and headers exceed ${limitBytes} bytes.`),
  /** The HTTP request itself is malformed (request line, headers, chunked framing, URL encoding). */
  malformedRequest: (what: string) => registered("InvalidParameter", `Malformed HTTP request: ${what}.`),
  unsupportedMediaType: (contentType: string) =>
    registered("BadRequest.UnsupportedMediaType", `Unsupported Content-Type "${contentType}": the request body must be JSON (Content-Type: application/json).`),
  rateQuota: () => registered("Throttling.RateQuota", "Requests rate limit exceeded, please try again later."),
  allocationQuota: () => registered("Throttling.AllocationQuota", "Allocated quota exceeded, please increase your quota limit."),
  /** The server's own fault; with a message when it says what failed (an upstream engine), else DashScope's words. */
  internal: (message = INTERNAL_MESSAGE) => registered("InternalError", message),
  modelUnavailable: (message = "Model is unavailable, please try again later.") => registered("ModelUnavailable", message),
  serviceShuttingDown: () => registered("ServiceUnavailable", "The server is shutting down, please try again later."),
  /** A service this server was configured without (the store, the ledger). */
  serviceUnavailable: (message: string) => registered("ServiceUnavailable", message),
  noUpstreamReplica: (model: string, replicas: string, lastFailure?: string) =>
    registered(
      "ServiceUnavailable",
      `No upstream replica of model "${model}" is available: ${replicas}.${lastFailure === undefined ? "" : ` The last one tried failed: ${lastFailure}`}`,
    ),
  /** The search provider failed; `reason` when it is safe to show (no URLs or credentials). */
  webSearchFailed: (reason?: string) =>
    registered("ServiceUnavailable", `Web search failed${reason ? `: ${reason}` : ""}. Please try again later, or send the request without enable_search.`),
  mediaProcessingFailed: (timedOut: boolean) =>
    registered("ServiceUnavailable", `Media processing failed on this server${timedOut ? " (timed out)" : ""}; please try again later.`),
  /** The client went away before the answer (nobody reads it; it names the outcome in logs and the ledger). */
  clientClosed: () => registered("ClientClosedRequest", "The client closed the connection."),
  /**
   * An upstream DashScope endpoint's own error, passed on with its status, code and message: the
   * one entry whose code is not ours (the upstream's codes are DashScope's too).
   */
  relayed: (status: number, code: string, message: string) => new ApiError(status, code, message),
} as const;

/**
 * A module's own failure that a client may see (bad media, a failed tool, an ambiguous key
 * prefix): it names the registered error it stands for, and `toApiError` makes that error with
 * the failure kept as its cause. Failures that never reach a client (configuration, startup) are
 * plain Errors that the CLI turns into exit codes.
 */
export abstract class RegisteredError extends Error {
  /** The registered error a client sees for this failure. */
  abstract clientError(): ApiError;
}

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

/**
 * Any thrown value as an ApiError: a RegisteredError as the error it names, anything else as
 * InternalError; the original is kept as the cause (the log shows it, the client does not).
 */
export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof RegisteredError) return error.clientError().withCause(error);
  return errors.internal().withCause(error);
}
