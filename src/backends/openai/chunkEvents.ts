import { z } from "zod";
import { errors, type DeltaEvent, type EngineEvent, type FinishReason, type ToolCallDelta, type Usage } from "../../core/index.ts";
import { newToolCallId } from "../../features/index.ts";
import { parseUpstreamJson, wireLogprobs, wireLogprobsSchema, type SseEvent, type StreamTranslator } from "../upstream/index.ts";

/** A position in a list (a choice, a tool call). */
const indexSchema = z.number().int().nonnegative().nullish();

/** A streamed tool call piece: id and name on the first piece (some engines repeat them, or send null). */
const toolCallPieceSchema = z.looseObject({
  index: indexSchema,
  id: z.string().nullish(),
  function: z.looseObject({ name: z.string().nullish(), arguments: z.string().nullish() }).nullish(),
});

const deltaSchema = z.looseObject({
  content: z.string().nullish(),
  /** vLLM's older name, llama-server's, DashScope compatible mode's. */
  reasoning_content: z.string().nullish(),
  /** vLLM's newer name, Ollama's. */
  reasoning: z.string().nullish(),
  tool_calls: z.array(toolCallPieceSchema).nullish(),
});

const usageSchema = z.looseObject({
  prompt_tokens: z.number().nullish(),
  completion_tokens: z.number().nullish(),
  /** SGLang's place for it. */
  reasoning_tokens: z.number().nullish(),
  prompt_tokens_details: z.looseObject({ cached_tokens: z.number().nullish() }).nullish(),
  completion_tokens_details: z.looseObject({ reasoning_tokens: z.number().nullish() }).nullish(),
});

/**
 * One `chat.completion.chunk` as the engines send it: only the fields read here are checked, each
 * optional (engines leave out or null what they lack), and anything else is let through.
 */
const chunkSchema = z.looseObject({
  choices: z
    .array(
      z.looseObject({
        index: indexSchema,
        delta: deltaSchema.nullish(),
        finish_reason: z.string().nullish(),
        logprobs: wireLogprobsSchema,
      }),
    )
    .nullish(),
  usage: usageSchema.nullish(),
  /** An engine failing mid-stream: `{message}` mostly, anything at all in principle. */
  error: z.unknown(),
});

type Chunk = z.output<typeof chunkSchema>;
type WireDelta = z.output<typeof deltaSchema>;
type WireUsage = z.output<typeof usageSchema>;

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

const FINISH = new Map<string, FinishReason>([
  ["stop", "stop"],
  ["length", "length"],
  ["tool_calls", "tool_calls"],
  ["function_call", "tool_calls"],
  ["content_filter", "stop"],
]);

/** The message of a chunk's `error`. */
function errorMessage(error: unknown): string {
  if (typeof error === "object" && error !== null && "message" in error && typeof error.message === "string") return error.message;
  return typeof error === "string" ? error : JSON.stringify(error);
}

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
    return this.#translateChunk(parseUpstreamJson(chunkSchema, event.data, "The upstream engine sent a chunk"));
  }

  #translateChunk(chunk: Chunk): EngineEvent[] {
    if (chunk.error) throw errors.internal(`The upstream engine failed: ${errorMessage(chunk.error)}`);
    const usage = chunk.usage;
    const events: EngineEvent[] = [];
    for (const choice of chunk.choices ?? []) {
      const index = choice.index ?? 0;
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
          reason: FINISH.get(choice.finish_reason) ?? "stop",
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

  #delta(raw: WireDelta, progress: ChoiceProgress): Omit<DeltaEvent, "type" | "index" | "usage"> {
    const out: Omit<DeltaEvent, "type" | "index" | "usage"> = {};
    if (raw.content) out.content = raw.content;
    const reasoning = raw.reasoning_content ?? raw.reasoning;
    if (reasoning) out.reasoning = reasoning;
    const calls: ToolCallDelta[] = [];
    for (const piece of raw.tool_calls ?? []) {
      const index = piece.index ?? 0;
      const args = piece.function?.arguments ?? "";
      if (!progress.calls.has(index)) {
        progress.calls.add(index);
        const id = piece.id ? piece.id : newToolCallId();
        calls.push({ index, id, name: piece.function?.name ?? "", arguments: args });
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
  #applyUsage(usage: WireUsage, events: EngineEvent[]): void {
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
