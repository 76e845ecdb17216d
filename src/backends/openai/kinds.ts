/** The OpenAI-compatible engines openscope can put behind the DashScope API, and what each accepts. */
export type UpstreamKind = "vllm" | "sglang" | "llama-server" | "ollama" | "openai" | "dashscope-compatible";
export const UPSTREAM_KINDS: readonly UpstreamKind[] = ["vllm", "sglang", "llama-server", "ollama", "openai", "dashscope-compatible"];

export interface KindTraits {
  /** `top_k` as a body field, and the value that turns it off. */
  topK: boolean;
  topKOff?: number;
  /** The body field for a multiplicative repetition penalty, where the engine has one. */
  repetitionPenalty?: "repetition_penalty" | "repeat_penalty";
  /** Serves `n` > 1 itself (else openscope fans out one request per choice). */
  nativeN: boolean;
  /** Stop token ids: `stop_token_ids` (single tokens), `stop` as id lists (sequences), or none. */
  stopTokenIds?: "single" | "sequences";
  /** How Qwen3 thinking is switched: `chat_template_kwargs.enable_thinking` or a top-level `enable_thinking`. */
  thinking?: "chat_template_kwargs" | "enable_thinking";
  /** Takes `thinking_budget`. */
  thinkingBudget: boolean;
  /** `stream_options.continuous_usage_stats`: usage in every chunk. */
  continuousUsage: boolean;
  logitBias: boolean;
  /** Honours `response_format: {type: "json_object"}` (llama-server only constrains given a schema). */
  jsonObject: boolean;
}

/**
 * From each engine's OpenAI-compatible server documentation. `dashscope-compatible` is
 * DashScope's own compatible mode — Alibaba Cloud's, or another openscope's `/compatible-mode/v1`.
 */
export const KIND_TRAITS: Record<UpstreamKind, KindTraits> = {
  vllm: {
    topK: true,
    topKOff: -1,
    repetitionPenalty: "repetition_penalty",
    nativeN: true,
    stopTokenIds: "single",
    thinking: "chat_template_kwargs",
    thinkingBudget: false,
    continuousUsage: true,
    logitBias: true,
    jsonObject: true,
  },
  sglang: {
    topK: true,
    topKOff: -1,
    repetitionPenalty: "repetition_penalty",
    nativeN: true,
    stopTokenIds: "single",
    thinking: "chat_template_kwargs",
    thinkingBudget: false,
    continuousUsage: true,
    logitBias: true,
    jsonObject: true,
  },
  "llama-server": {
    topK: true,
    topKOff: 0,
    repetitionPenalty: "repeat_penalty",
    nativeN: false,
    thinking: "chat_template_kwargs",
    thinkingBudget: false,
    continuousUsage: false,
    logitBias: true,
    jsonObject: false,
  },
  ollama: { topK: false, nativeN: false, thinkingBudget: false, continuousUsage: false, logitBias: false, jsonObject: true },
  openai: { topK: false, nativeN: true, thinkingBudget: false, continuousUsage: false, logitBias: true, jsonObject: true },
  "dashscope-compatible": {
    topK: true,
    topKOff: 0,
    repetitionPenalty: "repetition_penalty",
    nativeN: true,
    stopTokenIds: "sequences",
    thinking: "enable_thinking",
    thinkingBudget: true,
    continuousUsage: true,
    logitBias: true,
    jsonObject: true,
  },
};
