/**
 * Streaming parser for tool calls in the answer text of Qwen models. Both formats are wrapped in
 * `<tool_call>` … `</tool_call>`:
 * - Hermes JSON (Qwen2.5, Qwen3): `{"name": "get_weather", "arguments": {"location": "杭州"}}`,
 *   streamed incrementally as the arguments arrive;
 * - XML (Qwen3-Coder, Qwen3.5): `<function=get_weather><parameter=location>杭州</parameter></function>`,
 *   emitted whole at `</function>`.
 * Pure and chunking-independent: however the text is cut into pushes, the concatenated output is the same.
 */
import { randomBytes } from "node:crypto";
import type { ToolCallDelta } from "../../core/index.ts";
import { heldBackStart } from "../text/index.ts";

export const TOOL_CALL_OPEN = "<tool_call>";
export const TOOL_CALL_CLOSE = "</tool_call>";
const FUNCTION_OPEN = "<function=";
const FUNCTION_CLOSE = "</function>";

/** JSON-schema "type" of each parameter of each tool, when known. */
export interface ToolParameterTypes {
  [toolName: string]: { [parameter: string]: string | undefined };
}

export interface ToolCallParserOptions {
  newId?: () => string;
  parameterTypes?: ToolParameterTypes;
}

export interface ParsedPiece {
  content: string;
  toolCalls: ToolCallDelta[];
}

/** "call_" and 22 lowercase hex characters. */
export function newToolCallId(): string {
  return `call_${randomBytes(11).toString("hex")}`;
}

/** What the text after `<tool_call>` has turned out to be so far. */
type CallPhase =
  | "detect" // only whitespace yet, or what may become `<function=`
  | "hermesHead" // waiting for `{"name": "…", "arguments":`
  | "hermesValue" // streaming the arguments value
  | "hermesFallback" // JSON in another shape: buffered until the closing tag, then parsed whole
  | "xml" // waiting for `</function>`
  | "unknown" // neither format: buffered until the closing tag, then given back as content
  | "tail"; // the call is emitted: skipping to the closing tag

interface OpenCall {
  /** Text after the opening tag, kept until the first delta in case the block is given back as content. */
  block: string;
  /** Whitespace dropped before the opening tag, restored if the block is given back as content. */
  skippedWhitespace: string;
  phase: CallPhase;
  /** Set once the call's first delta is emitted. */
  index?: number;
  /**
   * Received text the current phase has not consumed yet. Phases read only this (short) text, never
   * `block`: indexing a string that grows on every push would copy it each time.
   */
  unread: string;
  /** Consumed text the phase needs once complete: the JSON block, the string or literal value, the XML function. */
  kept: string;
  /** Follows JSON strings and nesting through the consumed text. */
  scanner: JsonScanner;
  /** Hermes: what the arguments value is, once its first character arrived. */
  valueKind?: "container" | "string" | "literal";
}

export class ToolCallParser {
  private readonly newId: () => string;
  private readonly parameterTypes: ToolParameterTypes;
  /** Content not yet emitted: trailing whitespace, or what may be the start of `<tool_call>`. */
  private pending = "";
  private call: OpenCall | undefined;
  /** Calls whose first delta was emitted; the next call's index. */
  private startedCalls = 0;
  private closedCalls = 0;

  constructor(options: ToolCallParserOptions = {}) {
    this.newId = options.newId ?? newToolCallId;
    this.parameterTypes = options.parameterTypes ?? {};
  }

  /** Calls whose closing tag was seen. */
  get completedCalls(): number {
    return this.closedCalls;
  }

  /** Between an opening tag and its close. */
  get insideCall(): boolean {
    return this.call !== undefined;
  }

  push(text: string): ParsedPiece {
    const out: ParsedPiece = { content: "", toolCalls: [] };
    if (this.call) {
      if (this.call.index === undefined) this.call.block += text;
      this.call.unread += text;
    } else {
      this.pending += text;
    }
    // Each step moves to another phase or mode; stop when one has to wait for more text.
    let moved = true;
    while (moved) moved = this.call ? this.stepCall(this.call, out) : this.stepContent(out);
    return out;
  }

  /** End of generation: flushes held content; a call cut short before its first delta is given back as content. */
  finish(): ParsedPiece {
    const out: ParsedPiece = { content: "", toolCalls: [] };
    if (this.call) {
      // A call already started stays as streamed: the output was cut.
      if (this.call.index === undefined) out.content = this.call.skippedWhitespace + TOOL_CALL_OPEN + this.call.block;
      this.call = undefined;
    } else if (this.pending.trim() !== "" || this.startedCalls === 0) {
      // Whatever is held is content, except trailing whitespace after the last call.
      out.content = this.pending;
    }
    this.pending = "";
    return out;
  }

  /** Emits content up to the next opening tag; returns true when a call opened. */
  private stepContent(out: ParsedPiece): boolean {
    const open = this.pending.indexOf(TOOL_CALL_OPEN);
    if (open < 0) {
      const keep = heldBackStart(this.pending, TOOL_CALL_OPEN);
      out.content += this.pending.slice(0, keep);
      this.pending = this.pending.slice(keep);
      return false;
    }
    const before = this.pending.slice(0, open);
    const kept = before.trimEnd();
    out.content += kept;
    const block = this.pending.slice(open + TOOL_CALL_OPEN.length);
    this.call = {
      block,
      skippedWhitespace: before.slice(kept.length),
      phase: "detect",
      unread: block,
      kept: "",
      scanner: new JsonScanner(),
    };
    this.pending = "";
    return true;
  }

  /** Advances the open call; returns true when its phase changed or it closed. */
  private stepCall(call: OpenCall, out: ParsedPiece): boolean {
    switch (call.phase) {
      case "detect": {
        call.unread = call.unread.trimStart();
        if (call.unread.startsWith(FUNCTION_OPEN)) call.phase = "xml";
        else if (FUNCTION_OPEN.startsWith(call.unread)) return false;
        else call.phase = call.unread.startsWith("{") ? "hermesHead" : "unknown";
        return true;
      }

      case "hermesHead": {
        const head = matchHermesHead(call.unread);
        if (head === "partial") return false;
        if (head === "mismatch") {
          call.phase = "hermesFallback";
        } else {
          this.startCall(call, out, head.name, "");
          call.phase = "hermesValue";
          call.unread = call.unread.slice(head.end);
        }
        return true;
      }

      case "hermesValue":
        return this.stepHermesValue(call, out);

      case "hermesFallback": {
        const { consumed, stop } = scanJson(call, false);
        call.kept += consumed;
        if (stop !== "close") return false;
        const parsed = parseJson(call.kept);
        if (isRecord(parsed) && typeof parsed.name === "string") {
          const args = parsed.arguments;
          this.startCall(call, out, parsed.name, typeof args === "string" ? args : JSON.stringify(args ?? {}));
          this.closeCall(call, 0);
        } else {
          this.giveBackAsContent(call, out, 0);
        }
        return true;
      }

      case "xml": {
        const end = findTag(call, FUNCTION_CLOSE, true);
        if (end < 0) return false;
        const { name, args } = parseXmlFunction(call.kept + call.unread.slice(0, end), this.parameterTypes);
        this.startCall(call, out, name, JSON.stringify(args));
        call.phase = "tail";
        call.kept = "";
        call.unread = call.unread.slice(end + FUNCTION_CLOSE.length);
        return true;
      }

      case "unknown":
      case "tail": {
        const close = findTag(call, TOOL_CALL_CLOSE, false);
        if (close < 0) return false;
        if (call.phase === "unknown") this.giveBackAsContent(call, out, close);
        else this.closeCall(call, close);
        return true;
      }
    }
  }

  /**
   * Streams the hermes arguments value: an object or array as its raw text while it arrives,
   * a string decoded once complete (some models put the JSON in a string), anything else raw once complete.
   */
  private stepHermesValue(call: OpenCall, out: ParsedPiece): boolean {
    if (call.valueKind === undefined) {
      call.unread = call.unread.trimStart();
      if (call.unread === "") return false;
      const first = call.unread[0];
      call.valueKind = first === "{" || first === "[" ? "container" : first === '"' ? "string" : "literal";
    }

    if (call.valueKind === "literal") {
      // A number, true, null…: it ends at the first delimiter.
      const length = call.unread.search(/[\s,}\]<]/);
      if (length < 0) {
        call.kept += call.unread;
        call.unread = "";
        return false;
      }
      this.emitArguments(call, out, call.kept + call.unread.slice(0, length));
      call.phase = "tail";
      call.unread = call.unread.slice(length);
      return true;
    }

    const { consumed, stop } = scanJson(call, true);
    if (call.valueKind === "container") this.emitArguments(call, out, consumed);
    else call.kept += consumed;
    if (stop === "end") {
      if (call.valueKind === "string") {
        const decoded = parseJson(call.kept);
        this.emitArguments(call, out, typeof decoded === "string" ? decoded : call.kept);
      }
      call.phase = "tail";
      return true;
    }
    if (stop === "close") {
      // The closing tag came before the value ended: the arguments stay as streamed.
      this.closeCall(call, 0);
      return true;
    }
    return false;
  }

  /** Emits the first delta of a call: index, id, name and the first piece of arguments. */
  private startCall(call: OpenCall, out: ParsedPiece, name: string, args: string): void {
    call.index = this.startedCalls++;
    call.block = ""; // no longer needed: a started call is never given back as content
    out.toolCalls.push({ index: call.index, id: this.newId(), name, arguments: args });
  }

  /** Emits the next piece of arguments, joined to this push's delta of the same call if there is one. */
  private emitArguments(call: OpenCall, out: ParsedPiece, piece: string): void {
    if (piece === "" || call.index === undefined) return;
    const last = out.toolCalls.at(-1);
    if (last?.index === call.index) last.arguments += piece;
    else out.toolCalls.push({ index: call.index, arguments: piece });
  }

  /** Ends the call at the closing tag found at `closeAt` in the unread text; what follows is content again. */
  private closeCall(call: OpenCall, closeAt: number): void {
    if (call.index !== undefined) this.closedCalls++;
    this.pending = call.unread.slice(closeAt + TOOL_CALL_CLOSE.length);
    this.call = undefined;
  }

  /** The block was no call after all: it goes to content as the model wrote it, tags included. */
  private giveBackAsContent(call: OpenCall, out: ParsedPiece, closeAt: number): void {
    const rest = call.unread.length - closeAt - TOOL_CALL_CLOSE.length;
    out.content += call.skippedWhitespace + TOOL_CALL_OPEN + call.block.slice(0, call.block.length - rest);
    this.closeCall(call, closeAt);
  }
}

/** Follows JSON strings, escapes and nesting one character at a time. */
class JsonScanner {
  depth = 0;
  inString = false;
  private escaped = false;

  step(char: string): void {
    if (this.inString) {
      if (this.escaped) this.escaped = false;
      else if (char === "\\") this.escaped = true;
      else if (char === '"') this.inString = false;
    } else if (char === '"') this.inString = true;
    else if (char === "{" || char === "[") this.depth++;
    else if (char === "}" || char === "]") this.depth--;
  }
}

/**
 * Consumes the call's unread text through its JSON scanner. Stops after a complete value (when
 * `stopAtValueEnd`: "end"), at a closing tag outside any string ("close", left unread), or at a `<`
 * that may begin one ("wait", as at the end of the text).
 */
function scanJson(call: OpenCall, stopAtValueEnd: boolean): { consumed: string; stop: "wait" | "end" | "close" } {
  const { unread, scanner } = call;
  let stop: "wait" | "end" | "close" = "wait";
  let pos = 0;
  while (pos < unread.length) {
    const char = unread[pos]!;
    if (char === "<" && !scanner.inString) {
      const ahead = unread.slice(pos, pos + TOOL_CALL_CLOSE.length);
      if (ahead === TOOL_CALL_CLOSE) stop = "close";
      if (TOOL_CALL_CLOSE.startsWith(ahead)) break; // the closing tag, or maybe its start
    }
    scanner.step(char);
    pos++;
    if (stopAtValueEnd && scanner.depth === 0 && !scanner.inString) {
      stop = "end";
      break;
    }
  }
  call.unread = unread.slice(pos);
  return { consumed: unread.slice(0, pos), stop };
}

/**
 * Finds `tag` in the call's unread text. When it is not there, consumes all but what may be the
 * tag's start, adding it to `kept` if asked.
 */
function findTag(call: OpenCall, tag: string, keep: boolean): number {
  const at = call.unread.indexOf(tag);
  if (at < 0) {
    const consumed = Math.max(0, call.unread.length - (tag.length - 1));
    if (keep) call.kept += call.unread.slice(0, consumed);
    call.unread = call.unread.slice(consumed);
  }
  return at;
}

type HeadMatch = "partial" | "mismatch" | { name: string; end: number };

/** Matches `{"name": "<name>", "arguments":` (any whitespace between) at the start of `text`. */
function matchHermesHead(text: string): HeadMatch {
  let pos = 0;
  let name = "";
  // null stands for the name's JSON string.
  for (const expected of ["{", '"name"', ":", null, ",", '"arguments"', ":"]) {
    while (pos < text.length && isWhitespace(text[pos]!)) pos++;
    if (pos === text.length) return "partial";
    if (expected === null) {
      const end = jsonStringEnd(text, pos);
      if (end === "mismatch" || end === "partial") return end;
      const decoded = parseJson(text.slice(pos, end));
      if (typeof decoded !== "string") return "mismatch";
      name = decoded;
      pos = end;
    } else {
      const got = text.slice(pos, pos + expected.length);
      if (got !== expected) return expected.startsWith(got) ? "partial" : "mismatch";
      pos += expected.length;
    }
  }
  return { name, end: pos };
}

/** The end (exclusive) of the JSON string literal starting at `start`. */
function jsonStringEnd(text: string, start: number): number | "partial" | "mismatch" {
  if (text[start] !== '"') return "mismatch";
  for (let pos = start + 1; pos < text.length; pos++) {
    if (text[pos] === "\\") pos++;
    else if (text[pos] === '"') return pos + 1;
  }
  return "partial";
}

const PARAMETER = /<parameter=([^>]*)>([\s\S]*?)(?:<\/parameter>|(?=<parameter=)|$)/g;

/** Parses `<function=NAME><parameter=KEY>VALUE</parameter>…` (the text before `</function>`). */
function parseXmlFunction(text: string, types: ToolParameterTypes): { name: string; args: Record<string, unknown> } {
  const body = text.trimStart().slice(FUNCTION_OPEN.length);
  const nameEnd = body.indexOf(">");
  const name = (nameEnd < 0 ? body : body.slice(0, nameEnd)).trim();
  // No prototype: a parameter named "__proto__" is kept as an ordinary key.
  const args: Record<string, unknown> = Object.create(null);
  if (nameEnd < 0) return { name, args };
  for (const [, rawKey, rawValue] of body.slice(nameEnd + 1).matchAll(PARAMETER)) {
    const key = rawKey!.trim();
    const value = rawValue!.replace(/^\n/, "").replace(/\n$/, "");
    args[key] = convertParameter(value, types[name]?.[key]);
  }
  return { name, args };
}

/** Converts an XML parameter value by its JSON-schema type, keeping the string when it does not fit. */
function convertParameter(value: string, type: string | undefined): unknown {
  switch (type) {
    case "string":
      return value;
    case "integer":
    case "number": {
      const number = Number(value);
      return value.trim() !== "" && Number.isFinite(number) ? number : value;
    }
    case "boolean": {
      const lower = value.trim().toLowerCase();
      return lower === "true" ? true : lower === "false" ? false : value;
    }
    default: {
      // "object", "array", or unknown: JSON if it parses.
      const parsed = parseJson(value);
      return parsed === undefined ? value : parsed;
    }
  }
}

/** JSON.parse, or undefined when the text is not JSON. */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined;
  }
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isWhitespace(char: string): boolean {
  return /\s/.test(char);
}
