import { createParser } from "eventsource-parser";

/** One server-sent event: its `event:` type ("message" when absent), `data:` lines joined, and the `:HTTP_STATUS/…` comment DashScope adds. */
export interface SseEvent {
  event: string;
  data: string;
  status?: number;
}

const STATUS_COMMENT = /^HTTP_STATUS\/(\d{3})$/;

/**
 * The events of a server-sent-event stream as they arrive, whatever the chunking of the bytes
 * and whichever line ending (CR, LF or CRLF) the engine writes: OpenAI's `data: {json}` events
 * ending in `data: [DONE]`, or DashScope's `id:` / `event:` / `:HTTP_STATUS/200` / `data:` frames.
 * An event the stream ends in without its blank line is still delivered.
 */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const ready: SseEvent[] = [];
  let status: number | undefined;
  const parser = createParser({
    onEvent: (message) => {
      const event: SseEvent = { event: message.event ?? "message", data: message.data };
      if (status !== undefined) event.status = status;
      status = undefined;
      ready.push(event);
    },
    onComment: (comment) => {
      const match = STATUS_COMMENT.exec(comment);
      if (match) status = Number(match[1]);
    },
    // id:, retry: and unknown fields carry nothing the backends use.
  });
  const decoder = new TextDecoder();
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      // Two line ends at the close complete a last line and dispatch a last event that lacked them.
      parser.feed(done ? `${decoder.decode()}\n\n` : decoder.decode(value, { stream: true }));
      yield* ready.splice(0);
      if (done) return;
    }
  } finally {
    reader.releaseLock();
  }
}
