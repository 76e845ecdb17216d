/** One server-sent event: its `event:` type ("message" when absent), `data:` lines joined, and the `:HTTP_STATUS/…` comment DashScope adds. */
export interface SseEvent {
  event: string;
  data: string;
  status?: number;
}

/**
 * The events of a server-sent-event stream as they arrive, whatever the chunking of the bytes:
 * OpenAI's `data: {json}` events ending in `data: [DONE]`, or DashScope's `id:` / `event:` /
 * `:HTTP_STATUS/200` / `data:` frames.
 */
export async function* sseEvents(body: ReadableStream<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = "";
  let current: { event: string; data: string[]; status?: number } = { event: "message", data: [] };
  const flush = function* () {
    if (current.data.length > 0) {
      const event: SseEvent = { event: current.event, data: current.data.join("\n") };
      if (current.status !== undefined) event.status = current.status;
      yield event;
    }
    current = { event: "message", data: [] };
  };
  const field = (line: string, name: string) => line.slice(name.length + 1).replace(/^ /, "");
  const reader = body.getReader();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      if (done && buffer !== "" && !buffer.endsWith("\n")) buffer += "\n";
      let newline: number;
      while ((newline = buffer.search(/\r?\n/)) !== -1) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + (buffer[newline] === "\r" ? 2 : 1));
        if (line === "") yield* flush();
        else if (line.startsWith("data:")) current.data.push(field(line, "data"));
        else if (line.startsWith("event:")) current.event = field(line, "event");
        else if (line.startsWith(":HTTP_STATUS/")) current.status = Number(line.slice(":HTTP_STATUS/".length));
        // id:, retry: and other comments carry nothing the backends use.
      }
      if (done) {
        yield* flush();
        return;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** Just the `data:` payloads (OpenAI's format). */
export async function* sseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  for await (const event of sseEvents(body)) yield event.data;
}
