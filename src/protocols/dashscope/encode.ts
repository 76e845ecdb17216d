import type {
  DeltaEvent,
  EngineEvent,
  FinishReason,
  SearchInfo,
  SearchOutcome,
  TokenAlternative,
  TokenLogprob,
  ToolCallDelta,
  Usage,
} from "../../core/index.ts";
import { ChoiceStates, sumUsage, usageOnTheWire, type ToolCallState } from "../shared/index.ts";

export { sumUsage };

/** How the client sees the answer; decided by the decoder and shape.ts, applied here. */
export interface ResponseShape {
  resultFormat: "text" | "message";
  /** Stream only: deltas (true) or the whole answer so far (false). */
  incrementalOutput: boolean;
  /** Thinking mode: every message carries `reasoning_content` (protocol.md §5.3, §6.5). */
  reasoning: boolean;
  /** Choices carry `logprobs.content` (protocol.md §5.5). */
  logprobs: boolean;
  /** The multimodal endpoint: `message.content` is always an array, `[{"text": …}]` or `[]` (§6.5). */
  multimodal?: boolean;
  /** `vl_enable_image_hw_output`: each input image's size after resizing, `[height, width]`, sent as `output.image_hw` (the last chunk of a stream). */
  imageSizes?: [number, number][];
}

/** Native usage; with a web search, `plugins.search` right after the counts (before the details, as the capture has it). */
export function wireUsage(usage: Usage, search?: SearchOutcome["usage"]): Record<string, unknown> {
  const wire = { ...usageOnTheWire(usage, { input: "input_tokens", output: "output_tokens", outputDetails: "output_tokens_details" }), ...mediaUsage(usage) };
  if (!search) return wire;
  const { input_tokens, output_tokens, total_tokens, ...details } = wire;
  return { input_tokens, output_tokens, total_tokens, plugins: { search: { count: search.count, strategy: search.strategy } }, ...details };
}

/**
 * Multimodal usage (§5.7): `image_tokens` / `video_tokens` / `audio_tokens` at the top, and the
 * newer models' `input_tokens_details` splitting the input into media and text.
 */
function mediaUsage(usage: Usage): Record<string, unknown> {
  const media: Record<string, number> = {};
  if (usage.imageTokens) media.image_tokens = usage.imageTokens;
  if (usage.videoTokens) media.video_tokens = usage.videoTokens;
  if (usage.audioTokens) media.audio_tokens = usage.audioTokens;
  const total = Object.values(media).reduce((a, b) => a + b, 0);
  if (total === 0) return {};
  return { ...media, input_tokens_details: { ...media, text_tokens: Math.max(0, usage.inputTokens - total) } };
}

/** `search_results[]` entries in the capture's key order (protocol.md §5.6). */
function wireSearchResults(info: SearchInfo): object[] {
  return info.results.map((r) => ({ icon: r.icon, site_name: r.siteName, index: r.index, title: r.title, url: r.url }));
}

/** Full `search_info` (sync answers; the first stream event when not prepended). */
function wireSearchInfo(info: SearchInfo): object {
  return { extra_tool_info: info.extraToolInfo.map((t) => ({ result: t.result, tool: t.tool })), search_results: wireSearchResults(info) };
}

/** What a stream event after the sources carries (§6.5). */
const EMPTY_SEARCH_INFO = (): object => ({ extra_tool_info: [], search_results: [] });

type WireFinish = FinishReason | "null";

function wireAlternative(t: TokenAlternative): object {
  return { logprob: t.logprob, bytes: t.bytes, token: t.token };
}

function wireLogprobs(entries: readonly TokenLogprob[]): object {
  return { content: entries.map((t) => ({ top_logprobs: t.topLogprobs.map(wireAlternative), ...wireAlternative(t) })) };
}

/** A stream piece of a tool call (§6.5): the first carries id and name, continuations `"id":""`. */
function wireToolCallDelta(delta: ToolCallDelta): object {
  const first = delta.id !== undefined;
  return {
    index: delta.index,
    id: delta.id ?? "",
    type: "function",
    function: first ? { name: delta.name ?? "", arguments: delta.arguments } : { arguments: delta.arguments },
  };
}

function wireToolCall(call: ToolCallState, index: number, order: "stream" | "sync"): object {
  const fn = { name: call.name, arguments: call.arguments };
  return order === "sync" ? { function: fn, index, id: call.id, type: "function" } : { index, id: call.id, type: "function", function: fn };
}

function message(shape: ResponseShape, content: string, reasoning: string, toolCalls: object[] | undefined): object {
  return {
    role: "assistant",
    content: shape.multimodal ? (content === "" ? [] : [{ text: content }]) : content,
    ...(shape.reasoning ? { reasoning_content: reasoning } : {}),
    ...(toolCalls && toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
  };
}

/**
 * Turns engine events into the `data:` objects of a native SSE stream (protocol.md §6.3-6.5).
 * Each event carries one choice (with its `index`) and that choice's cumulative usage.
 */
export class NativeStreamEncoder {
  readonly #choices = new ChoiceStates();
  /** The web search behind this answer, once its event came (features/search). */
  #search: SearchOutcome | undefined;

  constructor(
    readonly shape: ResponseShape,
    readonly requestId: string,
  ) {}

  encode(event: EngineEvent): object {
    const state = this.#choices.add(event);
    const delta: Partial<DeltaEvent> = event.type === "delta" ? event : {};
    const incremental = this.shape.incrementalOutput;
    const finish: WireFinish = event.type === "finish" ? event.reason : "null";
    const content = incremental ? (delta.content ?? "") : state.content;
    let output: object;
    if (this.shape.resultFormat === "text") {
      output = { finish_reason: finish, text: content };
    } else {
      const reasoning = incremental ? (delta.reasoning ?? "") : state.reasoning;
      const toolCalls = incremental ? delta.toolCalls?.map(wireToolCallDelta) : state.calls.map((call, i) => wireToolCall(call, i, "stream"));
      const choice: Record<string, unknown> = {
        message: message(this.shape, content, reasoning, toolCalls),
        index: event.index,
        finish_reason: finish,
      };
      if (this.shape.logprobs) choice.logprobs = wireLogprobs(incremental ? (delta.logprobs ?? []) : state.logprobs);
      output = { choices: [choice], ...(event.type === "finish" && this.shape.imageSizes ? { image_hw: this.shape.imageSizes } : {}) };
    }
    // Web search (§6.5): a prepended first event has only the sources and `"usage":{}`; the
    // event that brings the sources otherwise has them in full; later events an empty search_info.
    const search = delta.search;
    if (search) this.#search = search;
    if (search?.prepended && search.info) {
      return { output: { ...output, search_info: { search_results: wireSearchResults(search.info) } }, usage: {}, request_id: this.requestId };
    }
    if (this.#search) {
      if (this.#search.info) output = { ...output, search_info: search?.info ? wireSearchInfo(search.info) : EMPTY_SEARCH_INFO() };
      return { output, usage: wireUsage(event.usage, this.#search.usage), request_id: this.requestId };
    }
    return { output, usage: wireUsage(event.usage), request_id: this.requestId };
  }
}

/** Collects a whole generation into the non-stream JSON body (protocol.md §5). */
export class NativeResponseCollector {
  readonly #choices = new ChoiceStates();
  #search: SearchOutcome | undefined;

  constructor(
    readonly shape: ResponseShape,
    readonly requestId: string,
  ) {}

  add(event: EngineEvent): void {
    if (event.type === "delta" && event.search) this.#search = event.search;
    this.#choices.add(event);
  }

  body(): object {
    const choices = this.#choices.ordered();
    const usage = this.#choices.usage();
    const first = choices[0]?.state;
    const output =
      this.shape.resultFormat === "text"
        ? { finish_reason: first?.finish ?? "stop", text: first?.content ?? "" }
        : {
            choices: choices.map(({ index, state }) => {
              const toolCalls = state.calls.map((call, i) => wireToolCall(call, i, "sync"));
              const choice: Record<string, unknown> = {
                finish_reason: state.finish ?? "stop",
                index,
                message: message(this.shape, state.content, state.reasoning, toolCalls),
              };
              if (this.shape.logprobs) choice.logprobs = wireLogprobs(state.logprobs);
              return choice;
            }),
          };
    const search = this.#search;
    const sized = this.shape.imageSizes ? { ...output, image_hw: this.shape.imageSizes } : output;
    const withSources = search?.info ? { ...sized, search_info: wireSearchInfo(search.info) } : sized;
    return { output: withSources, usage: wireUsage(usage, search?.usage), request_id: this.requestId };
  }
}
