import { mediaParts, textOf, type ChatMessage, type GenerationRequest, type ModelRoute } from "../core/index.ts";

/** Tokens of the prepared media (images, video frames, audio) of a conversation. */
function mediaTokens(messages: readonly ChatMessage[]): number {
  return mediaParts(messages).reduce((sum, part) => sum + (part.prepared?.tokens ?? 0), 0);
}

/** What a request without `max_tokens` is charged for its output up front when the engine has no default. */
export const UNBOUNDED_OUTPUT_CHARGE = 1024;

/**
 * A prompt's token count without a tokenizer: a token per 4 ASCII characters and one per other
 * character (CJK text is about a character per token). Used only where the backend cannot count.
 */
export function estimateTokens(text: string): number {
  let ascii = 0;
  let other = 0;
  for (const char of text) {
    if (char.charCodeAt(0) < 128) ascii++;
    else other++;
  }
  return Math.ceil(ascii / 4) + other;
}

/**
 * Tokens a request is charged against a tokens-per-minute limit when it is admitted: its input
 * tokens plus the most output it may produce (every choice). Settled with the real usage after.
 */
export async function admissionCharge(request: GenerationRequest, route: ModelRoute): Promise<number> {
  const input = route.backend.countInputTokens
    ? await route.backend.countInputTokens(request)
    : estimateTokens(request.messages.map(textOf).join("\n")) + mediaTokens(request.messages);
  const output = request.sampling.maxTokens ?? route.defaults.maxTokens ?? UNBOUNDED_OUTPUT_CHARGE;
  return input + output * request.sampling.n;
}
