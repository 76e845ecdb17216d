/**
 * The fuzzer's cases: valid requests of every kind the server answers (native text generation,
 * sync and SSE; multimodal; OpenAI-compatible chat, stream and not; tokenizer; both Files APIs;
 * the SDK upload flow; the admin API; models; health), each put through 0-3 structure-aware
 * mutations (fields dropped, duplicated, retyped; extreme numbers; deep nesting; long and odd
 * strings; bad content types; truncated bodies; broken multipart; odd headers, methods, paths
 * and framing), plus raw malformed HTTP. Every case is a pure function of (seed, index).
 */
import type { UploadPolicy } from "../../src/features/media/uploads.ts";
import type { SentRequest } from "./check.ts";
import { Rng } from "./rng.ts";

/** What the cases refer to, made once when the fuzzer starts (same seed, same context). */
export interface FuzzContext {
  apiKey: string;
  adminKey: string;
  /** Files that are never deleted by a case (get, content, list). */
  stableFileIds: string[];
  /** Files cases may delete. */
  deletableFileIds: string[];
  /** Managed key ids cases may revoke. */
  deletableKeyIds: string[];
  /** A signed upload policy for /oss-upload. */
  policy: UploadPolicy;
  /** An uploaded object (`oss://` key) multimodal requests can name. */
  ossKey: string;
}

export interface FuzzCase {
  index: number;
  /** The generator and the mutations applied, e.g. `native-text+retype+deep`. */
  kind: string;
  data: Buffer | Buffer[];
  /** The requests on the connection, in order (one unless pipelined). */
  requests: SentRequest[];
  /** Whether an answer may be missing (the fuzzer resets the connection itself). */
  allowNoResponse: boolean;
  /** Per expected answer: whether its request was HEAD (no body follows). */
  heads: boolean[];
  halfCloseAfterMs?: number;
  resetAfterMs?: number;
  timeoutMs: number;
}

// ---------------------------------------------------------------------------------------------
// JSON with room for what JSON.stringify cannot write: raw tokens, duplicate keys, deep nesting.

/** Text written into the JSON as it is (NaN, 1e999, 100 000 nested brackets, …). */
class Raw {
  constructor(readonly text: string) {}
}

/** An object whose keys may repeat. */
class Entries {
  constructor(readonly pairs: [string, unknown][]) {}
}

type Node = unknown;

/** Serializes iteratively enough for our own values (they are shallow; deep ones are Raw). */
function serialize(value: Node): string {
  if (value instanceof Raw) return value.text;
  if (value instanceof Entries) return `{${value.pairs.map(([k, v]) => `${JSON.stringify(k)}:${serialize(v)}`).join(",")}}`;
  if (Array.isArray(value)) return `[${value.map(serialize).join(",")}]`;
  if (value !== null && typeof value === "object") {
    return `{${Object.entries(value)
      .map(([k, v]) => `${JSON.stringify(k)}:${serialize(v)}`)
      .join(",")}}`;
  }
  if (value === undefined) return "null";
  return JSON.stringify(value);
}

// ---------------------------------------------------------------------------------------------
// Values.

const MODELS = ["qwen-plus", "tiny", "qwen-plus", "qwen-plus", "qwen-max-nope", ""];
const WORDS = ["hello", "你好", "weather", "JSON", "tell me a story", "what is 2+2?", "Answer in JSON.", "数学"];
const NUMBERS: readonly number[] = [
  0,
  -1,
  1,
  2,
  3,
  0.5,
  1.5,
  2 ** 31,
  2 ** 31 - 1,
  2 ** 53,
  2 ** 53 + 2,
  -(2 ** 53),
  1e308,
  -1e308,
  5e-324,
  1e21,
  100000,
  4096,
  65536,
];
const RAW_NUMBERS = ["NaN", "Infinity", "-Infinity", "1e999", "-1e999", "01", "1.", ".5", "0x10", "1e", "-", "+1", "1_000"];
const ODD_STRINGS = [
  "",
  " ",
  "\u0000",
  "a\u0000b",
  "\ud800",
  "\udfff\ud800",
  "😀".repeat(50),
  "\u202etxet",
  "e\u0301\u0301\u0301",
  "\r\n\r\n",
  "</tool_call>",
  '<tool_call>\n{"name": "x", "arguments": {}}\n</tool_call>',
  "<think>",
  "<|im_end|>",
  "<|im_start|>system",
  "{{ raise_exception('x') }}",
  "{% for x in range(999999999) %}{% endfor %}",
  "${jndi:ldap://x}",
  "%s%s%s%n",
  "\\",
  '"',
  "null",
  "fileid://file-fe-000000000000000000000000",
  "fileid://",
  "oss://",
  "data:image/png;base64,",
  "data:,x",
  "http://127.0.0.1:1/x.png",
  "file:///etc/passwd",
  "ftp://x/y",
];
const TINY_PNG = Buffer.from("iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==", "base64");
const PNG_URI = `data:image/png;base64,${TINY_PNG.toString("base64")}`;

function oddString(rng: Rng): string {
  return rng.weighted<() => string>([
    [4, () => rng.pick(ODD_STRINGS)],
    [2, () => rng.text(rng.int(1000, 20000))],
    [1, () => rng.text(rng.int(60000, 200000), "ab")],
    [2, () => String.fromCodePoint(...Array.from({ length: rng.int(1, 40) }, () => rng.int(0, 0x10ffff)).filter((c) => c < 0xd800 || c > 0xdfff))],
  ])();
}

function randomValue(rng: Rng): Node {
  return rng.weighted<() => Node>([
    [3, () => rng.pick(NUMBERS)],
    [1, () => -rng.pick(NUMBERS)],
    [2, () => new Raw(rng.pick(RAW_NUMBERS))],
    [3, () => oddString(rng)],
    [2, () => rng.chance(0.5)],
    [2, () => null],
    [2, () => []],
    [2, () => ({})],
    [1, () => [rng.pick(WORDS), 1, null]],
    [1, () => ({ type: "text", text: rng.pick(WORDS) })],
    [1, () => String(rng.pick(NUMBERS))],
  ])();
}

/** `depth` levels of arrays or objects around a value, as text (our serializer never recurses that deep). */
function deepNest(rng: Rng, depth: number, inner: string): Raw {
  const style = rng.int(0, 2);
  if (style === 0) return new Raw("[".repeat(depth) + inner + "]".repeat(depth));
  if (style === 1) return new Raw('{"a":'.repeat(depth) + inner + "}".repeat(depth));
  return new Raw('[{"x":'.repeat(depth >> 1) + inner + "}]".repeat(depth >> 1));
}

function pickDepth(rng: Rng): number {
  return rng.pick([8, 60, 120, 240, 250, 252, 255, 256, 257, 300, 1000, 5000, 10000, 100000]);
}

// ---------------------------------------------------------------------------------------------
// Valid requests.

interface Draft {
  generator: string;
  method: string;
  target: string;
  headers: [string, string][];
  body?: { json: Node } | { multipart: Part[]; boundary: string } | { bytes: Buffer };
  /** A generation request (slower: the model runs). */
  model?: boolean;
}

interface Part {
  name: string;
  filename?: string;
  contentType?: string;
  data: Buffer;
  headers?: string[];
}

function messages(rng: Rng, ctx: FuzzContext, openAi: boolean): Node[] {
  const out: Node[] = [];
  if (rng.chance(0.3)) out.push({ role: rng.pick(["system", "developer"]).replace(openAi ? "" : "developer", "system"), content: "You are terse." });
  // Documents by reference (qwen-long style): uploaded ids, several in one message, or unknown ones.
  if (rng.chance(0.08)) {
    const ids = rng.pick([[rng.pick(ctx.stableFileIds)], ctx.stableFileIds, ["file-fe-000000000000000000000000"], [rng.pick(ctx.deletableFileIds)]]);
    out.push({ role: "system", content: `fileid://${ids.join(",")}` });
  }
  if (rng.chance(0.2)) {
    out.push({ role: "user", content: rng.pick(WORDS) });
    if (rng.chance(0.5)) {
      out.push({
        role: "assistant",
        content: "",
        tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }],
      });
      out.push({ role: "tool", content: "sunny", tool_call_id: "call_1" });
    } else out.push({ role: "assistant", content: "ok" });
  }
  const text = rng.pick(WORDS);
  out.push({ role: "user", content: rng.chance(0.3) ? [{ type: "text", text }] : text });
  if (rng.chance(0.05)) out.push({ role: "assistant", content: "Sure", partial: true });
  return out;
}

const TOOL = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather of a city",
    parameters: { type: "object", properties: { city: { type: "string" }, unit: { type: "string", enum: ["c", "f"] } }, required: ["city"] },
  },
};
const SCHEMA = {
  type: "object",
  properties: { answer: { type: "string", maxLength: 8 }, n: { type: "integer" } },
  required: ["answer"],
  additionalProperties: false,
};
/** JSON Schemas with the keywords the grammar engine reads, and some it does not. */
const SCHEMAS: readonly Node[] = [
  SCHEMA,
  { type: "array", items: { type: "integer" }, minItems: 1, maxItems: 3 },
  { $ref: "#/$defs/x", $defs: { x: { type: "string", enum: ["a", "b"] } } },
  { $ref: "#/$defs/missing" },
  { $ref: "#/definitions/x", definitions: { x: { type: "boolean" } } },
  { $ref: "http://example.com/schema" },
  { $ref: "#/$defs/a", $defs: { a: { $ref: "#/$defs/b" }, b: { $ref: "#/$defs/a" } } },
  { $ref: "#/$defs/node", $defs: { node: { type: "object", properties: { next: { $ref: "#/$defs/node" } } } } },
  { oneOf: [{ type: "string" }, { type: "null" }, { const: { a: [1, { b: null }] } }] },
  { anyOf: [] },
  { type: ["object", "null"], properties: { a: { type: "string", format: "date-time" } } },
  { type: "string", pattern: "^[a-z]+$", minLength: 5, maxLength: 2 },
  { type: "string", minLength: 300 },
  { type: "object", properties: {}, required: ["ghost"], patternProperties: { "^x": {} } },
  { enum: [1, "a", null, { k: [] }, 1e308] },
  { const: '\u0000"\\\n' },
  { type: "object", properties: { 'a"b': { type: "string" }, "": { type: "number" }, "\u0000": { type: "null" } } },
  { type: "integer", minimum: 5, maximum: 1 },
  { allOf: [{ type: "string" }] },
  { not: {} },
  true,
  false,
  {},
  { type: "object", additionalProperties: { type: "array", prefixItems: [{ type: "string" }], items: false } },
];

function samplingParameters(rng: Rng, openAi: boolean): Record<string, Node> {
  const p: Record<string, Node> = { max_tokens: rng.int(1, 4) };
  const maybe = (chance: number, key: string, value: () => Node) => {
    if (rng.chance(chance)) p[key] = value();
  };
  maybe(0.3, "temperature", () => rng.pick([0, 0.7, 1.3]));
  maybe(0.2, "top_p", () => rng.pick([0.1, 0.8, 1]));
  maybe(0.2, "top_k", () => rng.pick([0, 1, 20, 200]));
  maybe(0.2, "seed", () => rng.int(0, 2 ** 31 - 1));
  maybe(0.1, "repetition_penalty", () => 1.05);
  maybe(0.1, "presence_penalty", () => rng.pick([-2, 0, 1.5]));
  maybe(0.1, "frequency_penalty", () => 0.5);
  maybe(0.15, "stop", () => rng.pick<Node>(["\n", ["a", "b"], [[1, 2]], [7]]));
  maybe(0.1, "n", () => rng.int(1, 2));
  maybe(0.15, "enable_thinking", () => rng.chance(0.3));
  maybe(0.05, "thinking_budget", () => rng.int(1, 8));
  maybe(0.1, "logprobs", () => true);
  maybe(0.05, "top_logprobs", () => rng.int(0, 5));
  maybe(0.05, "logit_bias", () => ({ "10": 5, "11": -100 }));
  maybe(0.05, "enable_search", () => true);
  if (rng.chance(0.15)) {
    p.tools = rng.chance(0.7) ? [TOOL] : [{ type: "function", function: { name: "f", parameters: rng.pick(SCHEMAS) } }, TOOL];
    maybe(0.5, "tool_choice", () => rng.pick<Node>(["auto", "none", ...(openAi ? ["required"] : []), { type: "function", function: { name: "get_weather" } }]));
    maybe(0.3, "parallel_tool_calls", () => rng.chance(0.5));
  }
  if (rng.chance(0.12)) {
    p.response_format = rng.pick<Node>([
      { type: "json_object" },
      { type: "text" },
      { type: "json_schema", json_schema: { name: "out", schema: rng.pick(SCHEMAS), strict: rng.chance(0.5) } },
    ]);
  }
  if (!openAi) {
    maybe(0.4, "result_format", () => rng.pick(["text", "message"]));
    maybe(0.3, "incremental_output", () => rng.chance(0.5));
  }
  return p;
}

const json = (value: Node) => ({ json: value });
const H_JSON: [string, string] = ["Content-Type", "application/json"];

function nativeText(rng: Rng, ctx: FuzzContext, stream: boolean): Draft {
  const input: Record<string, Node> = rng.weighted<() => Record<string, Node>>([
    [6, () => ({ messages: messages(rng, ctx, false) })],
    [2, () => ({ prompt: rng.pick(WORDS) })],
    [1, () => ({ history: [{ user: "hi", bot: "hello" }], prompt: rng.pick(WORDS) })],
  ])();
  const headers: [string, string][] = [H_JSON, ["Authorization", `Bearer ${ctx.apiKey}`]];
  if (stream) headers.push(rng.chance(0.6) ? ["X-DashScope-SSE", "enable"] : ["Accept", "text/event-stream"]);
  return {
    generator: stream ? "native-sse" : "native-text",
    method: "POST",
    target: "/api/v1/services/aigc/text-generation/generation",
    headers,
    body: json({ model: rng.pick(MODELS), input, parameters: samplingParameters(rng, false) }),
    model: true,
  };
}

function multimodal(rng: Rng, ctx: FuzzContext): Draft {
  const media = rng.pick<() => Node>([
    () => ({ image: PNG_URI }),
    () => ({ image: PNG_URI, min_pixels: 1024, max_pixels: 200000 }),
    () => ({ image: `oss://${ctx.ossKey}` }),
    () => ({ image: "data:image/png;base64,AAAA" }),
    () => ({ video: [PNG_URI, PNG_URI, PNG_URI, PNG_URI], fps: 2 }),
    () => ({ audio: "data:audio/wav;base64,UklGRiQAAABXQVZFZm10IBAAAAABAAEAQB8AAIA+AAACABAAZGF0YQAAAAA=" }),
    () => ({ image: "http://127.0.0.1:9/x.png" }),
  ])();
  const content: Node[] = [{ text: rng.pick(WORDS) }];
  if (rng.chance(0.9)) content.unshift(media);
  const headers: [string, string][] = [H_JSON, ["Authorization", `Bearer ${ctx.apiKey}`]];
  if (rng.chance(0.4)) headers.push(["X-DashScope-SSE", "enable"]);
  if (rng.chance(0.4)) headers.push(["X-DashScope-OssResourceResolve", "enable"]);
  const parameters = samplingParameters(rng, false);
  if (rng.chance(0.2)) parameters.vl_high_resolution_images = rng.chance(0.5);
  return {
    generator: "multimodal",
    method: "POST",
    target: "/api/v1/services/aigc/multimodal-generation/generation",
    headers,
    body: json({ model: rng.pick(MODELS), input: { messages: [{ role: "user", content }] }, parameters }),
    model: true,
  };
}

function compatChat(rng: Rng, ctx: FuzzContext): Draft {
  const stream = rng.chance(0.5);
  const body: Record<string, Node> = { model: rng.pick(MODELS), messages: messages(rng, ctx, true), ...samplingParameters(rng, true) };
  if (stream) {
    body.stream = true;
    if (rng.chance(0.5)) body.stream_options = { include_usage: rng.chance(0.5), ...(rng.chance(0.2) ? { continuous_usage_stats: true } : {}) };
  }
  if (rng.chance(0.1)) body.max_completion_tokens = rng.int(1, 4);
  return {
    generator: stream ? "compat-stream" : "compat-chat",
    method: "POST",
    target: "/compatible-mode/v1/chat/completions",
    headers: [H_JSON, ["Authorization", `Bearer ${ctx.apiKey}`]],
    body: json(body),
    model: true,
  };
}

function tokenizer(rng: Rng, ctx: FuzzContext): Draft {
  const input = rng.chance(0.5) ? { prompt: rng.pick(WORDS) } : { messages: messages(rng, ctx, false) };
  return {
    generator: "tokenizer",
    method: "POST",
    target: "/api/v1/tokenizer",
    headers: [H_JSON, ["Authorization", `Bearer ${ctx.apiKey}`]],
    body: json({ model: rng.pick(MODELS), input }),
  };
}

function boundary(rng: Rng): string {
  return `----fuzz${rng.text(16, "abcdef0123456789")}`;
}

function textFile(rng: Rng): Part {
  const name = rng.pick(["notes.txt", "a.md", "data.json", "t.csv", "page.html", "x.pdf", "doc.docx", "batch.jsonl", "noext", "图.txt"]);
  const data = name.endsWith(".json")
    ? Buffer.from('{"a":1}')
    : name.endsWith(".jsonl")
      ? Buffer.from('{"custom_id":"1"}\n')
      : Buffer.from(`${rng.pick(WORDS)} ${rng.text(rng.int(0, 200))}`);
  return { name: "file", filename: name, contentType: rng.pick(["text/plain", "application/octet-stream", "application/pdf"]), data };
}

function files(rng: Rng, ctx: FuzzContext): Draft {
  const auth: [string, string] = ["Authorization", `Bearer ${ctx.apiKey}`];
  const compat = rng.chance(0.5);
  const base = compat ? "/compatible-mode/v1/files" : "/api/v1/files";
  const id = () =>
    rng.weighted<() => string>([
      [5, () => rng.pick(ctx.stableFileIds)],
      [2, () => `file-fe-${rng.text(24, "0123456789abcdef")}`],
      [1, () => rng.text(rng.int(1, 40))],
    ])();
  const action = rng.pick(["upload", "upload", "list", "get", "get", "content", "delete"]);
  switch (action) {
    case "upload": {
      const file = textFile(rng);
      const parts: Part[] = [];
      if (compat) {
        parts.push({ name: "purpose", data: Buffer.from(rng.pick(["file-extract", "file-extract", "batch"])) }, file);
      } else {
        const count = rng.int(1, 3);
        for (let i = 0; i < count; i++) parts.push({ ...textFile(rng), name: "files" });
        parts.push({ name: "purpose", data: Buffer.from("file-extract") });
        if (rng.chance(0.3)) parts.push({ name: "descriptions", data: Buffer.from("a file") });
      }
      return {
        generator: `files-upload-${compat ? "compat" : "native"}`,
        method: "POST",
        target: base,
        headers: [auth],
        body: { multipart: parts, boundary: boundary(rng) },
      };
    }
    case "list": {
      const query = compat
        ? rng.pick([
            "",
            "?limit=2",
            "?limit=2000&purpose=file-extract",
            "?after=file-fe-000&limit=1",
            "?create_after=20240101&create_before=20991231",
            "?purpose=batch",
          ])
        : rng.pick(["", "?page_no=1&page_size=2", "?page_no=2&page_size=1", "?page_size=100"]);
      return { generator: `files-list-${compat ? "compat" : "native"}`, method: "GET", target: base + query, headers: [auth] };
    }
    case "get":
      return { generator: `files-get-${compat ? "compat" : "native"}`, method: "GET", target: `${base}/${id()}`, headers: [auth] };
    case "content":
      return { generator: "files-content", method: "GET", target: `/compatible-mode/v1/files/${id()}/content`, headers: [auth] };
    default: {
      const target = rng.chance(0.5) && ctx.deletableFileIds.length > 0 ? rng.pick(ctx.deletableFileIds) : id();
      return { generator: `files-delete-${compat ? "compat" : "native"}`, method: "DELETE", target: `${base}/${target}`, headers: [auth] };
    }
  }
}

function uploadPolicy(rng: Rng, ctx: FuzzContext): Draft {
  const model = rng.pick(["qwen-vl-plus", "qwen-plus", "", "m".repeat(300)]);
  const action = rng.pick(["getPolicy", "getPolicy", "getpolicy", "delete"]);
  return {
    generator: "upload-policy",
    method: "GET",
    target: `/api/v1/uploads?action=${action}&model=${encodeURIComponent(model)}`,
    headers: [["Authorization", `Bearer ${ctx.apiKey}`]],
  };
}

function ossUpload(rng: Rng, ctx: FuzzContext): Draft {
  const p = ctx.policy;
  const filename = `${rng.text(8, "abcdefgh")}.png`;
  const parts: Part[] = [
    { name: "OSSAccessKeyId", data: Buffer.from(p.oss_access_key_id) },
    { name: "Signature", data: Buffer.from(p.signature) },
    { name: "policy", data: Buffer.from(p.policy) },
    { name: "key", data: Buffer.from(`${p.upload_dir}/${filename}`) },
    { name: "x-oss-object-acl", data: Buffer.from(p.x_oss_object_acl) },
    { name: "x-oss-forbid-overwrite", data: Buffer.from(p.x_oss_forbid_overwrite) },
    { name: "success_action_status", data: Buffer.from(rng.pick(["200", "201", "204", "500", "abc"])) },
    { name: "x-oss-content-type", data: Buffer.from("image/png") },
    { name: "file", filename, contentType: "image/png", data: TINY_PNG },
  ];
  return { generator: "oss-upload", method: "POST", target: "/oss-upload", headers: [], body: { multipart: parts, boundary: boundary(rng) } };
}

function adminApi(rng: Rng, ctx: FuzzContext): Draft {
  const auth: [string, string] = ["Authorization", `Bearer ${ctx.adminKey}`];
  const action = rng.pick(["create", "create", "list", "revoke", "usage"]);
  switch (action) {
    case "create": {
      const spec: Record<string, Node> = { name: `fuzz-${rng.text(6)}` };
      if (rng.chance(0.5)) spec.models = rng.pick<Node>([["qwen-plus"], ["tiny", "qwen-plus"], "qwen-plus"]);
      if (rng.chance(0.4)) spec.rpm = rng.int(1, 1000);
      if (rng.chance(0.3)) spec.tpm = rng.int(1, 100000);
      if (rng.chance(0.3)) spec.concurrency = rng.int(1, 8);
      if (rng.chance(0.2)) spec.workspace = "ws-1";
      if (rng.chance(0.3)) spec.expires = rng.pick(["30d", "1h", "2099-01-01", "-1d", "0s"]);
      return { generator: "admin-create", method: "POST", target: "/admin/v1/keys", headers: [H_JSON, auth], body: json(spec) };
    }
    case "list":
      return { generator: "admin-list", method: "GET", target: "/admin/v1/keys", headers: [auth] };
    case "revoke": {
      const id = rng.chance(0.5) && ctx.deletableKeyIds.length > 0 ? rng.pick(ctx.deletableKeyIds) : rng.pick(["key_nope", "sk-os-", rng.text(12)]);
      return { generator: "admin-revoke", method: "DELETE", target: `/admin/v1/keys/${encodeURIComponent(id)}`, headers: [auth] };
    }
    default: {
      const query = rng.pick([
        "",
        "?since=24h",
        "?since=1h&model=qwen-plus",
        "?since=2020-01-01&until=2099-01-01",
        "?key=key_x",
        "?since=abc",
        "?until=-5h",
        "?since=1h&since=2h",
        "?key=a&key=b&model=x&model=y",
      ]);
      return { generator: "admin-usage", method: "GET", target: `/admin/v1/usage${query}`, headers: [auth] };
    }
  }
}

function listings(rng: Rng, ctx: FuzzContext): Draft {
  const target = rng.pick(["/api/v1/models", "/compatible-mode/v1/models", "/health", "/metrics"]);
  return { generator: "listing", method: "GET", target, headers: [["Authorization", `Bearer ${ctx.apiKey}`]] };
}

// ---------------------------------------------------------------------------------------------
// Mutations.

interface Slot {
  parent: Record<string, Node> | Node[];
  key: string | number;
}

/** Every place in a JSON tree (up to a bound), for mutations to pick from. */
function slots(root: Node, limit = 400): Slot[] {
  const out: Slot[] = [];
  const walk = (node: Node, depth: number) => {
    if (out.length >= limit || depth > 12) return;
    if (Array.isArray(node)) {
      node.forEach((child, i) => {
        out.push({ parent: node, key: i });
        walk(child, depth + 1);
      });
    } else if (node !== null && typeof node === "object" && !(node instanceof Raw) && !(node instanceof Entries)) {
      for (const [k, child] of Object.entries(node)) {
        out.push({ parent: node as Record<string, Node>, key: k });
        walk(child, depth + 1);
      }
    }
  };
  walk(root, 0);
  return out;
}

function get(slot: Slot): Node {
  return (slot.parent as Record<string | number, Node>)[slot.key];
}
function set(slot: Slot, value: Node): void {
  (slot.parent as Record<string | number, Node>)[slot.key] = value;
}

type JsonMutation = (rng: Rng, root: { value: Node }) => string;

const JSON_MUTATIONS: [number, JsonMutation][] = [
  [
    4,
    (rng, root) => {
      const all = slots(root.value);
      if (all.length === 0) return "noop";
      const slot = rng.pick(all);
      if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
      else delete slot.parent[slot.key as string];
      return "drop";
    },
  ],
  [
    2,
    (rng, root) => {
      const all = slots(root.value).filter((s) => !Array.isArray(s.parent));
      if (all.length === 0) return "noop";
      const slot = rng.pick(all);
      const parent = slot.parent as Record<string, Node>;
      // Duplicate key: the second value differs (JSON.parse keeps the last).
      const pairs = Object.entries(parent) as [string, Node][];
      pairs.push([slot.key as string, randomValue(rng)]);
      for (const k of Object.keys(parent)) delete parent[k];
      const replacement = new Entries(pairs);
      // Put the Entries where the parent was.
      const owner = slots(root.value).find((s) => get(s) === parent);
      if (owner) set(owner, replacement);
      else root.value = replacement;
      return "dupkey";
    },
  ],
  [
    2,
    (rng, root) => {
      const all = slots(root.value).filter((s) => Array.isArray(s.parent));
      if (all.length === 0) return "noop";
      const slot = rng.pick(all);
      const parent = slot.parent as Node[];
      const copies = rng.pick([1, 2, 50, 600]);
      // The same node again (shared: serialization does not care).
      parent.splice(slot.key as number, 0, ...Array.from({ length: copies }, () => get(slot)));
      return "dup";
    },
  ],
  [
    6,
    (rng, root) => {
      const all = slots(root.value);
      if (all.length === 0) return "noop";
      set(rng.pick(all), randomValue(rng));
      return "retype";
    },
  ],
  [
    3,
    (rng, root) => {
      const all = slots(root.value).filter((s) => typeof get(s) === "number" || typeof get(s) === "boolean");
      if (all.length === 0) return "noop";
      set(rng.pick(all), rng.chance(0.7) ? rng.pick(NUMBERS) * (rng.chance(0.3) ? -1 : 1) : new Raw(rng.pick(RAW_NUMBERS)));
      return "number";
    },
  ],
  [
    3,
    (rng, root) => {
      const all = slots(root.value);
      if (all.length === 0) return "noop";
      const slot = rng.pick(all);
      const inner = rng.pick(["1", '"x"', "null", "{}", "[]", serialize(get(slot))]);
      set(slot, deepNest(rng, pickDepth(rng), inner.length > 2000 ? "1" : inner));
      return "deep";
    },
  ],
  [
    3,
    (rng, root) => {
      const all = slots(root.value).filter((s) => typeof get(s) === "string");
      if (all.length === 0) return "noop";
      set(rng.pick(all), oddString(rng));
      return "string";
    },
  ],
  [
    2,
    (rng, root) => {
      const all = [{ parent: { x: root.value } as Record<string, Node>, key: "x" }, ...slots(root.value)]
        .map(get)
        .filter((n) => n !== null && typeof n === "object" && !Array.isArray(n) && !(n instanceof Raw) && !(n instanceof Entries));
      if (all.length === 0) return "noop";
      const target = rng.pick(all) as Record<string, Node>;
      const key = rng.pick(["__proto__", "constructor", "prototype", "extra", "toString", "hasOwnProperty", rng.text(rng.int(1, 5000)), ""]);
      // An own property even for "__proto__" (an assignment would set the prototype instead).
      Object.defineProperty(target, key, { value: randomValue(rng), enumerable: true, writable: true, configurable: true });
      return "addfield";
    },
  ],
  [
    1,
    (rng, root) => {
      root.value = randomValue(rng);
      return "rootswap";
    },
  ],
];

/** Text-level damage to a serialized JSON body. */
function damageText(rng: Rng, text: string): { text: string | Buffer; name: string } {
  return rng.weighted<() => { text: string | Buffer; name: string }>([
    [3, () => ({ text: text.slice(0, rng.int(0, Math.max(0, text.length - 1))), name: "truncate" })],
    [1, () => ({ text: `\uFEFF${text}`, name: "bom" })],
    [1, () => ({ text: `${text}${rng.pick(["x", "}", ",", " {}", "\u0000"])}`, name: "trailing" })],
    [
      1,
      () => ({
        text: Buffer.concat([Buffer.from(text.slice(0, text.length >> 1)), Buffer.from([0xff, 0xfe, 0xc3, 0x28]), Buffer.from(text.slice(text.length >> 1))]),
        name: "badutf8",
      }),
    ],
    [1, () => ({ text: text.replace(/"/, "'"), name: "quote" })],
    [1, () => ({ text: Buffer.from(text, "utf16le"), name: "utf16" })],
    [1, () => ({ text: "", name: "empty" })],
    [1, () => ({ text: "   \n", name: "blank" })],
  ])();
}

function multipartBody(parts: Part[], b: string): Buffer {
  const chunks: Buffer[] = [];
  for (const part of parts) {
    const disposition = `form-data; name="${part.name}"${part.filename !== undefined ? `; filename="${part.filename}"` : ""}`;
    const headers = part.headers ?? [`Content-Disposition: ${disposition}`, ...(part.contentType ? [`Content-Type: ${part.contentType}`] : [])];
    chunks.push(Buffer.from(`--${b}\r\n${headers.join("\r\n")}\r\n\r\n`), part.data, Buffer.from("\r\n"));
  }
  chunks.push(Buffer.from(`--${b}--\r\n`));
  return Buffer.concat(chunks);
}

/** Damage to a multipart body: its parts, its boundary, its framing. */
function damageMultipart(rng: Rng, draft: Draft & { body: { multipart: Part[]; boundary: string } }): { bytes: Buffer; contentType: string; name: string } {
  const { multipart: parts, boundary: b } = draft.body;
  const ok = () => multipartBody(parts, b);
  const type = `multipart/form-data; boundary=${b}`;
  return rng.weighted<() => { bytes: Buffer; contentType: string; name: string }>([
    [2, () => ({ bytes: ok(), contentType: "multipart/form-data", name: "mp-noboundary" })],
    [1, () => ({ bytes: Buffer.from("x"), contentType: "multipart/form-data", name: "mp-x" })],
    [2, () => ({ bytes: ok(), contentType: `multipart/form-data; boundary=${b}zz`, name: "mp-wrongboundary" })],
    [
      3,
      () => {
        const full = ok();
        return { bytes: full.subarray(0, full.length - b.length - 6), contentType: type, name: "mp-noclose" };
      },
    ],
    [
      3,
      () => {
        const full = ok();
        return { bytes: full.subarray(0, rng.int(0, full.length - 1)), contentType: type, name: "mp-truncate" };
      },
    ],
    [1, () => ({ bytes: Buffer.concat([Buffer.from("garbage preamble\r\n"), ok()]), contentType: type, name: "mp-preamble" })],
    [
      2,
      () => {
        const p = [...parts];
        p.splice(rng.int(0, p.length), 0, {
          name: "x",
          data: Buffer.from("y"),
          headers: [
            rng.pick([
              "Content-Disposition: attachment",
              "X-Nothing: 1",
              "Content-Disposition: form-data",
              "Content-Disposition: form-data; name=",
              "garbage header line",
              "Content-Disposition: form-data; name=\"a\"; filename*=UTF-8''%FF%FE",
            ]),
          ],
        });
        return { bytes: multipartBody(p, b), contentType: type, name: "mp-badpart" };
      },
    ],
    [
      2,
      () => {
        const p = [...parts, { name: rng.pick(["__proto__", "constructor", "hasOwnProperty"]), data: Buffer.from("x") }];
        return { bytes: multipartBody(p, b), contentType: type, name: "mp-proto" };
      },
    ],
    [
      2,
      () => {
        const value = rng.pick(['{"a":1}', "not json", "[".repeat(5000) + "]".repeat(5000), '{"__proto__":{"x":1}}']);
        const p = parts.map((part) =>
          part.filename === undefined && rng.chance(0.7) ? { ...part, contentType: "application/json", data: Buffer.from(value) } : part,
        );
        p.push({ name: "purpose", contentType: "application/json", data: Buffer.from(value) });
        return { bytes: multipartBody(p, b), contentType: type, name: "mp-jsonfield" };
      },
    ],
    [
      1,
      () => {
        const p = Array.from({ length: rng.pick([30, 150, 1200]) }, (_, i) => ({ name: `f${i}`, data: Buffer.from("v") }));
        return { bytes: multipartBody([...p, ...parts], b), contentType: type, name: "mp-manyparts" };
      },
    ],
    [
      2,
      () => {
        const p = parts.map((part) =>
          part.filename !== undefined
            ? { ...part, filename: rng.pick(["../../etc/passwd", "", "a\u0000b.txt", "x".repeat(5000), "..", "/", "C:\\x\\y.txt", "%00.txt", "😀.txt"]) }
            : part,
        );
        return { bytes: multipartBody(p, b), contentType: type, name: "mp-filename" };
      },
    ],
    [
      1,
      () => {
        const p = parts.filter((part) => part.filename === undefined);
        return { bytes: multipartBody(p, b), contentType: type, name: "mp-nofile" };
      },
    ],
    [
      1,
      () => {
        const p = [...parts, ...parts.filter((part) => part.filename !== undefined)];
        return { bytes: multipartBody(p, b), contentType: type, name: "mp-twofiles" };
      },
    ],
    [
      1,
      () => {
        const p = parts.map((part) => ({ ...part, data: part.filename !== undefined ? rng.bytes(rng.int(0, 3000)) : Buffer.from(oddString(rng)) }));
        return { bytes: multipartBody(p, b), contentType: type, name: "mp-data" };
      },
    ],
    [
      3,
      () => {
        // One field's value replaced (the upload form's signed fields and key included).
        const fields = parts.filter((part) => part.filename === undefined);
        if (fields.length === 0) return { bytes: ok(), contentType: type, name: "mp-field-none" };
        const field = rng.pick(fields);
        const value = rng.pick<() => string>([
          () => oddString(rng),
          () => "",
          () => "../../../etc/passwd",
          () => `${new TextDecoder().decode(field.data)}/../x`,
          () => `${new TextDecoder().decode(field.data)}${rng.pick(["x", "=", "%00", "/"])}`,
          () => rng.pick(["true", "false", "file-extract", "batch", "201", "-1", "99999999999999999999"]),
        ])();
        const p = parts.map((part) => (part === field ? { ...part, data: Buffer.from(value) } : part));
        return { bytes: multipartBody(p, b), contentType: type, name: `mp-field` };
      },
    ],
    [1, () => ({ bytes: ok(), contentType: `multipart/form-data; boundary="${b}"; charset=${rng.pick(["utf-8", "x-nope", "latin1"])}`, name: "mp-params" })],
    [1, () => ({ bytes: ok(), contentType: `multipart/form-data; boundary=${"b".repeat(rng.pick([70, 71, 200, 5000]))}`, name: "mp-longboundary" })],
    [1, () => ({ bytes: Buffer.from(ok().toString("latin1").replace(/\r\n/g, "\n"), "latin1"), contentType: type, name: "mp-lf" })],
  ])();
}

/** Header damage; `malformed` when the result breaks HTTP itself (the parser refuses it). */
function damageHeaders(rng: Rng, draft: Draft): { name: string; malformed: boolean } {
  const h = draft.headers;
  const drop = (name: string) => {
    for (let i = h.length - 1; i >= 0; i--) if (h[i]![0].toLowerCase() === name.toLowerCase()) h.splice(i, 1);
  };
  return rng.weighted<() => { name: string; malformed: boolean }>([
    [
      3,
      () => {
        drop("Authorization");
        if (rng.chance(0.7))
          h.push([
            "Authorization",
            rng.pick([
              "Bearer",
              "Bearer ",
              "Bearer sk-wrong",
              "Basic dXNlcjpwYXNz",
              `bearer ${"k".repeat(5000)}`,
              `Bearer sk-os-${"a".repeat(60)}`,
              "Bearer \u00e9\u00e8",
            ]),
          ]);
        return { name: "auth", malformed: false };
      },
    ],
    [
      2,
      () => {
        drop("Content-Type");
        const type = rng.pick([
          "",
          "text/plain",
          "application/x-www-form-urlencoded",
          "multipart/form-data",
          "application/json; charset=latin1",
          "application/JSON",
          "application/json;;;",
          "garbage",
          "application/xml",
          "text/event-stream",
          "*/*",
          "application/json, text/plain",
          "multipart/mixed; boundary=x",
        ]);
        if (type !== "" || rng.chance(0.5)) h.push(["Content-Type", type]);
        return { name: "ctype", malformed: false };
      },
    ],
    [
      2,
      () => {
        h.push(
          rng.pick<[string, string]>([
            ["X-DashScope-SSE", "enable"],
            ["X-DashScope-SSE", "ENABLE "],
            ["X-DashScope-SSE", "disable"],
            ["Accept", "text/event-stream"],
            ["Accept", "application/json, text/event-stream;q=0.5"],
            ["X-DashScope-SSE", rng.text(20)],
          ]),
        );
        return { name: "sse", malformed: false };
      },
    ],
    [
      2,
      () => {
        h.push(
          rng.pick<[string, string]>([
            ["X-DashScope-DataInspection", '{"input":"cip","output":"cip"}'],
            ["X-DashScope-DataInspection", "enable"],
            ["X-DashScope-DataInspection", `{${"[".repeat(3000)}`],
            ["X-DashScope-WorkSpace", rng.text(30)],
            ["X-DashScope-OssResourceResolve", "enable"],
            ["X-Forwarded-Host", "evil.example"],
            ["X-Forwarded-Proto", "gopher"],
            ["Expect", "100-continue"],
            ["Expect", "something-else"],
            ["Accept-Encoding", "gzip, br"],
            ["Accept-Version", "9.9.9"],
            ["Connection", "keep-alive"],
            ["Upgrade", "websocket"],
            ["X-Request-ID", "'; DROP TABLE x; --"],
            ["Cookie", `a=${"b".repeat(3000)}`],
          ]),
        );
        return { name: "hdr", malformed: false };
      },
    ],
    [
      2,
      () => {
        drop("Host");
        const host = rng.pick(["", "evil.example/path", "[::1]:8000", "a b", "x".repeat(300), "127.0.0.1:99999", "例子.测试", "host:80:90", "user@host"]);
        if (host !== "" || rng.chance(0.5)) h.push(["Host", host]);
        else h.push(["__nohost", ""]);
        if (rng.chance(0.2)) h.push(["Host", "second.example"]);
        return { name: "host", malformed: false };
      },
    ],
    [
      2,
      () => {
        h.push([rng.pick(["X-Fuzz", "Authorization", "Content-Type"]), rng.pick(["a\u0000b", "a\rb", "\u0001", "a\x7fb"])]);
        return { name: "hdr-ctl", malformed: true };
      },
    ],
    [
      1,
      () => {
        h.push(["X-Big", "v".repeat(rng.pick([17000, 70000]))]);
        return { name: "hdr-huge", malformed: true };
      },
    ],
    [
      1,
      () => {
        for (let i = 0; i < rng.pick([100, 1000, 3000]); i++) h.push([`X-H${i}`, "v"]);
        return { name: "hdr-many", malformed: false };
      },
    ],
    [
      1,
      () => {
        h.push([rng.pick(["Bad Header", "Bad:Name", "(x)", "é", ""]), "v"]);
        return { name: "hdr-name", malformed: true };
      },
    ],
  ])();
}

function damageTarget(rng: Rng, draft: Draft): { name: string; malformed: boolean } {
  const [path, query] = draft.target.split("?") as [string, string | undefined];
  const q = query !== undefined ? `?${query}` : "";
  return rng.weighted<() => { name: string; malformed: boolean }>([
    [2, () => ((draft.target = `${path}/${q}`), { name: "slash", malformed: false })],
    [2, () => ((draft.target = `/${path.replace(/\//g, "//")}${q}`), { name: "dslash", malformed: false })],
    [1, () => ((draft.target = `${path.toUpperCase()}${q}`), { name: "upper", malformed: false })],
    [
      2,
      () => (
        (draft.target = `${path}/${rng.pick(["%ff%fe", "%", "%zz", "%00", "%2e%2e", "..", "%2F", "x".repeat(rng.pick([1100, 3000]))])}${q}`),
        { name: "segment", malformed: false }
      ),
    ],
    [
      2,
      () => {
        draft.target = `${path}?${rng.pick(["a=%ff", "%", "a[b]=c", `x=${"y".repeat(12000)}`, "limit=-1", "limit=1e3", "page_no=0", "a=1&a=2&a=3", "=&=&", "action=getPolicy&action=x", "model=%00", `since=${"9".repeat(400)}`])}${query ? `&${query}` : ""}`;
        return { name: "query", malformed: false };
      },
    ],
    [1, () => ((draft.target = `${path}#frag${q}`), { name: "fragment", malformed: true })],
    [1, () => ((draft.target = `${path}/${"a".repeat(rng.pick([17000, 40000]))}`), { name: "longuri", malformed: true })],
    [
      1,
      () => ((draft.target = rng.pick(["*", `http://127.0.0.1${path}`, `${path} ${path}`, path.replace(/\//g, "\\")]) + q), { name: "form", malformed: true }),
    ],
  ])();
}

function damageMethod(rng: Rng, draft: Draft): { name: string; malformed: boolean } {
  const method = rng.pick(["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "SEARCH", "PROPFIND", "get", "FOO", "GET\u0000"]);
  draft.method = method;
  return { name: "method", malformed: !["GET", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "HEAD", "TRACE", "SEARCH", "PROPFIND"].includes(method) };
}

interface Framing {
  /** How the body goes on the wire. */
  kind: "length" | "chunked" | "short" | "long" | "none" | "badchunk" | "both" | "dupcl" | "badcl" | "abort" | "hangup";
}

function pickFraming(rng: Rng): Framing {
  return {
    kind: rng.weighted<Framing["kind"]>([
      [3, "chunked"],
      [2, "short"],
      [2, "long"],
      [1, "none"],
      [2, "badchunk"],
      [1, "both"],
      [1, "dupcl"],
      [1, "badcl"],
      [2, "abort"],
      [2, "hangup"],
    ]),
  };
}

// ---------------------------------------------------------------------------------------------
// Assembly.

function requestBytes(
  rng: Rng,
  draft: Draft,
  body: Buffer | undefined,
  framing: Framing,
): { data: Buffer[]; incomplete: boolean; reset: boolean; resetAfterMs: number; malformed: boolean } {
  const head = [`${draft.method} ${draft.target} HTTP/1.1`];
  const hasHost = draft.headers.some(([n]) => n.toLowerCase() === "host");
  if (!hasHost && !draft.headers.some(([n]) => n === "__nohost")) head.push("Host: 127.0.0.1");
  for (const [name, value] of draft.headers) if (name !== "__nohost") head.push(`${name}: ${value}`);
  head.push("Connection: close");
  let incomplete = false;
  let reset = false;
  let resetAfterMs = rng.int(0, 30);
  let malformed = false;
  const payload = body ?? Buffer.alloc(0);
  const chunked = (bytes: Buffer) => {
    const out: Buffer[] = [];
    let offset = 0;
    while (offset < bytes.length) {
      const size = Math.min(bytes.length - offset, rng.int(1, 4096));
      out.push(Buffer.from(`${size.toString(16)}\r\n`), bytes.subarray(offset, offset + size), Buffer.from("\r\n"));
      offset += size;
    }
    out.push(Buffer.from("0\r\n\r\n"));
    return Buffer.concat(out);
  };
  let bodyBytes: Buffer = payload;
  switch (framing.kind) {
    case "length":
      if (body !== undefined || rng.chance(0.3)) head.push(`Content-Length: ${payload.length}`);
      break;
    case "none":
      bodyBytes = Buffer.alloc(0);
      break;
    case "chunked":
      head.push("Transfer-Encoding: chunked");
      bodyBytes = chunked(payload);
      break;
    case "short":
      // Fewer bytes than announced: the request hangs until the client half-closes.
      head.push(`Content-Length: ${payload.length + rng.int(1, 100)}`);
      incomplete = true;
      break;
    case "long": {
      // More bytes than announced: the rest is the next (garbage) request on the connection.
      const cut = rng.int(0, payload.length);
      head.push(`Content-Length: ${cut}`);
      malformed = cut < payload.length;
      break;
    }
    case "badchunk":
      head.push("Transfer-Encoding: chunked");
      bodyBytes = Buffer.concat([
        Buffer.from(
          rng.pick(["zz\r\n", "-1\r\n", "ffffffffffffffffffff\r\n", "5\r\nab\r\n", `3;${"e".repeat(20000)}\r\nabc\r\n`, "2\r\nabcd\r\n", "0x2\r\nab\r\n"]),
        ),
        payload,
      ]);
      malformed = true;
      incomplete = true;
      break;
    case "both":
      head.push(`Content-Length: ${payload.length}`, "Transfer-Encoding: chunked");
      bodyBytes = chunked(payload);
      malformed = true;
      break;
    case "dupcl":
      head.push(`Content-Length: ${payload.length}`, `Content-Length: ${payload.length + 1}`);
      malformed = true;
      incomplete = true;
      break;
    case "badcl":
      head.push(`Content-Length: ${rng.pick(["-1", "abc", "1e3", " 5", "18446744073709551616", "0x10"])}`);
      malformed = true;
      incomplete = true;
      break;
    case "abort":
      // The client goes away mid-body.
      head.push(`Content-Length: ${payload.length + 1000}`);
      bodyBytes = payload.subarray(0, rng.int(0, payload.length));
      reset = true;
      break;
    case "hangup":
      // The whole request, then the client goes away while (or before) it is answered: mid-stream for streams.
      head.push(`Content-Length: ${payload.length}`);
      reset = true;
      resetAfterMs = rng.int(1, 300);
      break;
  }
  const headBytes = Buffer.from(`${head.join("\r\n")}\r\n\r\n`, "latin1");
  // Header values outside latin1 (the auth and host mutations) go as UTF-8 bytes.
  const headUtf8 = /[^\x00-\xff]/.test(head.join("")) ? Buffer.from(`${head.join("\r\n")}\r\n\r\n`, "utf8") : headBytes;
  const all = Buffer.concat([headUtf8, bodyBytes]);
  // Sometimes split the request into packets at random places.
  if (rng.chance(0.15) && all.length > 2) {
    const at = rng.int(1, all.length - 1);
    return { data: [all.subarray(0, at), all.subarray(at)], incomplete, reset, resetAfterMs, malformed };
  }
  return { data: [all], incomplete, reset, resetAfterMs, malformed };
}

/** Raw malformed HTTP, written as bytes. */
function rawCase(rng: Rng): { data: Buffer[]; requests: SentRequest[]; name: string; allowNoResponse?: boolean } {
  const sent = (target = "/", method = "GET"): SentRequest => ({ method, target, headers: {}, malformedHttp: true });
  const one = (text: string | Buffer, name: string) => {
    const bytes = typeof text === "string" ? Buffer.from(text, "latin1") : text;
    const line = /^([A-Za-z]+) (\S+)/.exec(bytes.subarray(0, 4096).toString("latin1"));
    return { data: [bytes], requests: [sent(line?.[2] ?? "/", line?.[1] ?? "GET")], name };
  };
  const valid = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  return rng.weighted<() => { data: Buffer[]; requests: SentRequest[]; name: string; allowNoResponse?: boolean }>([
    [2, () => one(Buffer.concat([Buffer.from(rng.pick(["X", "\u0000", "\u00ff", "{", "GE\u0000"]), "latin1"), rng.bytes(rng.int(0, 300))]), "raw-junk")],
    [
      4,
      () =>
        one(
          rng.pick([
            "GARBAGE\r\n\r\n",
            "GET\r\n\r\n",
            "GET / HTTP/9.9\r\nHost: x\r\n\r\n",
            "GET / HTTP/1.1 extra\r\nHost: x\r\n\r\n",
            "GET  / HTTP/1.1\r\nHost: x\r\n\r\n",
            "get /health HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /\u0000 HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /a b HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /health\r\n\r\n",
            "GET /health HTTP/1\r\nHost: x\r\n\r\n",
            "GET /health HTTPS/1.1\r\nHost: x\r\n\r\n",
            "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n",
            "CONNECT 127.0.0.1:1 HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /health HTTP/1.1\nHost: x\n\n",
            "GET /health HTTP/1.1\rHost: x\r\r",
            " GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /health HTTP/1.1\r\n Host: x\r\n\r\n",
            "GET /health HTTP/1.1\r\nHost : x\r\n\r\n",
            "GET /health HTTP/1.1\r\nHost: x\r\nNoColon\r\n\r\n",
            "GET /health HTTP/1.1\r\nHost: x\r\nX: a\r\n  folded\r\n\r\n",
            "GET /health HTTP/1.1\r\nHost: x\r\nX-\u00ff: 1\r\n\r\n",
            "GET /health HTTP/1.1\r\nHost: x\r\nX: \u0000\r\n\r\n",
            "GET /api/v1/files/%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /api/v1/files/% HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /compatible-mode/v1/files/%zz HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET http://127.0.0.1/health HTTP/1.1\r\nHost: x\r\n\r\n",
            "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /health HTTP/1.0\r\n\r\n",
            "GET /health HTTP/1.1\r\n\r\n",
            "GET /health HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n",
            "GET /health HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
            "GET /health HTTP/1.1\r\nHost: x\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA\r\n\r\n",
            "POST /api/v1/tokenizer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 2\r\nExpect: 100-continue\r\n\r\n{}",
            "POST /api/v1/tokenizer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            "POST /api/v1/tokenizer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked, gzip\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
            "POST /api/v1/tokenizer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nX-Trailer: 1\r\n\r\n",
            "POST /api/v1/tokenizer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n",
            "POST /api/v1/tokenizer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2\n{}\n0\n\n",
            'POST /api/v1/tokenizer HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n2;ext="a\r\n{}\r\n0\r\n\r\n',
            "POST /api/v1/tokenizer HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
            "POST /api/v1/tokenizer HTTP/1.1\r\nHost: x\r\nContent-Length: 5, 5\r\n\r\nhello",
            "POST /api/v1/tokenizer HTTP/1.1\r\nHost: x\r\nContent-Length: +5\r\n\r\nhello",
            "POST /oss-upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data\r\nContent-Length: 1\r\n\r\nx",
            "POST /oss-upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=abc\r\nContent-Length: 20\r\n\r\n--abc\r\nxxxxxxxxxx\r\n",
            "DELETE /admin/v1/keys/%ff HTTP/1.1\r\nHost: x\r\n\r\n",
          ]),
          "raw-line",
        ),
    ],
    [1, () => one(`GET /${"a".repeat(rng.pick([9000, 17000, 70000]))} HTTP/1.1\r\nHost: x\r\n\r\n`, "raw-longline")],
    [
      1,
      () =>
        one(
          `GET /health HTTP/1.1\r\nHost: x\r\n${Array.from({ length: rng.pick([200, 1000, 5000]) }, (_, i) => `X-${i}: ${"v".repeat(20)}`).join("\r\n")}\r\n\r\n`,
          "raw-headers",
        ),
    ],
    [1, () => one(`GET /health HTTP/1.1\r\nHost: x\r\nX: ${"v".repeat(rng.pick([16000, 17000, 200000]))}\r\n\r\n`, "raw-hugeheader")],
    [
      2,
      () => {
        // Pipelined: a valid request, then a malformed one (the valid one is answered first).
        const bad = rng.pick(["GARBAGE\r\n\r\n", "GET /health HTTP/1.1\r\nHost: x\r\nX: \u0000\r\n\r\n", valid]);
        return { data: [Buffer.from(valid + bad, "latin1")], requests: [{ ...sent("/health"), malformedHttp: false }, sent("/health")], name: "raw-pipeline" };
      },
    ],
    [
      1,
      () => ({
        data: [Buffer.from(`GET /health HTTP/1.1\r\nHost: x\r\nX-Partial: ${rng.text(10)}`, "latin1")],
        requests: [sent("/health")],
        name: "raw-partial",
      }),
    ],
  ])();
}

export interface CaseOptions {
  /** Per-request deadline (generation requests get this; others two thirds of it). */
  timeoutMs: number;
}

/** Case `index` of `seed`. */
export function makeCase(seed: number, index: number, ctx: FuzzContext, options: CaseOptions): FuzzCase {
  const rng = Rng.forCase(seed, index);
  if (rng.chance(0.08)) {
    const raw = rawCase(rng);
    return {
      index,
      kind: raw.name,
      data: raw.data,
      requests: raw.requests,
      allowNoResponse: raw.allowNoResponse ?? false,
      heads: raw.requests.map(() => false),
      halfCloseAfterMs: 300,
      timeoutMs: Math.max(5000, (options.timeoutMs * 2) / 3),
    };
  }
  const draft = rng.weighted<() => Draft>([
    [12, () => nativeText(rng, ctx, false)],
    [9, () => nativeText(rng, ctx, true)],
    [5, () => multimodal(rng, ctx)],
    [12, () => compatChat(rng, ctx)],
    [7, () => tokenizer(rng, ctx)],
    [14, () => files(rng, ctx)],
    [3, () => uploadPolicy(rng, ctx)],
    [7, () => ossUpload(rng, ctx)],
    [8, () => adminApi(rng, ctx)],
    [3, () => listings(rng, ctx)],
  ])();
  const names = [draft.generator];
  let malformed = false;
  const mutations = rng.weighted<number>([
    [15, 0],
    [50, 1],
    [25, 2],
    [10, 3],
  ]);
  let framing: Framing = { kind: "length" };
  let bodyBytes: Buffer | undefined;
  // A copy: the drafts share constants (TOOL, SCHEMA) that mutations must not change for later cases.
  const jsonRoot: { value: Node } | undefined = draft.body && "json" in draft.body ? { value: structuredClone(draft.body.json) } : undefined;
  let textDamage: Rng | undefined;
  let multipartDamage: { bytes: Buffer; contentType: string; name: string } | undefined;
  for (let m = 0; m < mutations; m++) {
    const layer = rng.weighted<string>([
      [jsonRoot ? 10 : 0, "json"],
      [jsonRoot ? 2 : 0, "text"],
      [draft.body && "multipart" in draft.body ? 10 : 0, "multipart"],
      [4, "headers"],
      [2, "target"],
      [1, "method"],
      [2, "framing"],
    ]);
    if (layer === "json" && jsonRoot) {
      names.push(rng.weighted(JSON_MUTATIONS)(rng, jsonRoot));
    } else if (layer === "text") {
      // Applied to the text once every tree mutation is done.
      textDamage = new Rng(rng.int(0, 2 ** 31));
    } else if (layer === "multipart" && draft.body && "multipart" in draft.body) {
      multipartDamage = damageMultipart(rng, draft as Draft & { body: { multipart: Part[]; boundary: string } });
      names.push(multipartDamage.name);
    } else if (layer === "headers") {
      const result = damageHeaders(rng, draft);
      names.push(result.name);
      malformed ||= result.malformed;
    } else if (layer === "target") {
      const result = damageTarget(rng, draft);
      names.push(result.name);
      malformed ||= result.malformed;
    } else if (layer === "method") {
      const result = damageMethod(rng, draft);
      names.push(result.name);
      malformed ||= result.malformed;
    } else if (layer === "framing") {
      framing = pickFraming(rng);
      names.push(`frame-${framing.kind}`);
    }
  }
  if (jsonRoot) {
    const text = serialize(jsonRoot.value);
    let damaged: string | Buffer = text;
    if (textDamage) {
      const damage = damageText(textDamage, text);
      names.push(damage.name);
      damaged = damage.text;
    }
    bodyBytes = typeof damaged === "string" ? Buffer.from(damaged, "utf8") : damaged;
  } else if (draft.body && "multipart" in draft.body) {
    const ct = draft.headers.findIndex(([n]) => n.toLowerCase() === "content-type");
    const contentType = multipartDamage?.contentType ?? `multipart/form-data; boundary=${draft.body.boundary}`;
    if (ct < 0) draft.headers.push(["Content-Type", contentType]);
    bodyBytes = multipartDamage?.bytes ?? multipartBody(draft.body.multipart, draft.body.boundary);
  } else if (draft.body && "bytes" in draft.body) bodyBytes = draft.body.bytes;
  const wire = requestBytes(rng, draft, bodyBytes, framing);
  malformed ||= wire.malformed;
  const headers: Record<string, string> = {};
  for (const [name, value] of draft.headers) headers[name.toLowerCase()] = value;
  return {
    index,
    kind: names.join("+"),
    data: wire.data,
    requests: [{ method: draft.method, target: draft.target, headers, malformedHttp: malformed || wire.incomplete }],
    allowNoResponse: wire.reset,
    heads: [draft.method === "HEAD"],
    ...(wire.incomplete ? { halfCloseAfterMs: 500 } : {}),
    ...(wire.reset ? { resetAfterMs: wire.resetAfterMs } : {}),
    timeoutMs: draft.model ? options.timeoutMs : Math.max(5000, (options.timeoutMs * 2) / 3),
  };
}
