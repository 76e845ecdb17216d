import { dataUri, isMediaPart, textOf, type ChatMessage, type ContentPart, type GenerationRequest, type ToolChoice } from "../../core/index.ts";
import type { KindTraits } from "./kinds.ts";

type Json = Record<string, unknown>;

/** A part as OpenAI-compatible engines take media (vLLM/SGLang/Ollama): images as `image_url`, a video file as `video_url` (frame lists as images), audio as `input_audio`. */
function partBody(part: ContentPart): Json[] {
  switch (part.type) {
    case "text":
      return [{ type: "text", text: part.text }];
    case "image": {
      const url = part.prepared ? dataUri(part.prepared.mimeType, part.prepared.data) : part.source;
      return [{ type: "image_url", image_url: { url } }];
    }
    case "video": {
      const file = part.prepared?.file;
      if (file) return [{ type: "video_url", video_url: { url: dataUri(file.mimeType, file.data) } }];
      return (part.prepared?.frames ?? []).map((frame) => ({ type: "image_url", image_url: { url: dataUri(frame.mimeType, frame.data) } }));
    }
    case "audio":
      return part.prepared ? [{ type: "input_audio", input_audio: { data: Buffer.from(part.prepared.data).toString("base64"), format: "wav" } }] : [];
  }
}

function messageBody(message: ChatMessage): Json {
  const content = message.content.some(isMediaPart) ? message.content.flatMap(partBody) : textOf(message);
  const out: Json = { role: message.role, content };
  if (message.toolCalls) out.tool_calls = message.toolCalls.map((c) => ({ id: c.id, type: "function", function: c.function }));
  if (message.toolCallId !== undefined) out.tool_call_id = message.toolCallId;
  if (message.name !== undefined) out.name = message.name;
  if (message.reasoningContent !== undefined) out.reasoning_content = message.reasoningContent;
  // Prefix continuation, as vLLM / SGLang / DashScope's compatible mode take it.
  if (message.partial) out.partial = true;
  return out;
}

function toolChoiceBody(choice: ToolChoice): unknown {
  return choice.type === "function" ? { type: "function", function: { name: choice.name } } : choice.type;
}

/**
 * A core request as an OpenAI chat-completions body for one kind of engine: the standard fields,
 * the kind's extras (top_k, repetition penalty, stop token ids, the Qwen3 thinking switch), always
 * streamed with usage. `n` is the number of choices this one upstream request should make.
 */
export function upstreamBody(request: GenerationRequest, upstreamModel: string, traits: KindTraits, n: number, seedOffset = 0): Json {
  const { sampling, features } = request;
  const body: Json = {
    model: upstreamModel,
    messages: request.messages.map(messageBody),
    stream: true,
    stream_options: traits.continuousUsage ? { include_usage: true, continuous_usage_stats: true } : { include_usage: true },
  };
  const set = (key: string, value: unknown) => {
    if (value !== undefined) body[key] = value;
  };
  set("temperature", sampling.temperature);
  set("top_p", sampling.topP);
  if (traits.topK && sampling.topK !== undefined) body.top_k = sampling.topK === 0 ? (traits.topKOff ?? 0) : sampling.topK;
  if (traits.repetitionPenalty) set(traits.repetitionPenalty, sampling.repetitionPenalty);
  set("presence_penalty", sampling.presencePenalty);
  set("frequency_penalty", sampling.frequencyPenalty);
  set("max_tokens", sampling.maxTokens);
  if (sampling.seed !== undefined) body.seed = sampling.seed + seedOffset;
  if (sampling.stop.strings.length > 0) body.stop = sampling.stop.strings;
  if (sampling.stop.tokenIds.length > 0) {
    if (traits.stopTokenIds === "sequences") body.stop = sampling.stop.tokenIds;
    else body.stop_token_ids = sampling.stop.tokenIds.map((ids) => ids[0]);
  }
  if (sampling.logitBias) body.logit_bias = Object.fromEntries(sampling.logitBias.map(([id, bias]) => [String(id), bias]));
  if (n > 1) body.n = n;
  if (features.tools) body.tools = features.tools.map((t) => ({ type: "function", function: t }));
  if (features.toolChoice) body.tool_choice = toolChoiceBody(features.toolChoice);
  set("parallel_tool_calls", features.tools ? features.parallelToolCalls : undefined);
  if (features.responseFormat) {
    const f = features.responseFormat;
    body.response_format =
      f.type === "json_object"
        ? traits.jsonObject
          ? { type: "json_object" }
          : { type: "json_schema", json_schema: { name: "json_object", schema: { type: "object" }, strict: true } }
        : { type: "json_schema", json_schema: { name: f.name, schema: f.schema, strict: f.strict, ...(f.description ? { description: f.description } : {}) } };
  }
  if (features.logprobs) {
    body.logprobs = true;
    body.top_logprobs = features.logprobs.topLogprobs;
  }
  const thinking = features.thinking;
  if (traits.thinking === "chat_template_kwargs" && thinking?.enabled !== undefined) body.chat_template_kwargs = { enable_thinking: thinking.enabled };
  if (traits.thinking === "enable_thinking" && thinking?.enabled !== undefined) {
    body.enable_thinking = thinking.enabled;
    if (thinking.enabled && thinking.budget !== undefined) body.thinking_budget = thinking.budget;
  }
  return body;
}
