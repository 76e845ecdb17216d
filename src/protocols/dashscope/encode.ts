import type { EngineEvent, FinishReason, Usage } from "../../core/types.ts";

/** How the client asked to see the answer; decided by the decoder, applied here. */
export interface ResponseShape {
  resultFormat: "text" | "message";
  /** Stream only: deltas (true) or the whole text so far (false). */
  incrementalOutput: boolean;
}

interface WireUsage {
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens: number };
  output_tokens_details?: { reasoning_tokens: number };
}

export function wireUsage(usage: Usage): WireUsage {
  const wire: WireUsage = {
    input_tokens: usage.inputTokens,
    output_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
  if (usage.cachedTokens !== undefined) wire.prompt_tokens_details = { cached_tokens: usage.cachedTokens };
  if (usage.reasoningTokens !== undefined) wire.output_tokens_details = { reasoning_tokens: usage.reasoningTokens };
  return wire;
}

type WireFinish = FinishReason | "null";

function outputObject(shape: ResponseShape, index: number, content: string, finish: WireFinish): object {
  if (shape.resultFormat === "text") return { finish_reason: finish, text: content };
  return {
    choices: [{ message: { role: "assistant", content }, index, finish_reason: finish }],
  };
}

/**
 * Turns engine events into the `data:` objects of a native SSE stream (protocol.md §6.3-6.5).
 * Each event carries one choice (with its `index`) and that choice's cumulative usage.
 */
export class NativeStreamEncoder {
  readonly #texts = new Map<number, string>();

  constructor(
    readonly shape: ResponseShape,
    readonly requestId: string,
  ) {}

  encode(event: EngineEvent): object {
    const sofar = (this.#texts.get(event.index) ?? "") + (event.type === "delta" ? event.content : "");
    this.#texts.set(event.index, sofar);
    const incremental = this.shape.incrementalOutput;
    const content = event.type === "delta" ? (incremental ? event.content : sofar) : incremental ? "" : sofar;
    const finish: WireFinish = event.type === "finish" ? event.reason : "null";
    return {
      output: outputObject(this.shape, event.index, content, finish),
      usage: wireUsage(event.usage),
      request_id: this.requestId,
    };
  }
}

interface ChoiceState {
  text: string;
  finish: FinishReason | undefined;
  usage: Usage | undefined;
}

/** Collects a whole generation into the non-stream JSON body (protocol.md §5). */
export class NativeResponseCollector {
  readonly #choices = new Map<number, ChoiceState>();

  constructor(
    readonly shape: ResponseShape,
    readonly requestId: string,
  ) {}

  add(event: EngineEvent): void {
    const choice = this.#choices.get(event.index) ?? { text: "", finish: undefined, usage: undefined };
    if (event.type === "delta") choice.text += event.content;
    else choice.finish = event.reason;
    choice.usage = event.usage;
    this.#choices.set(event.index, choice);
  }

  body(): object {
    const indices = [...this.#choices.keys()].sort((a, b) => a - b);
    const choices = indices.map((index) => ({ index, ...this.#choices.get(index)! }));
    const usage = sumUsage(choices.map((c) => c.usage).filter((u): u is Usage => u !== undefined));
    const output =
      this.shape.resultFormat === "text"
        ? { finish_reason: choices[0]?.finish ?? "stop", text: choices[0]?.text ?? "" }
        : {
            choices: choices.map((c) => ({
              finish_reason: c.finish ?? "stop",
              index: c.index,
              message: { role: "assistant", content: c.text },
            })),
          };
    return { output, usage: wireUsage(usage), request_id: this.requestId };
  }
}

/** Usage of several choices of one request: the prompt counts once, outputs add up. */
export function sumUsage(usages: Usage[]): Usage {
  const first = usages[0];
  if (!first) return { inputTokens: 0, outputTokens: 0 };
  const total: Usage = { inputTokens: first.inputTokens, outputTokens: 0 };
  if (first.cachedTokens !== undefined) total.cachedTokens = first.cachedTokens;
  for (const usage of usages) {
    total.outputTokens += usage.outputTokens;
    if (usage.reasoningTokens !== undefined) total.reasoningTokens = (total.reasoningTokens ?? 0) + usage.reasoningTokens;
  }
  return total;
}
