import { mediaParts } from "./content.ts";
import { invalidParameter } from "./errors.ts";
import { thinksByDefault } from "./thinkingDefaults.ts";
import type { Capabilities, GenerationRequest, ModelDefaults, ModelRoute } from "./types.ts";

/*
 * The first part of the pipeline's validate step: what the routed backend cannot honour is
 * refused, and what the client left out is filled from the model's configured defaults.
 */

/** Largest thinking budget when the model's configuration names none. */
export const DEFAULT_MAX_THINKING_TOKENS = 32768;

/** The real server's messages. */
export const PARTIAL_THINKING_MESSAGE = "Partial mode is not supported when enable_thinking is true";
export function thinkingBudgetMessage(max: number): string {
  return `The thinking_budget parameter must be a positive integer and not greater than ${max}`;
}

/** What the server adds to every backend (configured services). */
export interface ServerServices {
  /** A web-search provider is configured (`enable_search`). */
  search: boolean;
}

const NO_SERVICES: ServerServices = { search: false };

/**
 * Refuses, with a clear InvalidParameter, whatever the request asks for that the backend cannot
 * honour. Nothing is ever dropped silently.
 */
export function assertCapabilities(request: GenerationRequest, capabilities: Capabilities, modelName: string, services: ServerServices = NO_SERVICES): void {
  const { features, sampling } = request;
  const refuse = (what: string) => {
    throw invalidParameter(`${what} is not supported by model "${modelName}" on this server.`);
  };
  if (features.tools !== undefined && !capabilities.tools) refuse("Function calling (parameters.tools)");
  if (features.thinking?.enabled && !capabilities.thinking) refuse("Thinking mode (parameters.enable_thinking)");
  if (features.responseFormat !== undefined && !capabilities.structuredOutput) refuse("Structured output (parameters.response_format)");
  if (features.logprobs !== undefined && !capabilities.logprobs) refuse("Log probabilities (parameters.logprobs)");
  if (features.search !== undefined && !services.search) refuse("Web search (parameters.enable_search)");
  const media = new Set(mediaParts(request.messages).map((part) => part.type));
  if (media.has("image") && !capabilities.vision) refuse("Image input");
  if (media.has("video") && !capabilities.vision) refuse("Video input");
  if (media.has("audio") && !capabilities.audio) refuse("Audio input");
  if (sampling.n > capabilities.maxN) refuse(`parameters.n=${sampling.n}`);
  if (sampling.stop.tokenIds.length > 0 && !capabilities.stopTokenIds) refuse("Stop token ids (parameters.stop as token lists)");
  if (sampling.topK !== undefined && sampling.topK !== 0 && !capabilities.topK) refuse("parameters.top_k");
  if (sampling.repetitionPenalty !== undefined && sampling.repetitionPenalty !== 1 && !capabilities.repetitionPenalty) refuse("parameters.repetition_penalty");
  if (sampling.logitBias !== undefined && !capabilities.logitBias) refuse("parameters.logit_bias");
  if (features.thinking?.budget !== undefined && !capabilities.thinkingBudget) refuse("parameters.thinking_budget");
}

/**
 * Whether the model thinks, and within which budget: as asked, else the model's default (never
 * by default for prefix continuation, which the thought would break).
 */
function resolveThinking(request: GenerationRequest, defaults: ModelDefaults, capabilities: Capabilities): GenerationRequest["features"]["thinking"] {
  const asked = request.features.thinking;
  const max = defaults.maxThinkingTokens ?? DEFAULT_MAX_THINKING_TOKENS;
  if (asked?.budget !== undefined && (asked.budget < 1 || asked.budget > max)) throw invalidParameter(thinkingBudgetMessage(max));
  const partial = request.messages[request.messages.length - 1]?.partial === true;
  if (asked?.enabled === true && partial) throw invalidParameter(PARTIAL_THINKING_MESSAGE);
  const byDefault = defaults.enableThinking ?? thinksByDefault(request.model);
  const enabled = asked?.enabled ?? (capabilities.thinking && byDefault && !partial);
  if (!enabled) return { enabled: false };
  const budget = asked?.budget ?? (capabilities.thinkingBudget ? max : undefined);
  return budget === undefined ? { enabled } : { enabled, budget };
}

/** Fills what the client left out from the model's configured defaults. */
export function applyModelDefaults(request: GenerationRequest, defaults: ModelDefaults, capabilities: Capabilities): GenerationRequest {
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
    features: { ...request.features, thinking: resolveThinking(request, defaults, capabilities) },
  };
}

/** The request as the backend will run it, before any stage: capabilities checked, defaults applied. */
export function resolveRequest(request: GenerationRequest, route: ModelRoute, services: ServerServices = NO_SERVICES): GenerationRequest {
  assertCapabilities(request, route.backend.capabilities, route.name, services);
  return applyModelDefaults(request, route.defaults, route.backend.capabilities);
}
