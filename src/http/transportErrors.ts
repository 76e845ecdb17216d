/**
 * Errors below the routes — Fastify's own (bad URL encoding, over-long path parameters, body
 * parsing), Node's HTTP parser (malformed request lines, headers, chunked framing) and clients
 * that go away mid-request — mapped into the error catalogue, so that no client ever sees a
 * framework's error body and no client mistake is logged as a server failure.
 */
import { randomUUID } from "node:crypto";
import { maxHeaderSize, STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import type { Socket } from "node:net";
import type { FastifyBaseLogger, FastifyError } from "fastify";
import { type ApiError, clipText, errors, invalidParameter, toApiError } from "../core/index.ts";
import { nativeErrorBody } from "../protocols/dashscope/index.ts";
import { openAiErrorBody, openAiStatus } from "../protocols/openai/index.ts";
import { BAD_BODY } from "./jsonBody.ts";
import { isOpenAiPath } from "./requestValues.ts";

/** The longest path parameter (file id, key id or prefix) routed; longer ones are a 414. */
export const MAX_PARAM_LENGTH = 1024;

/** Whether an error only says that the client went away (reset connection, aborted body, premature close). */
export function isClientGone(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const code = (error as { code?: unknown }).code;
  if (code === "ECONNRESET" || code === "EPIPE" || code === "ECONNABORTED" || code === "ERR_STREAM_PREMATURE_CLOSE") return true;
  if (code === "FST_MP_PREMATURE_CLOSE") return true;
  return error instanceof Error && error.message === "aborted";
}

/** A failure Fastify raised (or passed on from Node) for a request, as the catalogue error the client gets. */
export function fromFastifyError(error: FastifyError, bodyLimitBytes: number, contentType: string | undefined): ApiError {
  if (isClientGone(error)) return errors.clientClosed();
  switch (error.code) {
    case "FST_ERR_CTP_BODY_TOO_LARGE":
      return errors.payloadTooLarge(bodyLimitBytes);
    case "FST_ERR_CTP_INVALID_MEDIA_TYPE":
      return errors.unsupportedMediaType(clipText(contentType ?? ""));
    case "FST_ERR_CTP_EMPTY_JSON_BODY":
    case "FST_ERR_CTP_INVALID_CONTENT_LENGTH":
      return invalidParameter(BAD_BODY);
    case "FST_ERR_BAD_URL":
      return errors.malformedRequest("the URL has an invalid percent-encoding");
    case "FST_ERR_MAX_PARAM_LENGTH":
      return errors.uriTooLong(`a path segment is longer than the ${MAX_PARAM_LENGTH} characters this server routes`);
  }
  if (error instanceof SyntaxError) return invalidParameter(BAD_BODY);
  // Fastify marks the client's mistakes with a 4xx status.
  const status = error.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    if (status === 413) return errors.payloadTooLarge(bodyLimitBytes);
    if (status === 415) return errors.unsupportedMediaType(clipText(contentType ?? ""));
    if (status === 408) return errors.requestTimeout();
    return invalidParameter(`Invalid request: ${clipText(error.message)}.`);
  }
  return toApiError(error);
}

/** What each Node HTTP parser error says about the request. */
const PARSER_ERRORS: Record<string, string> = {
  HPE_INVALID_METHOD: "the method is not a valid HTTP method",
  HPE_INVALID_URL: "the request target is not a valid URL",
  HPE_INVALID_VERSION: "the HTTP version is not valid",
  HPE_INVALID_CONSTANT: "the request line is not valid HTTP/1.1",
  HPE_INVALID_HEADER_TOKEN: "a header name or value has characters HTTP does not allow",
  HPE_CR_EXPECTED: "lines must end with CRLF",
  HPE_LF_EXPECTED: "lines must end with CRLF",
  HPE_INVALID_CHUNK_SIZE: "the chunked body's framing is not valid",
  HPE_CHUNK_EXTENSIONS_OVERFLOW: "the chunked body's chunk extensions are too long",
  HPE_INVALID_CONTENT_LENGTH: "Content-Length is not valid",
  HPE_UNEXPECTED_CONTENT_LENGTH: "Content-Length cannot be sent with Transfer-Encoding: chunked",
  HPE_INVALID_TRANSFER_ENCODING: "Transfer-Encoding is not valid",
  HPE_INVALID_STATUS: "the request line is not valid HTTP/1.1",
  HPE_INVALID_EOF_STATE: "the connection ended in the middle of a request",
  HPE_CLOSED_CONNECTION: "a request came after Connection: close",
};

/** Whether the failing packet is a request line too long by itself (a URI too long) rather than too many headers. */
function requestLineTooLong(rawPacket: unknown): boolean {
  if (!Buffer.isBuffer(rawPacket) || !/^[A-Z]+ /.test(rawPacket.subarray(0, 16).toString("latin1"))) return false;
  const end = rawPacket.indexOf("\n");
  return (end < 0 ? rawPacket.length : end) > maxHeaderSize / 2;
}

/** The catalogue error for a request Node's HTTP parser refused (or timed out). */
export function fromClientError(error: Error & { code?: string; rawPacket?: unknown }): ApiError {
  const code = error.code ?? "";
  if (code === "HPE_HEADER_OVERFLOW") {
    return requestLineTooLong(error.rawPacket)
      ? errors.uriTooLong(`the request line is longer than the ${maxHeaderSize} bytes this server reads`)
      : errors.headersTooLarge(maxHeaderSize);
  }
  if (code === "HPE_URI_TOO_LONG") return errors.uriTooLong(`the request line is longer than the ${maxHeaderSize} bytes this server reads`);
  if (code === "ERR_HTTP_REQUEST_TIMEOUT" || code === "ERR_HTTP_HEADERS_TIMEOUT") return errors.requestTimeout();
  const what = PARSER_ERRORS[code] ?? "the request is not valid HTTP/1.1";
  return errors.malformedRequest(code ? `${what} (${code})` : what);
}

/** The request target in the first line of a packet, when the packet starts a request. */
function requestTargetOf(rawPacket: unknown): string | undefined {
  if (!Buffer.isBuffer(rawPacket)) return undefined;
  return /^[A-Z]+ (\S+)/.exec(rawPacket.subarray(0, 2048).toString("latin1"))?.[1];
}

/** The error's body and status in the dialect of the request target: OpenAI's shape on /compatible-mode paths, native elsewhere. */
function errorBody(error: ApiError, requestId: string, target: string | undefined): { status: number; body: string } {
  if (target !== undefined && isOpenAiPath(target)) return { status: openAiStatus(error), body: JSON.stringify(openAiErrorBody(error, requestId)) };
  return { status: error.status, body: JSON.stringify(nativeErrorBody(error, requestId)) };
}

/**
 * A whole HTTP/1.1 response carrying a catalogue error, for writing straight to a socket: the
 * native shape, or OpenAI's when the request target (where known) is on the compatible API.
 */
export function rawErrorResponse(error: ApiError, requestId: string, target?: string): string {
  const { status, body } = errorBody(error, requestId, target);
  return (
    `HTTP/1.1 ${status} ${STATUS_CODES[status] ?? "Error"}\r\n` +
    "Content-Type: application/json\r\n" +
    `Content-Length: ${Buffer.byteLength(body)}\r\n` +
    `X-Request-ID: ${requestId}\r\n` +
    "Connection: close\r\n\r\n" +
    body
  );
}

/** How long a refused connection is read (and its bytes dropped) before it is closed. */
const LINGER_MS = 1000;

/**
 * Writes the answer and closes the connection gently: a FIN after the answer, then what the
 * client still sends is read and dropped for a moment. Closing at once with unread bytes would
 * reset the connection, and a reset can destroy the answer before the client reads it.
 */
function answerAndClose(socket: Socket, response: string): void {
  socket.end(response);
  const timer = setTimeout(() => socket.destroy(), LINGER_MS);
  timer.unref();
  socket.once("close", () => clearTimeout(timer));
  socket.on("error", () => socket.destroy());
}

const answered = new WeakSet<Socket>();

/**
 * The HTTP server's `clientError`: Node's parser refused what came on a connection (or it timed
 * out). Answers with a raw HTTP/1.1 response whose body is the native catalogue JSON (400; 431
 * for headers too large, 414 for a request line too long, 408 for a timeout), with a request id
 * and `Connection: close`. A connection the client reset gets nothing. Logged at debug: these
 * are the client's mistakes (or its network's), not the server's.
 */
export function answerClientError(error: Error & { code?: string; rawPacket?: unknown }, socket: Socket, log: FastifyBaseLogger): void {
  // After a parse error Node reports each further packet on the connection again: answer once.
  if (answered.has(socket)) return;
  answered.add(socket);
  if (isClientGone(error) || socket.destroyed || !socket.writable) {
    log.debug({ code: error.code }, "client connection closed");
    socket.destroy();
    return;
  }
  const apiError = fromClientError(error);
  const requestId = randomUUID();
  log.debug({ requestId, code: error.code, message: error.message }, "malformed HTTP request refused");
  const inFlight = (socket as Socket & { _httpMessage?: ServerResponse & { req?: IncomingMessage } })._httpMessage;
  const response = rawErrorResponse(apiError, requestId, inFlight?.req && !inFlight.req.complete ? inFlight.req.url : requestTargetOf(error.rawPacket));
  if (inFlight === undefined || inFlight === null) {
    answerAndClose(socket, response);
    return;
  }
  if (inFlight.headersSent) {
    // Part of another answer is on the wire: nothing can be added to it.
    socket.destroy();
    return;
  }
  if (inFlight.req?.complete) {
    // A pipelined request after a complete one is malformed: the complete one is answered first.
    inFlight.once("finish", () => answerAndClose(socket, response));
    inFlight.once("close", () => {
      if (!inFlight.writableFinished) socket.destroy();
    });
    return;
  }
  // The request in flight is the malformed one (its body's framing): refuse it now.
  answerAndClose(socket, response);
}

/** A CONNECT request (Node's HTTP server would drop the connection without a word): 405. */
export function answerConnect(request: IncomingMessage, socket: Socket, log: FastifyBaseLogger): void {
  const requestId = randomUUID();
  log.debug({ requestId }, "CONNECT refused");
  answerAndClose(socket, rawErrorResponse(errors.methodNotAllowed("CONNECT", clipText(request.url ?? ""), ["GET", "POST", "DELETE"]), requestId, request.url));
}

/** An `Expect` header other than `100-continue`: Node would answer 417 with no body; this is the catalogue's 417. */
export function answerExpectation(request: IncomingMessage, response: ServerResponse): void {
  const requestId = randomUUID();
  const { status, body } = errorBody(errors.expectationFailed(), requestId, request.url);
  response.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(body), "X-Request-ID": requestId, Connection: "close" });
  response.end(body);
}
