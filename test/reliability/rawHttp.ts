/**
 * A bare HTTP/1.1 client over net.Socket for the fuzzer: it sends exactly the bytes it is given
 * (malformed ones included), and parses what comes back — several responses for pipelined
 * requests, chunked or Content-Length bodies, a body read to the close otherwise.
 */
import { connect } from "node:net";

export interface RawResponse {
  status: number;
  statusText: string;
  /** Header names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  body: Buffer;
}

export interface RawExchange {
  responses: RawResponse[];
  /** Bytes that came after the last complete response and did not parse as one. */
  leftover: Buffer;
  /** The connection failed or was reset (after whatever responses came). */
  error?: string | undefined;
  /** No complete answer before the deadline. */
  timedOut: boolean;
  ms: number;
}

export interface ExchangeOptions {
  port: number;
  host?: string;
  /** What to send: one buffer, or several written one after another (split packets). */
  data: Buffer | Buffer[];
  /** Responses expected (pipelined requests); the exchange ends once they are complete. */
  expect?: number;
  /** For each expected response, whether its request was HEAD (no body follows). */
  heads?: boolean[];
  /** Half-close the connection after this many ms without data (for requests sent incomplete on purpose). */
  halfCloseAfterMs?: number;
  /** Reset the connection this many ms after the last write (a client that goes away mid-request). */
  resetAfterMs?: number;
  timeoutMs: number;
}

interface Parsed {
  response: RawResponse;
  length: number;
}

/** One response at the start of `buffer`, or undefined when it has not all arrived (`closed`: no more will). */
function parseResponse(buffer: Buffer, head: boolean, closed: boolean): Parsed | undefined | "malformed" {
  const end = buffer.indexOf("\r\n\r\n");
  if (end < 0) return closed && buffer.length > 0 ? "malformed" : undefined;
  const lines = buffer.subarray(0, end).toString("latin1").split("\r\n");
  const match = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]!);
  if (!match) return "malformed";
  const headers: Record<string, string> = {};
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) return "malformed";
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = headers[name] === undefined ? value : `${headers[name]}, ${value}`;
  }
  const status = Number(match[1]);
  const response: RawResponse = { status, statusText: match[2] ?? "", headers, body: Buffer.alloc(0) };
  let offset = end + 4;
  if (head || status < 200 || status === 204 || status === 304) return { response, length: offset };
  if (/\bchunked\b/i.test(headers["transfer-encoding"] ?? "")) {
    const chunks: Buffer[] = [];
    for (;;) {
      const lineEnd = buffer.indexOf("\r\n", offset);
      if (lineEnd < 0) return closed ? "malformed" : undefined;
      const size = Number.parseInt(buffer.subarray(offset, lineEnd).toString("latin1").split(";")[0]!, 16);
      if (!Number.isFinite(size)) return "malformed";
      offset = lineEnd + 2;
      if (size === 0) {
        // Trailers end at an empty line.
        const trailerEnd = buffer.indexOf("\r\n", offset);
        if (trailerEnd < 0) return closed ? "malformed" : undefined;
        if (trailerEnd !== offset) {
          const allEnd = buffer.indexOf("\r\n\r\n", offset);
          if (allEnd < 0) return closed ? "malformed" : undefined;
          offset = allEnd + 4;
        } else offset += 2;
        response.body = Buffer.concat(chunks);
        return { response, length: offset };
      }
      if (buffer.length < offset + size + 2) return closed ? "malformed" : undefined;
      chunks.push(buffer.subarray(offset, offset + size));
      offset += size + 2;
    }
  }
  const lengthHeader = headers["content-length"];
  if (lengthHeader !== undefined) {
    const length = Number(lengthHeader);
    if (!Number.isSafeInteger(length) || length < 0) return "malformed";
    if (buffer.length < offset + length) return closed ? "malformed" : undefined;
    response.body = buffer.subarray(offset, offset + length);
    return { response, length: offset + length };
  }
  // No framing: the body runs to the close.
  if (!closed) return undefined;
  response.body = buffer.subarray(offset);
  return { response, length: buffer.length };
}

/** Sends the bytes and collects the responses (see ExchangeOptions). Never throws. */
export function exchange(options: ExchangeOptions): Promise<RawExchange> {
  const started = Date.now();
  const expect = options.expect ?? 1;
  return new Promise((resolve) => {
    const socket = connect({ port: options.port, host: options.host ?? "127.0.0.1" });
    socket.setNoDelay(true);
    const responses: RawResponse[] = [];
    let buffer: Buffer = Buffer.alloc(0);
    let settled = false;
    let error: string | undefined;
    let idleTimer: NodeJS.Timeout | undefined;

    const parseAvailable = (closed: boolean): boolean => {
      for (;;) {
        if (responses.length >= expect && !closed) return true;
        if (buffer.length === 0) return responses.length >= expect;
        const parsed = parseResponse(buffer, options.heads?.[responses.length] ?? false, closed);
        if (parsed === undefined) return false;
        if (parsed === "malformed") return true;
        buffer = buffer.subarray(parsed.length);
        // 1xx interim answers (100 Continue) come before the real one.
        if (parsed.response.status >= 100 && parsed.response.status < 200) continue;
        responses.push(parsed.response);
      }
    };
    const finish = (timedOut: boolean) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      clearTimeout(idleTimer);
      parseAvailable(true);
      socket.destroy();
      resolve({ responses, leftover: buffer, error, timedOut, ms: Date.now() - started });
    };
    const armIdle = () => {
      if (options.halfCloseAfterMs === undefined) return;
      clearTimeout(idleTimer);
      idleTimer = setTimeout(() => {
        if (!socket.destroyed && socket.writable) socket.end();
      }, options.halfCloseAfterMs);
    };
    const deadline = setTimeout(() => finish(true), options.timeoutMs);

    socket.on("connect", () => {
      const parts = Array.isArray(options.data) ? options.data : [options.data];
      let i = 0;
      const writeNext = () => {
        if (socket.destroyed) return;
        if (i < parts.length) {
          socket.write(parts[i++]!, () => setImmediate(writeNext));
        } else if (options.resetAfterMs !== undefined) {
          setTimeout(() => {
            if (!socket.destroyed) socket.resetAndDestroy();
            finish(false);
          }, options.resetAfterMs);
        } else armIdle();
      };
      writeNext();
    });
    socket.on("data", (chunk: Buffer) => {
      buffer = buffer.length === 0 ? chunk : Buffer.concat([buffer, chunk]);
      armIdle();
      if (parseAvailable(false) && responses.length >= expect) finish(false);
    });
    socket.on("error", (e: NodeJS.ErrnoException) => {
      error = e.code ?? e.message;
    });
    socket.on("close", () => finish(false));
  });
}
