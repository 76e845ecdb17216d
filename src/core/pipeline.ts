import { invalidParameter } from "./errors.ts";
import type { Capabilities, EngineEvent, GenerationRequest, ModelDefaults, ModelRoute } from "./types.ts";

/**
 * Refuses, with a clear InvalidParameter, whatever the request asks for that the backend cannot
 * honour. Nothing is ever dropped silently.
 */
export function assertCapabilities(request: GenerationRequest, capabilities: Capabilities, modelName: string): void {
  const { features, sampling } = request;
  const refuse = (what: string) => {
    throw invalidParameter(`${what} is not supported by model "${modelName}" on this server.`);
  };
  if (features.tools !== undefined && !capabilities.tools) refuse("Function calling (parameters.tools)");
  if (features.thinking?.enabled && !capabilities.thinking) refuse("Thinking mode (parameters.enable_thinking)");
  if (features.responseFormat !== undefined && !capabilities.grammar) refuse("Structured output (parameters.response_format)");
  if (features.logprobs !== undefined && !capabilities.logprobs) refuse("Log probabilities (parameters.logprobs)");
  if (features.search !== undefined) refuse("Web search (parameters.enable_search)");
  if (sampling.n > capabilities.maxN) refuse(`parameters.n=${sampling.n}`);
  if (sampling.stop.tokenIds.length > 0 && !capabilities.stopTokenIds) refuse("Stop token ids (parameters.stop as token lists)");
}

/** Fills sampling parameters the client left out from the model's configured defaults. */
export function applyModelDefaults(request: GenerationRequest, defaults: ModelDefaults): GenerationRequest {
  const s = request.sampling;
  if (s.maxTokens !== undefined && s.maxTokens > defaults.maxOutputTokens) {
    throw invalidParameter(`Range of max_tokens should be [1, ${defaults.maxOutputTokens}]`);
  }
  return {
    ...request,
    sampling: {
      ...s,
      temperature: s.temperature ?? defaults.temperature,
      topP: s.topP ?? defaults.topP,
      topK: s.topK ?? defaults.topK,
      repetitionPenalty: s.repetitionPenalty ?? defaults.repetitionPenalty,
      presencePenalty: s.presencePenalty ?? defaults.presencePenalty,
      maxTokens: s.maxTokens ?? defaults.maxTokens,
    },
  };
}

/** Runs one request against the model it was routed to. */
export function runGeneration(request: GenerationRequest, route: ModelRoute, signal: AbortSignal): AsyncIterable<EngineEvent> {
  assertCapabilities(request, route.backend.capabilities, route.name);
  return route.backend.generate(applyModelDefaults(request, route.defaults), signal);
}
