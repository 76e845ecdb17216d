import { invalidParameter, type ApiError } from "../core/index.ts";

/**
 * The deepest nesting of arrays and objects a JSON request body may have. Real requests nest a
 * few dozen levels at most (JSON Schemas in `tools` and `response_format` included); far deeper
 * bodies only serve to exhaust the stack of whatever walks them (validation, templates, grammar
 * compilation, error messages), so they are refused before parsing with a 400.
 */
export const MAX_JSON_DEPTH = 256;

/** The real server's message for a body that is not JSON (error-code reference). */
export const BAD_BODY = "Required body invalid, please check the request body format.";

const QUOTE = 0x22;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
/** The next quote or backslash inside a string (one regex jump instead of a loop turn per character). */
const STRING_STOP = /["\\]/g;

/**
 * Whether JSON text nests arrays/objects deeper than `max` levels: one linear scan that skips
 * string contents (brackets inside strings do not count). It does not validate: malformed text
 * is left to the parser.
 */
export function jsonNestsDeeperThan(text: string, max: number): boolean {
  let depth = 0;
  const length = text.length;
  for (let i = 0; i < length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      // Jump to the closing quote, stepping over escapes.
      for (;;) {
        STRING_STOP.lastIndex = i + 1;
        const stop = STRING_STOP.exec(text);
        if (stop === null) return false; // unterminated string: not JSON, the parser refuses it
        i = stop.index;
        if (text.charCodeAt(i) === QUOTE) break;
        i++; // the escaped character
      }
    } else if (c === OPEN_BRACKET || c === OPEN_BRACE) {
      if (++depth > max) return true;
    } else if (c === CLOSE_BRACKET || c === CLOSE_BRACE) {
      depth--;
    }
  }
  return false;
}

/**
 * A JSON request body parsed, or the 400 it earns: empty, not JSON, or nested deeper than
 * MAX_JSON_DEPTH. A leading UTF-8 BOM is tolerated (many DashScope fixtures carry one).
 */
export function parseJsonBody(body: string, maxDepth = MAX_JSON_DEPTH): { value: unknown } | { error: ApiError } {
  const text = body.charCodeAt(0) === 0xfeff ? body.slice(1) : body;
  if (text.trim() === "") return { error: invalidParameter(BAD_BODY) };
  if (jsonNestsDeeperThan(text, maxDepth)) {
    return { error: invalidParameter(`The request body nests arrays and objects deeper than ${maxDepth} levels, the most this server accepts.`) };
  }
  try {
    return { value: JSON.parse(text) };
  } catch {
    return { error: invalidParameter(BAD_BODY) };
  }
}
