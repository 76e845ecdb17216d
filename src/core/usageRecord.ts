/**
 * One request as the usage ledger keeps it: the gateway makes the record, the store keeps it,
 * observability logs and counts it.
 */

/** Token counts of one request, or summed over many. */
export interface TokenCounts {
  inputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  imageTokens: number;
  videoTokens: number;
  audioTokens: number;
}

/** One request, as the ledger keeps it. */
export interface UsageRecord extends TokenCounts {
  requestId: string;
  /** When the request arrived. */
  time: number;
  /** Managed key id; null for static keys (`api_keys`) and open servers. */
  keyId: string | null;
  workspace: string | null;
  /** Served model name ("" when the request failed before naming a known model). */
  model: string;
  /** Which API: "text-generation", "chat.completions", "tokenizer", … */
  endpoint: string;
  /** "llama", or the upstream kind ("vllm", "dashscope", …). */
  backend: string;
  /** Upstream replica URL; null for the embedded engine. */
  replica: string | null;
  stream: boolean;
  /** Time to the first event; null when none was produced. */
  ttftMs: number | null;
  durationMs: number;
  /** HTTP status of the answer (200 for SSE streams, even when they end with an error frame). */
  status: number;
  /** DashScope error code when the request failed (also for stream error frames); null on success. */
  code: string | null;
}
