import { ApiError, type DeltaEvent, type EngineEvent, type FinishReason, type ToolCallDelta, type Usage } from "../../core/index.ts";
import { wireLogprobs, type SseEvent, type StreamTranslator } from "../upstream/index.ts";

type Json = Record<string, any>;

const FINISHES = new Set<FinishReason>(["stop", "length", "tool_calls"]);

function usageOf(raw: Json | undefined, previous: Usage | undefined): Usage {
  if (!raw || typeof raw.input_tokens !== "number") return previous ?? { inputTokens: 0, outputTokens: 0 };
  const usage: Usage = { inputTokens: raw.input_tokens, outputTokens: raw.output_tokens ?? 0 };
  if (typeof raw.prompt_tokens_details?.cached_tokens === "number") usage.cachedTokens = raw.prompt_tokens_details.cached_tokens;
  if (typeof raw.output_tokens_details?.reasoning_tokens === "number") usage.reasoningTokens = raw.output_tokens_details.reasoning_tokens;
  return usage;
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
    let data: Json;
    try {
      data = JSON.parse(event.data) as Json;
    } catch {
      throw new ApiError(500, "InternalError", `The upstream DashScope endpoint sent a frame that is not JSON: ${event.data.slice(0, 200)}`);
    }
    if (event.event === "error") {
      throw new ApiError(event.status ?? 500, String(data.code ?? "InternalError"), String(data.message ?? "The upstream DashScope endpoint failed."));
    }
    const events: EngineEvent[] = [];
    for (const choice of (data.output?.choices ?? []) as Json[]) {
      const index = Number(choice.index ?? 0);
      const usage = usageOf(data.usage, this.#usage.get(index));
      this.#usage.set(index, usage);
      const m = choice.message ?? {};
      const delta: DeltaEvent = { type: "delta", index, usage };
      if (typeof m.content === "string" && m.content !== "") delta.content = m.content;
      if (Array.isArray(m.content)) {
        const text = m.content.map((p: Json) => p.text ?? "").join("");
        if (text) delta.content = text;
      }
      if (typeof m.reasoning_content === "string" && m.reasoning_content !== "") delta.reasoning = m.reasoning_content;
      const calls: ToolCallDelta[] = ((m.tool_calls ?? []) as Json[])
        .map((c): ToolCallDelta => {
          const first = typeof c.id === "string" && c.id !== "";
          const piece: ToolCallDelta = { index: Number(c.index ?? 0), arguments: String(c.function?.arguments ?? "") };
          if (first) {
            piece.id = c.id;
            piece.name = String(c.function?.name ?? "");
          }
          return piece;
        })
        .filter((c) => c.id !== undefined || c.arguments !== "");
      if (calls.length > 0) delta.toolCalls = calls;
      const logprobs = wireLogprobs(choice.logprobs);
      if (logprobs) delta.logprobs = logprobs;
      if (delta.content || delta.reasoning || delta.toolCalls) events.push(delta);
      const finish = choice.finish_reason;
      if (typeof finish === "string" && finish !== "null" && finish !== "") {
        this.#finished.add(index);
        events.push({ type: "finish", index, reason: FINISHES.has(finish as FinishReason) ? (finish as FinishReason) : "stop", usage });
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
