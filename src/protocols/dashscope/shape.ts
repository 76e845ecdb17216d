import { invalidParameter, type GenerationRequest } from "../../core/index.ts";
import type { RequestedShape } from "./decode.ts";
import type { ResponseShape } from "./encode.ts";

export interface ShapeContext {
  stream: boolean;
  /** Reproduce the real server's refusals for combinations openscope can serve (config `strict_compat`). */
  strict: boolean;
}

/** The real server's messages for thinking-mode combinations it refuses. */
export const STRICT_MESSAGES = {
  nonStreamThinking: "parameter.enable_thinking must be set to false for non-streaming calls",
  cumulativeThinking: 'The incremental_output parameter must be "true" when enable_thinking is true',
  textThinking: 'The result_format parameter must be "message" when enable_thinking is true',
  jsonThinking: "Json mode response is not supported when enable_thinking is true",
  forcedToolThinking: "The tool_choice parameter does not support being set to required or object in thinking mode",
} as const;

function refuseLikeTheRealServer(request: GenerationRequest, requested: RequestedShape, context: ShapeContext): void {
  const { features } = request;
  if (!context.strict || features.thinking?.enabled !== true) return;
  if (!context.stream) throw invalidParameter(STRICT_MESSAGES.nonStreamThinking);
  if (!requested.incrementalOutput) throw invalidParameter(STRICT_MESSAGES.cumulativeThinking);
  if (requested.resultFormat === "text") throw invalidParameter(STRICT_MESSAGES.textThinking);
  if (features.responseFormat) throw invalidParameter(STRICT_MESSAGES.jsonThinking);
  if (features.toolChoice?.type === "function" || features.toolChoice?.type === "required") throw invalidParameter(STRICT_MESSAGES.forcedToolThinking);
}

/**
 * The answer's final shape once the model's defaults are applied: message format whenever the
 * answer carries what text format cannot (tool calls, logprobs, reasoning) and the client did
 * not choose; a clear refusal when the client chose text for tool calls or logprobs.
 */
export function finalizeShape(requested: RequestedShape, request: GenerationRequest, context: ShapeContext): ResponseShape {
  refuseLikeTheRealServer(request, requested, context);
  const { features } = request;
  const thinking = features.thinking?.enabled === true;
  const needsMessage = features.tools !== undefined || features.logprobs !== undefined;
  if (requested.resultFormat === "text" && needsMessage) {
    const what = features.tools !== undefined ? "tools are given" : "logprobs is true";
    throw invalidParameter(`The result_format parameter must be "message" when ${what}.`);
  }
  return {
    // The multimodal endpoint always answers in message format.
    resultFormat: requested.multimodal ? "message" : (requested.resultFormat ?? (needsMessage || thinking ? "message" : "text")),
    incrementalOutput: requested.incrementalOutput,
    reasoning: thinking,
    logprobs: features.logprobs !== undefined,
    ...(requested.multimodal ? { multimodal: true } : {}),
  };
}
