import {
  textOf,
  invalidParameter,
  jsonPreview,
  type ChatMessage,
  type ContentPart,
  type MediaOptions,
  type MediaPart,
  type Role,
  type ToolCall,
} from "../../core/index.ts";
import { isObject, optionalBoolean, optionalString, wrongType, type JsonObject } from "./validate.ts";

/** The real server's message for an empty or misplaced message (captured: parameter-error-*). */
export const EMPTY_MESSAGE = "Role must be user or assistant and Content length must be greater than 0";

const ROLES: readonly Role[] = ["system", "user", "assistant", "tool"];

function pixels(part: JsonObject, key: string, field: string): number | undefined {
  const value = part[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1) throw invalidParameter(`${field}.${key} must be a positive integer.`);
  return value;
}

function mediaSource(value: unknown, field: string): string {
  if (typeof value !== "string" || value.trim() === "") throw invalidParameter(`${field} must be a non-empty URL string.`);
  return value.trim();
}

/** `{"image"}`, `{"video"}` (a file URL or a list of frame URLs) and `{"audio"}` items of the multimodal endpoint. */
function decodeMediaPart(part: JsonObject, field: string): MediaPart | undefined {
  if ("image" in part) {
    const options: MediaOptions = {};
    const min = pixels(part, "min_pixels", field);
    const max = pixels(part, "max_pixels", field);
    if (min !== undefined) options.minPixels = min;
    if (max !== undefined) options.maxPixels = max;
    return { type: "image", source: mediaSource(part.image, `${field}.image`), options };
  }
  if ("video" in part) {
    const video = part.video;
    const source = Array.isArray(video) ? video.map((frame, i) => mediaSource(frame, `${field}.video[${i}]`)) : mediaSource(video, `${field}.video`);
    if (Array.isArray(source) && source.length < 4) throw invalidParameter(`${field}.video must list at least 4 frames.`);
    const options: MediaOptions = {};
    const fps = part.fps;
    if (fps !== undefined && fps !== null) {
      if (typeof fps !== "number" || fps < 0.1 || fps > 10) throw invalidParameter(`${field}.fps must be a number in [0.1, 10].`);
      options.fps = fps;
    }
    for (const [key, name] of [
      ["min_pixels", "minPixels"],
      ["max_pixels", "maxPixels"],
      ["total_pixels", "totalPixels"],
    ] as const) {
      const value = pixels(part, key, field);
      if (value !== undefined) options[name] = value;
    }
    return { type: "video", source, options };
  }
  if ("audio" in part) return { type: "audio", source: mediaSource(part.audio, `${field}.audio`) };
  return undefined;
}

function decodeContentPart(part: unknown, field: string, allowMedia: boolean): ContentPart {
  if (typeof part === "string") return { type: "text", text: part };
  if (!isObject(part)) wrongType(field, "an object", part);
  const text = part.text;
  if (typeof text !== "string" && allowMedia) {
    const media = decodeMediaPart(part, field);
    if (media) return media;
  }
  if (typeof text !== "string") {
    const kinds = ["image", "video", "audio", "image_url", "doc_url", "file"].filter((k) => k in part || part.type === k);
    const kind = kinds[0];
    if (kind === "doc_url" || kind === "file") {
      // Document parts belong to the text endpoint (qwen-doc-*), not the multimodal one.
      throw invalidParameter(`${field} is a ${kind} item: document input is not supported here; send the document's text as a text part.`);
    }
    if (kind !== undefined) {
      throw invalidParameter(
        `${field} is a ${kind} item: media input is served on /api/v1/services/aigc/multimodal-generation/generation by a model that supports it.`,
      );
    }
    wrongType(`${field}.text`, "a string", text);
  }
  const decoded: ContentPart = { type: "text", text };
  const cache = part.cache_control;
  if (cache !== undefined && cache !== null) {
    if (!isObject(cache) || cache.type !== "ephemeral") {
      throw invalidParameter(`${field}.cache_control must be {"type": "ephemeral"}.`);
    }
    decoded.cacheControl = { type: "ephemeral" };
  }
  return decoded;
}

function decodeContent(content: unknown, field: string, allowMedia: boolean): ContentPart[] {
  if (content === undefined || content === null) return [];
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  if (!Array.isArray(content)) wrongType(field, "a string or an array of content parts", content);
  return content.map((part, i) => decodeContentPart(part, `${field}[${i}]`, allowMedia));
}

function decodeToolCalls(value: unknown, field: string): ToolCall[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) wrongType(field, "an array", value);
  return value.map((raw, i): ToolCall => {
    const f = `${field}[${i}]`;
    if (!isObject(raw) || !isObject(raw.function)) wrongType(`${f}.function`, "an object", isObject(raw) ? raw.function : raw);
    const name = optionalString(raw.function, "name", `${f}.function.name`);
    if (!name) throw invalidParameter(`${f}.function.name must be a non-empty string.`);
    const args = raw.function.arguments;
    const argumentsText = typeof args === "string" ? args : args === undefined || args === null ? "{}" : JSON.stringify(args);
    return { id: optionalString(raw, "id", `${f}.id`) ?? `call_${i}`, type: "function", function: { name, arguments: argumentsText } };
  });
}

function decodeMessage(raw: unknown, field: string, allowMedia: boolean): ChatMessage {
  if (!isObject(raw)) wrongType(field, "an object", raw);
  const role = raw.role;
  if (typeof role !== "string" || !ROLES.includes(role as Role)) {
    throw invalidParameter(`${field}.role must be one of system, user, assistant, tool; got ${jsonPreview(role ?? null)}.`);
  }
  if (!("content" in raw) && role !== "assistant") throw invalidParameter("The content field is a required field.");
  const message: ChatMessage = { role: role as Role, content: decodeContent(raw.content, `${field}.content`, allowMedia) };
  const name = optionalString(raw, "name", `${field}.name`);
  if (name !== undefined) message.name = name;
  const toolCallId = optionalString(raw, "tool_call_id", `${field}.tool_call_id`);
  if (toolCallId !== undefined) message.toolCallId = toolCallId;
  const toolCalls = decodeToolCalls(raw.tool_calls, `${field}.tool_calls`);
  if (toolCalls !== undefined && toolCalls.length > 0) message.toolCalls = toolCalls;
  const reasoning = optionalString(raw, "reasoning_content", `${field}.reasoning_content`);
  if (reasoning) message.reasoningContent = reasoning;
  if (optionalBoolean(raw, "partial", `${field}.partial`)) message.partial = true;
  return message;
}

/**
 * Decodes and checks the conversation: known roles, non-empty user turns, tool results that
 * answer a tool call, and a last turn the model can answer. Like the real server it accepts
 * several system messages or an assistant turn first; the model's template decides. `field` is
 * where the dialect keeps the messages ("input.messages", "messages"), as its errors name them.
 */
export function decodeMessages(raw: unknown, field: string, allowMedia = false): ChatMessage[] {
  if (!Array.isArray(raw)) wrongType(field, "an array", raw);
  if (raw.length === 0) throw invalidParameter(EMPTY_MESSAGE);
  const messages = raw.map((message, i) => decodeMessage(message, `${field}[${i}]`, allowMedia));
  messages.forEach((message, i) => {
    if (message.role === "tool" && !messages.slice(0, i).some((m) => m.toolCalls)) {
      throw invalidParameter('messages with role "tool" must be a response to a preceeding message with "tool_calls"');
    }
    const empty = textOf(message) === "" && !message.content.some((part) => part.type !== "text");
    if (message.role === "user" && empty) throw invalidParameter(EMPTY_MESSAGE);
    if (message.role === "assistant" && empty && !message.toolCalls && !message.reasoningContent) {
      throw invalidParameter(EMPTY_MESSAGE);
    }
    if (message.partial && (message.role !== "assistant" || i !== messages.length - 1)) {
      throw invalidParameter(`${field}[${i}]: "partial" is only allowed on the last message, which must be an assistant message.`);
    }
  });
  const last = messages[messages.length - 1]!;
  if (last.role === "system") throw invalidParameter(EMPTY_MESSAGE);
  if (last.role === "assistant" && !last.partial) {
    throw invalidParameter('The last message must be a user or tool message (or an assistant message with "partial": true for prefix continuation).');
  }
  return messages;
}
