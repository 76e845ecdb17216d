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

/** Per-item media options (DashScope `min_pixels`, `max_pixels`, `total_pixels`, `fps`). */
export interface MediaOptions {
  minPixels?: number;
  maxPixels?: number;
  /** Video: the pixel budget of all sampled frames together. */
  totalPixels?: number;
  /** Video: frames sampled per second, [0.1, 10]. */
  fps?: number;
}

/** Media as the gateway prepared it for the model (fetched, decoded, resized with the Qwen-VL rules). */
export interface PreparedImage {
  mimeType: string;
  data: Uint8Array;
  width: number;
  height: number;
  tokens: number;
}

export interface PreparedVideo {
  /** The sampled (or given) frames, resized. */
  frames: { mimeType: string; data: Uint8Array }[];
  /** The video file as fetched (absent for frame lists), for engines that take whole videos. */
  file?: { mimeType: string; data: Uint8Array };
  width: number;
  height: number;
  tokens: number;
}

export interface PreparedAudio {
  /** 16 kHz mono PCM WAV. */
  mimeType: string;
  data: Uint8Array;
  durationSeconds: number;
  tokens: number;
}

export interface ImagePart {
  type: "image";
  /** http(s) URL, `data:` URI or `oss://` key, as the client sent it. */
  source: string;
  options: MediaOptions;
  prepared?: PreparedImage;
}

export interface VideoPart {
  type: "video";
  /** A video file's URL, or the frames' image URLs. */
  source: string | string[];
  options: MediaOptions;
  prepared?: PreparedVideo;
}

export interface AudioPart {
  type: "audio";
  source: string;
  prepared?: PreparedAudio;
}

export type MediaPart = ImagePart | VideoPart | AudioPart;

export type ContentPart = TextPart | MediaPart;

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
  temperature?: number | undefined;
  topP?: number | undefined;
  /** 0 = disabled. */
  topK?: number | undefined;
  seed?: number | undefined;
  repetitionPenalty?: number | undefined;
  presencePenalty?: number | undefined;
  /** OpenAI's frequency penalty, [-2, 2]. */
  frequencyPenalty?: number | undefined;
  maxTokens?: number | undefined;
  stop: StopConditions;
  /** Added to the logits of these token ids before sampling ([token id, bias in -100..100]). */
  logitBias?: [number, number][] | undefined;
  /** Number of independent completions (choices). */
  n: number;
}

/** A JSON Schema document, as the client sent it. */
export type JsonSchema = Record<string, unknown>;

/** A function the model may call (DashScope / OpenAI `tools[].function`). */
export interface ToolDefinition {
  name: string;
  description?: string;
  /** JSON Schema of the arguments object; `{}` when the client sent none. */
  parameters: JsonSchema;
}

/** `auto`: the model decides; `none`: it may not call; `required`: it must call one (OpenAI); `function`: it must call that one. */
export type ToolChoice = { type: "auto" } | { type: "none" } | { type: "required" } | { type: "function"; name: string };

export type ResponseFormat = { type: "json_object" } | { type: "json_schema"; name: string; description?: string; schema: JsonSchema; strict: boolean };

export interface ThinkingRequest {
  /** Absent in a decoded request: the model's default. Always set once the pipeline resolved it. */
  enabled?: boolean;
  /** Most reasoning tokens before the thought is closed. */
  budget?: number;
}

/**
 * What the request asks of the model beyond plain sampling. The pipeline refuses what a backend
 * cannot honour instead of silently dropping it.
 */
export interface RequestedFeatures {
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  parallelToolCalls?: boolean;
  thinking?: ThinkingRequest | undefined;
  responseFormat?: ResponseFormat;
  logprobs?: { topLogprobs: number };
  search?: SearchRequest;
  /** Multimodal endpoint options (`vl_high_resolution_images`, `vl_enable_image_hw_output`). */
  media?: { highResolution: boolean; returnImageSize: boolean };
}

/** How citations look in the answer (`search_options.citation_format`). */
export type CitationFormat = "[<number>]" | "[ref_<number>]";

/** How hard the server searches (`search_options.search_strategy`). */
export type SearchStrategy = "turbo" | "standard" | "max" | "agent";

/** `enable_search` with its `search_options`, defaults applied (API reference). */
export interface SearchRequest {
  /** `forced_search`: always search; false: the model decides (offered a `web_search` tool). */
  forced: boolean;
  /** `enable_source`: the answer carries `search_info` with the sources. */
  enableSource: boolean;
  /** `enable_citation`: the model is told to cite sources (takes effect with enable_source). */
  enableCitation: boolean;
  citationFormat: CitationFormat;
  strategy: SearchStrategy;
  /** `prepend_search_result`: a stream's first event carries only the sources (with enable_source). */
  prependSearchResult: boolean;
  /** `enable_search_extension`: domain-specific extras (accepted; no extra tools on this server). */
  enableSearchExtension: boolean;
}

/** One source of a searched answer, as `output.search_info.search_results[]` shows it. */
export interface SearchSource {
  /** 1-based; what `[<n>]` / `[ref_<n>]` citations refer to. */
  index: number;
  title: string;
  url: string;
  siteName: string;
  /** Icon URL or "". */
  icon: string;
}

/** What a search found (`output.search_info`). */
export interface SearchInfo {
  results: SearchSource[];
  /** `extra_tool_info[]` (`{tool, result}`); always empty on this server. */
  extraToolInfo: { tool: string; result: string }[];
}

/**
 * A search that ran for a generation, carried by the first event of its answer (choice 0).
 * Encoders that know web search (DashScope native) render it; others ignore it.
 */
export interface SearchOutcome {
  /** The sources; absent when the client did not ask for them (`enable_source` false). */
  info?: SearchInfo;
  /** `usage.plugins.search`: how many queries ran, and the strategy. */
  usage: { count: number; strategy: SearchStrategy };
  /**
   * This event is the sources-only event of `prepend_search_result` (empty content, zero usage;
   * a native stream sends it with `"usage":{}`); otherwise the sources ride on a real answer event.
   */
  prepended: boolean;
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
  /** Of the input tokens: those of images, video frames and audio (multimodal requests). */
  imageTokens?: number;
  videoTokens?: number;
  audioTokens?: number;
}

export type FinishReason = "stop" | "length" | "tool_calls";

/**
 * A piece of one tool call. The first piece of a call carries `id` and `name`; every piece
 * carries `index` (which call of the choice) and the next part of the arguments text.
 */
export interface ToolCallDelta {
  index: number;
  id?: string;
  name?: string;
  arguments: string;
}

export interface TokenAlternative {
  token: string;
  /** The token's raw UTF-8 bytes (a token may hold part of a character). */
  bytes: number[];
  /** Natural log of the probability the sampler gave this token. */
  logprob: number;
}

export interface TokenLogprob extends TokenAlternative {
  /** The most likely tokens at this step, best first. */
  topLogprobs: TokenAlternative[];
}

/** New output of one choice: any of answer text, reasoning text, tool-call pieces, and logprobs. */
export interface DeltaEvent {
  type: "delta";
  index: number;
  content?: string;
  reasoning?: string;
  toolCalls?: ToolCallDelta[];
  /** Log probabilities of the answer tokens this event's content came from. */
  logprobs?: TokenLogprob[];
  usage: Usage;
  /** The web search behind this answer; set on choice 0's first event only (features/search). */
  search?: SearchOutcome;
}

export interface FinishEvent {
  type: "finish";
  index: number;
  reason: FinishReason;
  usage: Usage;
}

/**
 * One step of one choice. A backend emits a `delta` whenever a choice has new output (text is
 * always whole UTF-8 characters) and exactly one `finish` per choice, last.
 * `usage` is cumulative for that choice.
 */
export type EngineEvent = DeltaEvent | FinishEvent;

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

/**
 * How a backend provides a capability: the engine does it itself and takes the request as the
 * client sent it ("native"), or openscope's grammar engine stands in for it ("grammar": a stage
 * rewrites the request for that engine first). `false`: not at all.
 */
export type Provision = false | "native" | "grammar";

export interface Capabilities {
  /** Function calling; with "grammar", tool parameters are rewritten for the grammar that constrains calls. */
  tools: Provision;
  thinking: boolean;
  /**
   * `response_format`; with "grammar", JSON schemas are checked and rewritten for the grammar engine
   * (strict schemas refuse what it cannot enforce) and shown to the model in the system prompt.
   */
  structuredOutput: Provision;
  logprobs: boolean;
  vision: boolean;
  audio: boolean;
  /** Largest `n` the backend serves. */
  maxN: number;
  stopTokenIds: boolean;
  /** Sampling knobs not every engine has. */
  topK: boolean;
  repetitionPenalty: boolean;
  logitBias: boolean;
  /** A thinking budget the engine holds (`thinking_budget`). */
  thinkingBudget: boolean;
}

/** What a backend tells the gateway about one generation while it runs (for the usage ledger). */
export interface GenerationTrace {
  /** The upstream replica that answered (URL); unset for the embedded engine. */
  replica?: string;
}

/** A backend's load right now (for metrics). */
export interface BackendStats {
  /** Generation slots in use / in all (embedded engine); requests in flight (upstream). */
  busy: number;
  slots?: number;
  /** Requests waiting for a slot. */
  queued: number;
  /** Upstream replicas and whether each is usable now. */
  replicas?: { url: string; healthy: boolean; inFlight: number }[];
}

export interface Backend {
  /** "llama" for the embedded engine, the upstream kind ("vllm", "dashscope", …) otherwise. */
  readonly kind: string;
  readonly capabilities: Capabilities;
  /**
   * Raises every 400 this backend would give the request (knobs its engine cannot combine, token
   * ids outside its vocabulary, a prompt longer than its context), before anything is charged or
   * computed: the pipeline's validate step calls it on the resolved request.
   */
  validate(request: GenerationRequest): void;
  /** Streams events for every choice; must stop computing and free its slots when `signal` aborts. */
  generate(request: GenerationRequest, signal: AbortSignal, trace?: GenerationTrace): AsyncIterable<EngineEvent>;
  tokenize(input: TokenizeInput): Promise<TokenizeResult>;
  /** Exact prompt tokens of a request, where the backend can count them locally (token-per-minute admission). */
  countInputTokens?(request: GenerationRequest): Promise<number>;
  stats(): BackendStats;
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
  /** Whether the model thinks when the request does not say (`enable_thinking` absent). */
  enableThinking?: boolean | undefined;
  /** Largest `thinking_budget`; also the budget when the request gives none. */
  maxThinkingTokens?: number | undefined;
  temperature?: number | undefined;
  topP?: number | undefined;
  topK?: number | undefined;
  repetitionPenalty?: number | undefined;
  presencePenalty?: number | undefined;
  /** Absent: the engine's own default (upstream engines). */
  maxTokens?: number | undefined;
  /** Longest output the model may be asked for. */
  maxOutputTokens: number;
}
