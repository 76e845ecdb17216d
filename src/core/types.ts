/** Protocol-neutral request and event types: the one internal language between dialects and backends. */

export type Role = "system" | "user" | "assistant" | "tool";

export interface CacheControl {
  type: "ephemeral";
}

export interface TextPart {
  type: "text";
  text: string;
  cacheControl?: CacheControl;
}

export type ContentPart = TextPart;

export interface ToolCall {
  id: string;
  type: "function";
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: Role;
  content: ContentPart[];
  name?: string;
  toolCallId?: string;
  toolCalls?: ToolCall[];
  reasoningContent?: string;
  /** Prefix continuation: the final assistant message is a prefix the model continues. */
  partial?: boolean;
}

export interface StopConditions {
  strings: string[];
  tokenIds: number[][];
}

export interface SamplingParams {
  temperature?: number;
  topP?: number;
  /** 0 = disabled. */
  topK?: number;
  seed?: number;
  repetitionPenalty?: number;
  presencePenalty?: number;
  maxTokens?: number;
  stop: StopConditions;
  /** Number of independent completions (choices). */
  n: number;
}

/**
 * Features later issues fill in; present here so the pipeline can refuse what a backend
 * cannot do instead of silently dropping it.
 */
export interface RequestedFeatures {
  tools?: unknown[];
  toolChoice?: unknown;
  parallelToolCalls?: boolean;
  thinking?: { enabled: boolean; budget?: number };
  responseFormat?: unknown;
  logprobs?: { topLogprobs: number };
  search?: unknown;
}

export interface GenerationRequest {
  requestId: string;
  /** The model name as the client sent it (an alias or a served name). */
  model: string;
  messages: ChatMessage[];
  sampling: SamplingParams;
  features: RequestedFeatures;
}

export interface Usage {
  inputTokens: number;
  outputTokens: number;
  cachedTokens?: number;
  reasoningTokens?: number;
}

export type FinishReason = "stop" | "length" | "tool_calls";

/**
 * One step of one choice. A backend emits a `delta` whenever a choice has new visible text
 * (always whole UTF-8 characters) and exactly one `finish` per choice, last.
 * `usage` is cumulative for that choice.
 */
export type EngineEvent =
  | { type: "delta"; index: number; content: string; usage: Usage }
  | { type: "finish"; index: number; reason: FinishReason; usage: Usage };

export interface TokenizeInput {
  prompt?: string;
  messages?: ChatMessage[];
}

export interface TokenizeResult {
  tokenIds: number[];
  tokens: string[];
  /** The chat-templated prompt the model would see for these messages. */
  prompt: string;
}

export interface Capabilities {
  tools: boolean;
  thinking: boolean;
  grammar: boolean;
  logprobs: boolean;
  vision: boolean;
  audio: boolean;
  /** Largest `n` the backend serves. */
  maxN: number;
  stopTokenIds: boolean;
}

export interface Backend {
  readonly capabilities: Capabilities;
  /** Streams events for every choice; must stop computing and free its slots when `signal` aborts. */
  generate(request: GenerationRequest, signal: AbortSignal): AsyncIterable<EngineEvent>;
  tokenize(input: TokenizeInput): Promise<TokenizeResult>;
  close(): Promise<void>;
}

/** A served model as the gateway routes to it. */
export interface ModelRoute {
  /** Canonical served name. */
  name: string;
  backend: Backend;
  defaults: ModelDefaults;
}

export interface ModelDefaults {
  temperature?: number;
  topP?: number;
  topK?: number;
  repetitionPenalty?: number;
  presencePenalty?: number;
  maxTokens: number;
  /** Longest output the model may be asked for. */
  maxOutputTokens: number;
}
