import type { z } from "zod";
import { clipText, errors, type ApiError } from "../../core/index.ts";

/** Characters of an upstream payload quoted in an error. */
const QUOTED_CHARS = 200;

/** `choices[0].delta.content` for zod's `["choices", 0, "delta", "content"]`. */
function pathText(path: readonly PropertyKey[]): string {
  let text = "";
  for (const key of path) text += typeof key === "number" ? `[${key}]` : `${text === "" ? "" : "."}${String(key)}`;
  return text === "" ? "the payload" : text;
}

/** An upstream engine's payload the server cannot read: the model is unavailable (the transport tries another replica). */
function malformed(what: string, problem: string, text: string): ApiError {
  return errors.modelUnavailable(`${what} that ${problem}: ${clipText(text, QUOTED_CHARS)}`);
}

/**
 * One JSON payload of an upstream engine (a stream chunk or frame) read with `schema`. Not JSON,
 * or not of the schema's shape, it is a ModelUnavailable error naming the first field that is
 * wrong, so a misbehaving engine never surfaces as a TypeError deep in a translator.
 *
 * @param what the payload for the message, e.g. "The upstream engine sent a chunk".
 */
export function parseUpstreamJson<Schema extends z.ZodType>(schema: Schema, text: string, what: string): z.output<Schema> {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw malformed(what, "is not JSON", text);
  }
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  throw malformed(what, `does not have the expected shape (${pathText(issue.path)}: ${issue.message})`, text);
}
