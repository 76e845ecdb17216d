import type { ApiError } from "../../core/index.ts";
import { errorFrame } from "./sse.ts";

export interface NativeErrorBody {
  code: string;
  message: string;
  request_id: string;
}

export function nativeErrorBody(error: ApiError, requestId: string): NativeErrorBody {
  return { code: error.code, message: error.message, request_id: requestId };
}

/** An error inside (or instead of) a stream: HTTP stays 200, the frame carries the status. */
export function nativeErrorFrame(error: ApiError, requestId: string, eventId: number): string {
  return errorFrame(eventId, error.status, nativeErrorBody(error, requestId));
}
