import type { ApiError } from "../../core/index.ts";

/** An error as OpenAI-compatible mode answers it (protocol.md §11): nested, lower-snake codes. */
export interface OpenAiErrorBody {
  error: { message: string; type: string; param: null; code: string };
  request_id: string;
}

const CODES: Record<string, string> = {
  InvalidParameter: "invalid_parameter_error",
  InvalidApiKey: "invalid_api_key",
  AccessDenied: "access_denied",
  NotFound: "not_found",
  MethodNotAllowed: "method_not_allowed",
  RequestTimeOut: "request_timeout",
  Throttling: "rate_limit_exceeded",
  InternalError: "internal_error",
  ModelUnavailable: "model_unavailable",
  ServiceUnavailable: "service_unavailable",
  DataInspectionFailed: "data_inspection_failed",
};

/** The real server's 401 text in this mode. */
const INVALID_KEY_MESSAGE = "Incorrect API key provided. For details, see: https://help.aliyun.com/zh/model-studio/error-code#apikey-error";

function codeOf(error: ApiError): string {
  if (error.reason === "model_not_found") return "model_not_found";
  if (error.code.startsWith("BadRequest.")) return "invalid_parameter_error";
  if (error.code.startsWith("Throttling")) return "rate_limit_exceeded";
  return (
    CODES[error.code] ??
    error.code
      .replace(/([a-z])([A-Z])/g, "$1_$2")
      .replace(/\./g, "_")
      .toLowerCase()
  );
}

/** HTTP status in this mode: an unknown model is a 404 here (400 on the native API). */
export function openAiStatus(error: ApiError): number {
  return error.reason === "model_not_found" ? 404 : error.status;
}

export function openAiErrorBody(error: ApiError, requestId: string): OpenAiErrorBody {
  const code = codeOf(error);
  return {
    error: {
      message: code === "invalid_api_key" ? INVALID_KEY_MESSAGE : error.message,
      type: error.status >= 500 ? "server_error" : "invalid_request_error",
      param: null,
      code,
    },
    request_id: requestId,
  };
}
