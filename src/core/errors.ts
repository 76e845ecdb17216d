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
  payloadTooLarge: (limitBytes: number) =>
    new ApiError(413, "BadRequest.TooLarge", `Payload Too Large: the request body exceeds ${limitBytes} bytes.`),
  unsupportedMediaType: (contentType: string) =>
    new ApiError(
      415,
      "BadRequest.UnsupportedMediaType",
      `Unsupported Content-Type "${contentType}": the request body must be JSON (Content-Type: application/json).`,
    ),
  throttled: () => new ApiError(429, "Throttling", "Requests throttling triggered."),
  rateQuota: () => new ApiError(429, "Throttling.RateQuota", "Requests rate limit exceeded, please try again later."),
  allocationQuota: () => new ApiError(429, "Throttling.AllocationQuota", "Allocated quota exceeded, please increase your quota limit."),
  internal: () =>
    new ApiError(500, "InternalError", "An internal error has occured, please try again later or contact service support."),
  modelUnavailable: (message = "Model is unavailable, please try again later.") =>
    new ApiError(503, "ModelUnavailable", message),
  serviceShuttingDown: () => new ApiError(503, "ServiceUnavailable", "The server is shutting down, please try again later."),
} as const;

/** Any thrown value as an ApiError; unknown failures become InternalError (details go to the log, not the client). */
export function toApiError(error: unknown): ApiError {
  return error instanceof ApiError ? error : errors.internal();
}
