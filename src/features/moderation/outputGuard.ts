import { textOf, type ChatMessage, type EngineEvent } from "../../core/index.ts";
import { inspectionFailed } from "./inspection.ts";
import type { Moderator } from "./moderator.ts";

/** The conversation's text, as moderators read it (role-tagged lines). */
export function conversationText(messages: readonly ChatMessage[]): string {
  return messages.map((m) => `${m.role}: ${textOf(m)}`).join("\n");
}

/** Refuses the request (400 DataInspectionFailed, the real message) when the input is flagged. */
export async function inspectInput(moderator: Moderator, messages: readonly ChatMessage[]): Promise<void> {
  const verdict = await moderator.check("input", conversationText(messages));
  if (verdict.flagged) throw inspectionFailed.input();
}

/**
 * Passes a generation's events through while the answer stays clean. A streaming moderator sees
 * each choice's text so far before its delta goes out, so a flagged delta is never sent; others
 * judge each finished choice before its finish event. A flagged answer ends the generation with
 * DataInspectionFailed (a stream's last frame, or the sync answer's error).
 */
export async function* inspectOutput(events: AsyncIterable<EngineEvent>, moderator: Moderator, messages: readonly ChatMessage[]): AsyncGenerator<EngineEvent> {
  const context = conversationText(messages);
  const answers = new Map<number, string>();
  for await (const event of events) {
    const added =
      event.type === "delta" ? (event.reasoning ?? "") + (event.content ?? "") + (event.toolCalls ?? []).map((call) => call.arguments).join("") : "";
    if (added !== "") {
      const text = (answers.get(event.index) ?? "") + added;
      answers.set(event.index, text);
      if (moderator.streaming && (await moderator.check("output", text, context)).flagged) throw inspectionFailed.output();
    }
    if (event.type === "finish" && !moderator.streaming) {
      if ((await moderator.check("output", answers.get(event.index) ?? "", context)).flagged) throw inspectionFailed.output();
    }
    yield event;
  }
}
