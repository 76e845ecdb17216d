export { decodeGeneration } from "./decode.ts";
export { finalizeShape, STRICT_MESSAGES } from "./shape.ts";
export { NativeResponseCollector, NativeStreamEncoder, sumUsage, wireUsage, type ResponseShape } from "./encode.ts";
export { nativeErrorBody, nativeErrorFrame } from "./errors.ts";
export { decodeTokenize, encodeTokenize } from "./tokenizer.ts";
export { resultFrame, SSE_CONTENT_TYPE } from "./sse.ts";
export { EMPTY_MESSAGE } from "../shared/index.ts";

/** Native paths, relative to the server root (the SDKs' base URL is `<root>/api/v1`). */
export const NATIVE_PATHS = {
  textGeneration: "/api/v1/services/aigc/text-generation/generation",
  multimodalGeneration: "/api/v1/services/aigc/multimodal-generation/generation",
  tokenizer: "/api/v1/tokenizer",
  models: "/api/v1/models",
} as const;

/** Stream iff `X-DashScope-SSE: enable` or `Accept` includes `text/event-stream` (protocol.md §4). */
export function wantsStream(headers: Record<string, string | string[] | undefined>): boolean {
  const sse = headers["x-dashscope-sse"];
  const accept = headers.accept;
  const sseOn = (Array.isArray(sse) ? sse : [sse]).some((v) => v?.trim().toLowerCase() === "enable");
  const acceptSse = (Array.isArray(accept) ? accept : [accept]).some((v) => v?.toLowerCase().includes("text/event-stream"));
  return sseOn || acceptSse;
}
