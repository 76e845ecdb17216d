import { dataUri, mediaParts, textOf, type ChatMessage, type ContentPart, type GenerationRequest, type MediaOptions } from "../../core/index.ts";

type Json = Record<string, unknown>;

/** A public URL the upstream server can fetch itself, else the prepared bytes as a `data:` URI (oss:// keys of this server, data: inputs). */
const forwardable = (source: string, prepared: () => string | undefined) => (/^https?:\/\//i.test(source) ? source : (prepared() ?? source));

/** A content item in the multimodal endpoint's native form: `{"text"}`, `{"image"}`, `{"video"}`, `{"audio"}` with their options. */
function item(part: ContentPart): Json {
  const pixels = (o: MediaOptions): Json => ({
    ...(o.minPixels !== undefined ? { min_pixels: o.minPixels } : {}),
    ...(o.maxPixels !== undefined ? { max_pixels: o.maxPixels } : {}),
    ...(o.totalPixels !== undefined ? { total_pixels: o.totalPixels } : {}),
    ...(o.fps !== undefined ? { fps: o.fps } : {}),
  });
  switch (part.type) {
    case "text":
      return { text: part.text };
    case "image":
      return { image: forwardable(part.source, () => part.prepared && dataUri(part.prepared.mimeType, part.prepared.data)), ...pixels(part.options) };
    case "video": {
      const video = Array.isArray(part.source)
        ? part.source.map((frame, i) =>
            forwardable(frame, () => {
              const f = part.prepared?.frames[i];
              return f && dataUri(f.mimeType, f.data);
            }),
          )
        : forwardable(part.source, () => part.prepared?.file && dataUri(part.prepared.file.mimeType, part.prepared.file.data));
      return { video, ...pixels(part.options) };
    }
    case "audio":
      return { audio: forwardable(part.source, () => part.prepared && dataUri(part.prepared.mimeType, part.prepared.data)) };
  }
}

function message(m: ChatMessage, multimodal: boolean): Json {
  const out: Json = { role: m.role, content: multimodal ? m.content.map(item) : textOf(m) };
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
  const multimodal = request.features.media !== undefined || mediaParts(request.messages).length > 0;
  if (request.features.media?.highResolution) parameters.vl_high_resolution_images = true;
  if (request.features.media?.returnImageSize) parameters.vl_enable_image_hw_output = true;
  return { model: upstreamModel, input: { messages: request.messages.map((m) => message(m, multimodal)) }, parameters };
}
