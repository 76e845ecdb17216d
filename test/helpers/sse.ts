/** Test helper: a whole SSE body as events, read with the same library as the upstream reader (eventsource-parser). */
import { createParser } from "eventsource-parser";

export interface ParsedSseEvent {
  id?: string;
  event?: string;
  /** From DashScope's `:HTTP_STATUS/<code>` comment. */
  status?: string;
  data: string;
}

const STATUS_COMMENT = "HTTP_STATUS/";

/**
 * The blank line an event ends with, put back before each `id:` line that lacks one: several
 * captured bodies have lost theirs, and the DashScope Node SDK's reader, like this helper, starts
 * a new event at an `id:` line.
 */
function restoreBlankLines(body: string): string {
  return body.replace(/([^\r\n])(\r\n|\r|\n)(?=id:)/g, "$1$2$2");
}

/** Parses an SSE body as the DashScope SDKs do: BOM dropped, any line ending, a last event without its blank line kept. */
export function parseSseBody(body: string): ParsedSseEvent[] {
  const events: ParsedSseEvent[] = [];
  let status: string | undefined;
  const parser = createParser({
    onEvent: (message) => {
      const event: ParsedSseEvent = { data: message.data };
      if (message.id !== undefined) event.id = message.id;
      if (message.event !== undefined) event.event = message.event;
      if (status !== undefined) event.status = status;
      status = undefined;
      events.push(event);
    },
    onComment: (comment) => {
      if (comment.startsWith(STATUS_COMMENT)) status = comment.slice(STATUS_COMMENT.length);
    },
  });
  parser.feed(`${restoreBlankLines(body.replace(/^\uFEFF/, ""))}\n\n`);
  return events;
}
