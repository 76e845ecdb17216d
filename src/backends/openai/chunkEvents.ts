import { ApiError, type DeltaEvent, type EngineEvent, type FinishReason, type ToolCallDelta, type Usage } from "../../core/index.ts";
import { newToolCallId } from "../../features/index.ts";
import { wireLogprobs, type SseEvent, type StreamTranslator } from "../upstream/index.ts";

type Json = Record<string, any>;

interface ChoiceProgress {
  outputTokens: number;
  reasoningTokens: number;
  /** Tool calls started, by the engine's index. */
  calls: Set<number>;
  finished: boolean;
  /** Text tidying, see #tidy. */
  thoughtStarted: boolean;
  heldThoughtNewlines: string;
  answerStarted: boolean;
}

const FINISH: Record<string, FinishReason> = { stop: "stop", length: "length", tool_calls: "tool_calls", function_call: "tool_calls", content_filter: "stop" };

/**
 * One upstream stream's chunks as engine events (DESIGN: engines' deltas → our events → exact
 * DashScope frames). Handles the engines' variations: `reasoning_content` or vLLM's newer
 * `reasoning`; tool-call ids on the first piece only, on every piece, or missing; empty trailing
 * pieces; usage in every chunk (vLLM/SGLang continuous stats) or only at the end, in which case
 * output tokens are counted one per content chunk until the real count arrives.
 */
export class ChunkTranslator implements StreamTranslator {
  readonly #choices = new Map<number, ChoiceProgress>();
  #inputTokens = 0;
  #cachedTokens: number | undefined;

  /** @param indexOffset added to the engine's choice index (fan-out of `n` over several requests). */
  constructor(
    readonly indexOffset = 0,
    readonly reasoning = false,
  ) {}

  translate(event: SseEvent): EngineEvent[] | "done" {
    if (event.data.trim() === "[DONE]") return "done";
    let chunk: Json;
    try {
      chunk = JSON.parse(event.data) as Json;
    } catch {
      throw new ApiError(500, "InternalError", `The upstream engine sent a chunk that is not JSON: ${event.data.slice(0, 200)}`);
    }
    return this.translateChunk(chunk);
  }

  translateChunk(chunk: Json): EngineEvent[] {
    if (chunk.error) {
      const message = typeof chunk.error.message === "string" ? chunk.error.message : JSON.stringify(chunk.error);
      throw new ApiError(500, "InternalError", `The upstream engine failed: ${message}`);
    }
    const usage = chunk.usage as Json | null | undefined;
    const events: EngineEvent[] = [];
    for (const choice of (chunk.choices ?? []) as Json[]) {
      const index = Number(choice.index ?? 0);
      const progress = this.#progress(index);
      const delta = this.#delta(choice.delta ?? {}, progress);
      const logprobs = wireLogprobs(choice.logprobs);
      // A chunk with only the end token's logprobs (vLLM's finish chunk) counts a token but shows nothing.
      if (delta.content || delta.reasoning || delta.toolCalls || logprobs) progress.outputTokens += logprobs?.length ?? 1;
      if (delta.content || delta.reasoning || delta.toolCalls) {
        if (delta.reasoning) progress.reasoningTokens += 1;
        if (logprobs && delta.content) delta.logprobs = logprobs;
        events.push({ type: "delta", index: index + this.indexOffset, ...delta, usage: this.#usage(progress) });
      }
      if (choice.finish_reason) {
        progress.finished = true;
        events.push({
          type: "finish",
          index: index + this.indexOffset,
          reason: FINISH[choice.finish_reason as string] ?? "stop",
          usage: this.#usage(progress),
        });
      }
    }
    if (usage) this.#applyUsage(usage, events);
    return events;
  }

  /** Choices that never sent a finish reason (the stream ended early). */
  unfinished(): number[] {
    return [...this.#choices].filter(([, p]) => !p.finished).map(([i]) => i + this.indexOffset);
  }

  #progress(index: number): ChoiceProgress {
    let progress = this.#choices.get(index);
    if (!progress) {
      progress = {
        outputTokens: 0,
        reasoningTokens: 0,
        calls: new Set(),
        finished: false,
        thoughtStarted: false,
        heldThoughtNewlines: "",
        answerStarted: false,
      };
      this.#choices.set(index, progress);
    }
    return progress;
  }

  #delta(raw: Json, progress: ChoiceProgress): Omit<DeltaEvent, "type" | "index" | "usage"> {
    const out: Omit<DeltaEvent, "type" | "index" | "usage"> = {};
    if (typeof raw.content === "string" && raw.content !== "") out.content = raw.content;
    const reasoning = typeof raw.reasoning_content === "string" ? raw.reasoning_content : raw.reasoning;
    if (typeof reasoning === "string" && reasoning !== "") out.reasoning = reasoning;
    const calls: ToolCallDelta[] = [];
    for (const piece of (raw.tool_calls ?? []) as Json[]) {
      const index = Number(piece.index ?? 0);
      const args = typeof piece.function?.arguments === "string" ? piece.function.arguments : "";
      if (!progress.calls.has(index)) {
        progress.calls.add(index);
        const id = typeof piece.id === "string" && piece.id !== "" ? piece.id : newToolCallId();
        calls.push({ index, id, name: String(piece.function?.name ?? ""), arguments: args });
      } else if (args !== "") {
        calls.push({ index, arguments: args });
      }
    }
    if (calls.length > 0) out.toolCalls = calls;
    return this.#tidy(out, progress);
  }

  /**
   * The whitespace engines pass through from Qwen3's markup, removed as the native answer has
   * it: newlines around the thought (`<think>\n…\n</think>\n\n`, vLLM and SGLang) and the newline
   * between two `<tool_call>` blocks (vLLM's hermes parser).
   */
  #tidy(out: Omit<DeltaEvent, "type" | "index" | "usage">, progress: ChoiceProgress): Omit<DeltaEvent, "type" | "index" | "usage"> {
    if (out.reasoning !== undefined) {
      let text = progress.heldThoughtNewlines + out.reasoning;
      if (!progress.thoughtStarted) text = text.replace(/^\n+/, "");
      const trailing = /\n*$/.exec(text)![0];
      progress.heldThoughtNewlines = trailing;
      text = text.slice(0, text.length - trailing.length);
      if (text) progress.thoughtStarted = true;
      if (text) out.reasoning = text;
      else delete out.reasoning;
    }
    if (out.content !== undefined) {
      let text = out.content;
      if (!progress.answerStarted && progress.thoughtStarted) text = text.replace(/^\n+/, "");
      if (progress.calls.size > 0 && text.trim() === "") text = "";
      if (text) progress.answerStarted = true;
      if (text) out.content = text;
      else delete out.content;
    }
    if (out.content !== undefined || out.toolCalls) progress.heldThoughtNewlines = "";
    return out;
  }

  #usage(progress: ChoiceProgress): Usage {
    const usage: Usage = { inputTokens: this.#inputTokens, outputTokens: progress.outputTokens };
    if (this.#cachedTokens !== undefined) usage.cachedTokens = this.#cachedTokens;
    if (this.reasoning) usage.reasoningTokens = progress.reasoningTokens;
    return usage;
  }

  /** The engine's own counts replace the estimates, and the events of this chunk carry them. */
  #applyUsage(usage: Json, events: EngineEvent[]): void {
    if (typeof usage.prompt_tokens === "number") this.#inputTokens = usage.prompt_tokens;
    const cached = usage.prompt_tokens_details?.cached_tokens;
    if (typeof cached === "number") this.#cachedTokens = cached;
    // The final usage of a request covers all its choices; with one choice it is that choice's.
    if (this.#choices.size === 1 && typeof usage.completion_tokens === "number") {
      const progress = [...this.#choices.values()][0]!;
      progress.outputTokens = usage.completion_tokens;
      // vLLM and the OpenAI API nest it; SGLang puts it at the top level.
      const reasoning = usage.completion_tokens_details?.reasoning_tokens ?? usage.reasoning_tokens;
      if (typeof reasoning === "number") progress.reasoningTokens = reasoning;
    }
    for (const event of events) event.usage = this.#usage(this.#progress(event.index - this.indexOffset));
  }

  /** The usage of a choice now (for a finish event written after the stream's last chunk). */
  usageOf(index: number): Usage {
    return this.#usage(this.#progress(index - this.indexOffset));
  }
}
