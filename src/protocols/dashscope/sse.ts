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
