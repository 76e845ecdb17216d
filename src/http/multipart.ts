import { ApiError, clipText, errors, invalidParameter } from "../core/index.ts";
import { isClientGone } from "./transportErrors.ts";

/**
 * What a failure while reading a multipart body (`request.parts()`) is: the catalogue error as
 * it is; a client that went away, ClientClosedRequest; what the multipart parser refused (no
 * boundary, the body ends before its closing boundary, malformed part headers, too many parts
 * or fields), a 400 naming it. Programming errors stay what they are (a 500 in the log).
 */
export function multipartFailure(error: unknown): unknown {
  if (error instanceof ApiError) return error;
  if (isClientGone(error)) return errors.clientClosed();
  if (error instanceof TypeError || error instanceof RangeError || error instanceof ReferenceError) return error;
  if (error instanceof Error) return invalidParameter(`Invalid multipart body: ${clipText(error.message.replace(/^Multipart: /, ""))}.`);
  return error;
}

/**
 * A form field's text. Fields sent with `Content-Type: application/json` come parsed from the
 * multipart plugin; no field here is JSON, so such a field is refused rather than re-serialized.
 */
export function fieldText(fieldname: string, value: unknown): string {
  if (typeof value === "string") return value;
  throw invalidParameter(`Form field ${JSON.stringify(clipText(fieldname, 64))} must be plain text, not ${value === null ? "null" : typeof value}.`);
}
