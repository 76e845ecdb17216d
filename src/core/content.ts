import type { ChatMessage, ContentPart, MediaPart } from "./types.ts";

export const isMediaPart = (part: ContentPart): part is MediaPart => part.type !== "text";

/** A message's text: its text parts joined (media parts have none). */
export function textOf(message: Pick<ChatMessage, "content">): string {
  return message.content.map((part) => (part.type === "text" ? part.text : "")).join("");
}

/** Every media part of a conversation, in order. */
export function mediaParts(messages: readonly ChatMessage[]): MediaPart[] {
  return messages.flatMap((message) => message.content.filter(isMediaPart));
}

/** Bytes as a `data:` URI (how prepared media travel to upstream engines). */
export function dataUri(mimeType: string, data: Uint8Array): string {
  return `data:${mimeType};base64,${Buffer.from(data).toString("base64")}`;
}
