import type { TokenAlternative, TokenLogprob } from "../../core/index.ts";

type Json = Record<string, any>;

/** One `{token, bytes?, logprob}` entry as engines send it (bytes from the token's UTF-8 when absent). */
function alternative(raw: Json): TokenAlternative {
  const token = String(raw.token ?? "");
  const bytes = Array.isArray(raw.bytes) ? (raw.bytes as number[]) : [...Buffer.from(token, "utf8")];
  // A missing value is not a certain token: a very unlikely one instead.
  return { token, bytes, logprob: typeof raw.logprob === "number" ? raw.logprob : -9999 };
}

/** A choice's `logprobs` (OpenAI's and DashScope's shape alike) as core entries; undefined when it holds none. */
export function wireLogprobs(raw: unknown): TokenLogprob[] | undefined {
  const content = (raw as Json | null | undefined)?.content;
  if (!Array.isArray(content) || content.length === 0) return undefined;
  return content.map((entry: Json) => ({ ...alternative(entry), topLogprobs: Array.isArray(entry.top_logprobs) ? entry.top_logprobs.map(alternative) : [] }));
}
