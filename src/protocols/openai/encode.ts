import type { DeltaEvent, EngineEvent, FinishReason, TokenAlternative, TokenLogprob, ToolCallDelta, Usage } from "../../core/index.ts";
import { type ChoiceStates, sumUsage, usageOnTheWire } from "../shared/index.ts";

/** What the answer carries beyond content (the model's thinking; logprobs asked for). */
export interface ChatCompletionContent {
  reasoning: boolean;
  logprobs: boolean;
}

const wireUsage = (usage: Usage) => usageOnTheWire(usage, { input: "prompt_tokens", output: "completion_tokens", outputDetails: "completion_tokens_details" });

const alternative = (t: TokenAlternative) => ({ token: t.token, logprob: t.logprob, bytes: t.bytes });

function wireLogprobs(entries: readonly TokenLogprob[]): object {
  return { content: entries.map((t) => ({ ...alternative(t), top_logprobs: t.topLogprobs.map(alternative) })) };
}

/** Fields every response object of one request shares. */
export interface CompletionIdentity {
  id: string;
  created: number;
  model: string;
}

export function completionIdentity(requestId: string, model: string): CompletionIdentity {
  return { id: `chatcmpl-${requestId}`, created: Math.floor(Date.now() / 1000), model };
}

/** A whole generation (its choices collected) as one `chat.completion` object. */
export function chatCompletionBody(identity: CompletionIdentity, carries: ChatCompletionContent, collected: ChoiceStates): object {
  const choices = collected.ordered().map(({ index, state: s }) => {
    const message: Record<string, unknown> = { role: "assistant", content: s.content };
    if (carries.reasoning) message.reasoning_content = s.reasoning;
    if (s.calls.length > 0) {
      message.tool_calls = s.calls.map((c, i) => ({ index: i, id: c.id, type: "function", function: { name: c.name, arguments: c.arguments } }));
    }
    return { index, message, finish_reason: s.finish ?? "stop", logprobs: carries.logprobs ? wireLogprobs(s.logprobs) : null };
  });
  const head = { id: identity.id, object: "chat.completion", created: identity.created, model: identity.model };
  return { ...head, choices, usage: wireUsage(collected.usage()), system_fingerprint: null };
}

function wireToolCallDelta(delta: ToolCallDelta): object {
  if (delta.id === undefined) return { index: delta.index, function: { arguments: delta.arguments } };
  return { index: delta.index, id: delta.id, type: "function", function: { name: delta.name ?? "", arguments: delta.arguments } };
}

/**
 * Engine events as `chat.completion.chunk` objects: the first chunk of each choice carries the
 * role, then deltas, then a chunk with the finish reason; with `include_usage`, a last chunk with
 * no choices and the usage of all of them (every other chunk then says `"usage": null`).
 */
export class ChatCompletionChunkEncoder {
  readonly #started = new Set<number>();
  readonly #usage = new Map<number, Usage>();

  constructor(
    readonly identity: CompletionIdentity,
    readonly carries: ChatCompletionContent,
    readonly includeUsage: boolean,
    readonly continuousUsage = false,
  ) {}

  encode(event: EngineEvent): object[] {
    this.#usage.set(event.index, event.usage);
    const chunks: object[] = [];
    if (!this.#started.has(event.index)) {
      this.#started.add(event.index);
      chunks.push(this.#chunk(event, { role: "assistant", content: "" }, null));
    }
    if (event.type === "finish") {
      chunks.push(this.#chunk(event, {}, event.reason));
      return chunks;
    }
    const delta = this.#delta(event);
    if (delta) chunks.push(this.#chunk(event, delta, null, event.logprobs));
    return chunks;
  }

  /** The usage chunk (only with include_usage). */
  finish(): object | undefined {
    if (!this.includeUsage) return undefined;
    return { ...this.#head(), choices: [], usage: wireUsage(sumUsage([...this.#usage.values()])) };
  }

  #delta(event: DeltaEvent): Record<string, unknown> | undefined {
    const delta: Record<string, unknown> = {};
    if (event.reasoning) delta.reasoning_content = event.reasoning;
    if (event.content) delta.content = event.content;
    if (event.toolCalls && event.toolCalls.length > 0) delta.tool_calls = event.toolCalls.map(wireToolCallDelta);
    return Object.keys(delta).length > 0 ? delta : undefined;
  }

  #chunk(event: EngineEvent, delta: object, finish: FinishReason | null, logprobs?: TokenLogprob[]): object {
    const choice = { index: event.index, delta, finish_reason: finish, logprobs: this.carries.logprobs && logprobs ? wireLogprobs(logprobs) : null };
    const usage = this.continuousUsage ? { usage: wireUsage(event.usage) } : this.includeUsage ? { usage: null } : {};
    return { ...this.#head(), choices: [choice], ...usage };
  }

  #head() {
    return { id: this.identity.id, object: "chat.completion.chunk", created: this.identity.created, model: this.identity.model, system_fingerprint: null };
  }
}

/** One server-sent event of OpenAI's stream format. */
export function dataFrame(payload: object | "[DONE]"): string {
  return `data: ${payload === "[DONE]" ? payload : JSON.stringify(payload)}\n\n`;
}
