import { textOf } from "../../core/content.ts";
import type { ChatMessage, GenerationRequest } from "../../core/types.ts";

type Json = Record<string, unknown>;

function message(m: ChatMessage): Json {
  const out: Json = { role: m.role, content: textOf(m) };
  if (m.toolCalls) out.tool_calls = m.toolCalls.map((c, index) => ({ id: c.id, type: "function", index, function: c.function }));
  if (m.toolCallId !== undefined) out.tool_call_id = m.toolCallId;
  if (m.name !== undefined) out.name = m.name;
  if (m.reasoningContent !== undefined) out.reasoning_content = m.reasoningContent;
  if (m.partial) out.partial = true;
  return out;
}

/**
 * A core request as a native DashScope text-generation body (protocol.md §3), streamed in
 * incremental message format — the one shape every answer fits — whatever the client asked for;
 * openscope's own encoder gives the client its shape.
 */
export function nativeBody(request: GenerationRequest, upstreamModel: string): Json {
  const { sampling: s, features: f } = request;
  const parameters: Json = { result_format: "message", incremental_output: true };
  const set = (key: string, value: unknown) => {
    if (value !== undefined) parameters[key] = value;
  };
  set("temperature", s.temperature);
  set("top_p", s.topP);
  set("top_k", s.topK);
  set("seed", s.seed);
  set("repetition_penalty", s.repetitionPenalty);
  set("presence_penalty", s.presencePenalty);
  set("frequency_penalty", s.frequencyPenalty);
  set("max_tokens", s.maxTokens);
  if (s.stop.strings.length > 0) parameters.stop = s.stop.strings;
  else if (s.stop.tokenIds.length > 0) parameters.stop = s.stop.tokenIds;
  if (s.n > 1) parameters.n = s.n;
  if (s.logitBias) parameters.logit_bias = Object.fromEntries(s.logitBias.map(([id, bias]) => [String(id), bias]));
  if (f.tools) parameters.tools = f.tools.map((t) => ({ type: "function", function: t }));
  if (f.toolChoice) parameters.tool_choice = f.toolChoice.type === "function" ? { type: "function", function: { name: f.toolChoice.name } } : f.toolChoice.type;
  if (f.tools && f.parallelToolCalls !== undefined) parameters.parallel_tool_calls = f.parallelToolCalls;
  if (f.thinking?.enabled !== undefined) parameters.enable_thinking = f.thinking.enabled;
  if (f.thinking?.enabled && f.thinking.budget !== undefined) parameters.thinking_budget = f.thinking.budget;
  if (f.responseFormat) {
    const r = f.responseFormat;
    parameters.response_format =
      r.type === "json_object" ? { type: "json_object" } : { type: "json_schema", json_schema: { name: r.name, schema: r.schema, strict: r.strict } };
  }
  if (f.logprobs) {
    parameters.logprobs = true;
    parameters.top_logprobs = f.logprobs.topLogprobs;
  }
  return { model: upstreamModel, input: { messages: request.messages.map(message) }, parameters };
}
