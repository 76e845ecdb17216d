import { z } from "zod";
import type { TokenAlternative, TokenLogprob } from "../../core/index.ts";

/** One `{token, bytes?, logprob}` entry as engines send it. */
const alternativeSchema = z.looseObject({
  token: z.string().nullish(),
  bytes: z.array(z.number()).nullish(),
  logprob: z.number().nullish(),
});

/** A choice's `logprobs` (OpenAI's and DashScope's shape alike). */
export const wireLogprobsSchema = z
  .looseObject({
    content: z.array(alternativeSchema.extend({ top_logprobs: z.array(alternativeSchema).nullish() })).nullish(),
  })
  .nullish();

export type WireLogprobs = z.output<typeof wireLogprobsSchema>;

/** An entry as a core alternative (bytes from the token's UTF-8 when absent). */
function alternative(raw: z.output<typeof alternativeSchema>): TokenAlternative {
  const token = raw.token ?? "";
  const bytes = raw.bytes ?? [...Buffer.from(token, "utf8")];
  // A missing value is not a certain token: a very unlikely one instead.
  return { token, bytes, logprob: raw.logprob ?? -9999 };
}

/** A choice's `logprobs` as core entries; undefined when it holds none. */
export function wireLogprobs(raw: WireLogprobs): TokenLogprob[] | undefined {
  const content = raw?.content;
  if (!content || content.length === 0) return undefined;
  return content.map((entry) => ({ ...alternative(entry), topLogprobs: (entry.top_logprobs ?? []).map(alternative) }));
}
