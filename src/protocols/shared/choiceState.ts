import { sumUsage, type EngineEvent, type FinishReason, type TokenLogprob, type Usage } from "../../core/index.ts";

/** Dialect-neutral bookkeeping for encoders: what each choice of a generation has said so far. */

export interface ToolCallState {
  id: string;
  name: string;
  arguments: string;
}

/** Everything one choice has said so far. */
export class ChoiceState {
  content = "";
  reasoning = "";
  readonly calls: ToolCallState[] = [];
  readonly logprobs: TokenLogprob[] = [];
  finish: FinishReason | undefined;
  usage: Usage | undefined;

  add(event: EngineEvent): void {
    this.usage = event.usage;
    if (event.type === "finish") {
      this.finish = event.reason;
      return;
    }
    this.content += event.content ?? "";
    this.reasoning += event.reasoning ?? "";
    for (const delta of event.toolCalls ?? []) {
      this.calls[delta.index] ??= { id: "", name: "", arguments: "" };
      const call = this.calls[delta.index]!;
      if (delta.id) call.id = delta.id;
      if (delta.name) call.name += delta.name;
      call.arguments += delta.arguments;
    }
    this.logprobs.push(...(event.logprobs ?? []));
  }
}

/** Every choice of one generation, by index. */
export class ChoiceStates {
  readonly #choices = new Map<number, ChoiceState>();

  /** Records the event; returns its choice's state. */
  add(event: EngineEvent): ChoiceState {
    let state = this.#choices.get(event.index);
    if (!state) {
      state = new ChoiceState();
      this.#choices.set(event.index, state);
    }
    state.add(event);
    return state;
  }

  /** The choices in index order. */
  ordered(): { index: number; state: ChoiceState }[] {
    return [...this.#choices.keys()].sort((a, b) => a - b).map((index) => ({ index, state: this.#choices.get(index)! }));
  }

  /** Usage of the whole generation. */
  usage(): Usage {
    return sumUsage(
      this.ordered()
        .map((c) => c.state.usage)
        .filter((u): u is Usage => u !== undefined),
    );
  }
}

/** The names a dialect gives the usage counts. */
export interface UsageNames {
  input: string;
  output: string;
  outputDetails: string;
}

/** Usage as a dialect writes it: input, output and total, then the cached and reasoning details when known. */
export function usageOnTheWire(usage: Usage, names: UsageNames): Record<string, unknown> {
  const wire: Record<string, unknown> = {
    [names.input]: usage.inputTokens,
    [names.output]: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
  };
  if (usage.cachedTokens !== undefined) wire.prompt_tokens_details = { cached_tokens: usage.cachedTokens };
  if (usage.reasoningTokens !== undefined) wire[names.outputDetails] = { reasoning_tokens: usage.reasoningTokens };
  return wire;
}

export { sumUsage };
