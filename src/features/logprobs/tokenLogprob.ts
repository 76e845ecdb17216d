import type { TokenAlternative, TokenLogprob } from "../../core/index.ts";

/** How a backend names a token: its text and raw bytes. */
export type DescribeToken = (token: number) => { token: string; bytes: number[] };

/** ln(p), finite even for p = 0 (DashScope and OpenAI send numbers, never -Infinity). */
function logOf(probability: number | undefined): number {
  return Math.log(Math.max(probability ?? 0, Number.MIN_VALUE));
}

/**
 * The log probability of a sampled token and the `top` most likely tokens at that step, from the
 * sampler's final distribution (a map sorted best first, as node-llama-cpp returns it).
 */
export function tokenLogprob(token: number, probabilities: ReadonlyMap<number, number>, top: number, describe: DescribeToken): TokenLogprob {
  const topLogprobs: TokenAlternative[] = [];
  for (const [candidate, probability] of probabilities) {
    if (topLogprobs.length >= top) break;
    topLogprobs.push({ ...describe(candidate), logprob: logOf(probability) });
  }
  return { ...describe(token), logprob: logOf(probabilities.get(token)), topLogprobs };
}
