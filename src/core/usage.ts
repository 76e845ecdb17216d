import type { Usage } from "./types.ts";

/** Usage of several choices of one request: the prompt counts once, outputs add up. */
export function sumUsage(usages: Usage[]): Usage {
  const first = usages[0];
  if (!first) return { inputTokens: 0, outputTokens: 0 };
  const total: Usage = { inputTokens: first.inputTokens, outputTokens: 0 };
  if (first.cachedTokens !== undefined) total.cachedTokens = first.cachedTokens;
  if (first.imageTokens !== undefined) total.imageTokens = first.imageTokens;
  if (first.videoTokens !== undefined) total.videoTokens = first.videoTokens;
  if (first.audioTokens !== undefined) total.audioTokens = first.audioTokens;
  for (const usage of usages) {
    total.outputTokens += usage.outputTokens;
    if (usage.reasoningTokens !== undefined) total.reasoningTokens = (total.reasoningTokens ?? 0) + usage.reasoningTokens;
  }
  return total;
}
