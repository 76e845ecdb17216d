import { errors, invalidParameter, type GenerationRequest } from "../../core/index.ts";
import { decodeFeatures, decodeMessages, decodeSampling, isObject, optionalBoolean, wrongType, type JsonObject } from "../shared/index.ts";

/** How the client wants the answer. */
export interface ChatCompletionShape {
  stream: boolean;
  /** `stream_options.include_usage`: a last chunk with `choices: []` and the usage. */
  includeUsage: boolean;
  /** `stream_options.continuous_usage_stats` (vLLM's extension): every chunk carries its choice's usage so far. */
  continuousUsage: boolean;
}

export interface DecodedChatCompletion {
  request: GenerationRequest;
  shape: ChatCompletionShape;
}

/** OpenAI roles the native decoder does not know, as the ones it does. */
function nativeMessages(raw: unknown): unknown {
  if (!Array.isArray(raw)) return raw;
  return raw.map((m: unknown) => (isObject(m) && m.role === "developer" ? { ...m, role: "system" } : m));
}

/**
 * Decodes `POST /compatible-mode/v1/chat/completions` (protocol.md §11): OpenAI's body, with
 * DashScope's extras (`enable_thinking`, `thinking_budget`, `top_k`, `repetition_penalty`, …) at
 * the top level. Parameters are read by the decoders both dialects share — the names are the same —
 * so both validate alike, and errors name the fields where OpenAI's body has them (`messages[0]`,
 * `search_options`); OpenAI's `tool_choice: "required"` is added.
 */
export function decodeChatCompletion(body: unknown, requestId: string): DecodedChatCompletion {
  if (!isObject(body)) throw invalidParameter("The request body must be a JSON object.");
  const model = body.model;
  if (model === undefined || model === null || model === "") throw errors.emptyModel();
  if (typeof model !== "string") wrongType("model", "a string", model);
  if (body.messages === undefined || body.messages === null) throw invalidParameter('Required parameter "messages" missing from request.');
  const messages = decodeMessages(nativeMessages(body.messages), "messages");
  const required = body.tool_choice === "required";
  const features = decodeFeatures(required ? { ...body, tool_choice: undefined } : body, "search_options");
  if (required && features.tools) features.toolChoice = { type: "required" };
  const streamOptions = body.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && !isObject(streamOptions)) wrongType("stream_options", "an object", streamOptions);
  const option = (key: string) => (isObject(streamOptions) ? (optionalBoolean(streamOptions as JsonObject, key, `stream_options.${key}`) ?? false) : false);
  const shape: ChatCompletionShape = {
    stream: optionalBoolean(body, "stream", "stream") ?? false,
    includeUsage: option("include_usage"),
    continuousUsage: option("continuous_usage_stats"),
  };
  return { request: { requestId, model, messages, sampling: decodeSampling(body), features }, shape };
}
