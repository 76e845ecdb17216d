/**
 * SSE framing exactly as the real server writes it (protocol.md §6.2): no space after the colon,
 * `:HTTP_STATUS/<code>` comment, one-line JSON data, blank line. One string per event so the
 * caller can write each event with a single write.
 */
export function resultFrame(id: number, data: unknown): string {
  return `id:${id}\nevent:result\n:HTTP_STATUS/200\ndata:${JSON.stringify(data)}\n\n`;
}

export function errorFrame(id: number, status: number, body: unknown): string {
  return `id:${id}\nevent:error\n:HTTP_STATUS/${status}\ndata:${JSON.stringify(body)}\n\n`;
}

export const SSE_CONTENT_TYPE = "text/event-stream;charset=UTF-8";

export interface ParsedSseEvent {
  id?: string;
  event?: string;
  status?: string;
  data: string;
}

/**
 * Parses an SSE body as the DashScope SDKs do; for tests and upstream readers. An event ends at
 * a blank line or, like the Node SDK's reader, where the next `id:` line begins (several
 * captured bodies have lost their blank lines).
 */
export function parseSseBody(body: string): ParsedSseEvent[] {
  const events: ParsedSseEvent[] = [];
  let event: ParsedSseEvent | undefined;
  const flush = () => {
    if (event) events.push(event);
    event = undefined;
  };
  for (const line of body.replace(/^\uFEFF/, "").split(/\r?\n/)) {
    if (line === "") {
      flush();
      continue;
    }
    if (line.startsWith("id:") && event) flush();
    event ??= { data: "" };
    if (line.startsWith("id:")) event.id = line.slice(3);
    else if (line.startsWith("event:")) event.event = line.slice(6);
    else if (line.startsWith(":HTTP_STATUS/")) event.status = line.slice(13);
    else if (line.startsWith("data:")) event.data += line.slice(5);
  }
  flush();
  return events;
}
