import { z } from "zod";
import { errors, type DeltaEvent, type EngineEvent, type FinishReason, type ToolCallDelta, type Usage } from "../../core/index.ts";
import { parseUpstreamJson, wireLogprobs, wireLogprobsSchema, type SseEvent, type StreamTranslator } from "../upstream/index.ts";

const FINISHES = new Set<string>(["stop", "length", "tool_calls"]);

/** A position in a list (a choice, a tool call). */
const indexSchema = z.number().int().nonnegative().nullish();

const usageSchema = z.looseObject({
  input_tokens: z.number().nullish(),
  output_tokens: z.number().nullish(),
  prompt_tokens_details: z.looseObject({ cached_tokens: z.number().nullish() }).nullish(),
  output_tokens_details: z.looseObject({ reasoning_tokens: z.number().nullish() }).nullish(),
});

const toolCallSchema = z.looseObject({
  index: indexSchema,
  /** On a call's first piece only. */
  id: z.string().nullish(),
  function: z.looseObject({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});

const messageSchema = z.looseObject({
  /** Text, or the multimodal endpoint's `[{text}, …]` parts (parts without text, e.g. audio, are let through). */
  content: z.union([z.string(), z.array(z.looseObject({ text: z.string().nullish() }))]).nullish(),
  reasoning_content: z.string().nullish(),
  tool_calls: z.array(toolCallSchema).nullish(),
});

/**
 * One `event:result` frame's data as DashScope sends it in message format (protocol.md §6.3):
 * the fields read here are checked, each optional, and anything else is let through.
 */
const resultFrameSchema = z.looseObject({
  output: z
    .looseObject({
      choices: z
        .array(
          z.looseObject({
            index: indexSchema,
            message: messageSchema.nullish(),
            /** "null" (a string) until the last frame. */
            finish_reason: z.string().nullish(),
            logprobs: wireLogprobsSchema,
          }),
        )
        .nullish(),
    })
    .nullish(),
  usage: usageSchema.nullish(),
});

/** An `event:error` frame's data. */
const errorFrameSchema = z.looseObject({ code: z.string().nullish(), message: z.string().nullish() });

const FRAME = "The upstream DashScope endpoint sent a frame";

function usageOf(raw: z.output<typeof usageSchema> | null | undefined, previous: Usage | undefined): Usage {
  if (typeof raw?.input_tokens !== "number") return previous ?? { inputTokens: 0, outputTokens: 0 };
  const usage: Usage = { inputTokens: raw.input_tokens, outputTokens: raw.output_tokens ?? 0 };
  const cached = raw.prompt_tokens_details?.cached_tokens;
  if (typeof cached === "number") usage.cachedTokens = cached;
  const reasoning = raw.output_tokens_details?.reasoning_tokens;
  if (typeof reasoning === "number") usage.reasoningTokens = reasoning;
  return usage;
}

/** The text of a message's content (its parts' texts joined). */
function contentText(content: z.output<typeof messageSchema>["content"]): string {
  if (typeof content === "string") return content;
  return (content ?? []).map((part) => part.text ?? "").join("");
}

/**
 * A native DashScope stream (incremental, message format; one choice per event with its own
 * cumulative usage, protocol.md §6) as engine events. An `event:error` frame is the upstream's
 * error, passed on with its code, message and status.
 */
export class NativeFrameTranslator implements StreamTranslator {
  readonly #usage = new Map<number, Usage>();
  readonly #finished = new Set<number>();

  translate(event: SseEvent): EngineEvent[] {
    if (event.event === "error") {
      const data = parseUpstreamJson(errorFrameSchema, event.data, FRAME);
      throw errors.relayed(event.status ?? 500, data.code ?? "InternalError", data.message ?? "The upstream DashScope endpoint failed.");
    }
    const data = parseUpstreamJson(resultFrameSchema, event.data, FRAME);
    const events: EngineEvent[] = [];
    for (const choice of data.output?.choices ?? []) {
      const index = choice.index ?? 0;
      const usage = usageOf(data.usage, this.#usage.get(index));
      this.#usage.set(index, usage);
      const m = choice.message ?? {};
      const delta: DeltaEvent = { type: "delta", index, usage };
      const content = contentText(m.content);
      if (content) delta.content = content;
      if (m.reasoning_content) delta.reasoning = m.reasoning_content;
      const calls: ToolCallDelta[] = (m.tool_calls ?? [])
        .map((c): ToolCallDelta => {
          const piece: ToolCallDelta = { index: c.index ?? 0, arguments: c.function?.arguments ?? "" };
          if (c.id) {
            piece.id = c.id;
            piece.name = c.function?.name ?? "";
          }
          return piece;
        })
        .filter((c) => c.id !== undefined || c.arguments !== "");
      if (calls.length > 0) delta.toolCalls = calls;
      const logprobs = wireLogprobs(choice.logprobs);
      if (logprobs) delta.logprobs = logprobs;
      if (delta.content || delta.reasoning || delta.toolCalls) events.push(delta);
      const finish = choice.finish_reason;
      if (finish && finish !== "null") {
        this.#finished.add(index);
        events.push({ type: "finish", index, reason: FINISHES.has(finish) ? (finish as FinishReason) : "stop", usage });
      }
    }
    return events;
  }

  usageOf(index: number): Usage {
    return this.#usage.get(index) ?? { inputTokens: 0, outputTokens: 0 };
  }

  unfinished(): number[] {
    return [...this.#usage.keys()].filter((i) => !this.#finished.has(i));
  }
}
