/**
 * What the fuzzer accepts as an answer: a status below 500, and a body in one of the catalogue's
 * shapes — native `{code, message, request_id}`, OpenAI `{error: {message, type, code, …}}` on
 * /compatible-mode paths, `id:/event:/data:` SSE frames whose error frames carry code and
 * message — or the success body of the endpoint that answered. Each problem is one line.
 */
import type { RawResponse } from "./rawHttp.ts";

export interface SentRequest {
  method: string;
  /** The request target as sent (path and query). */
  target: string;
  headers: Record<string, string>;
  /** The request is malformed below HTTP routing (parser-level), so the answer may come from the raw writer in the native shape. */
  malformedHttp: boolean;
}

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);
const isString = (v: unknown): v is string => typeof v === "string";

/** The path as the server's dialect choice sees it (duplicate slashes collapsed, query dropped). */
export function pathOf(target: string): string {
  return withoutOrigin(target)
    .split(/[?#]/)[0]!
    .replace(/\/{2,}/g, "/");
}

/** An absolute-form target (`http://host/path`) as the path it names. */
function withoutOrigin(target: string): string {
  return target.replace(/^[A-Za-z][A-Za-z0-9+.-]*:\/\/[^/]*/, "");
}

export function isOpenAiTarget(target: string): boolean {
  return withoutOrigin(target)
    .replace(/\/{2,}/g, "/")
    .startsWith("/compatible-mode");
}

function nativeErrorProblem(body: unknown): string | undefined {
  if (!isObject(body)) return "error body is not a JSON object";
  const keys = Object.keys(body).sort().join(",");
  if (keys !== "code,message,request_id") return `native error body has keys ${keys}`;
  if (!isString(body.code) || body.code === "") return "native error code is not a non-empty string";
  if (!isString(body.message) || body.message === "") return "native error message is not a non-empty string";
  if (!isString(body.request_id) || body.request_id === "") return "native error request_id is not a non-empty string";
  if (/\n\s+at /.test(body.message)) return "error message carries a stack trace";
  return undefined;
}

function openAiErrorProblem(body: unknown): string | undefined {
  if (!isObject(body) || !isObject(body.error)) return "OpenAI error body has no error object";
  const e = body.error;
  if (!isString(e.message) || e.message === "") return "OpenAI error message is not a non-empty string";
  if (!isString(e.type)) return "OpenAI error type is not a string";
  if (!("code" in e)) return "OpenAI error has no code";
  if (/\n\s+at /.test(e.message)) return "error message carries a stack trace";
  return undefined;
}

/** The real server's refusal of a bad purpose on the native files upload: OpenAI-shaped there too (a capture). */
function isNativePurposeError(body: unknown): boolean {
  return isObject(body) && isObject(body.error) && body.error.param === "purpose";
}

interface Frame {
  id?: string;
  event?: string;
  status?: string;
  data: string;
  fields: string[];
}

function sseFrames(text: string): Frame[] {
  const frames: Frame[] = [];
  for (const block of text.split(/\n\n/)) {
    if (block.trim() === "") continue;
    const frame: Frame = { data: "", fields: [] };
    for (const line of block.split("\n")) {
      if (line.startsWith("id:")) frame.id = line.slice(3);
      else if (line.startsWith("event:")) frame.event = line.slice(6);
      else if (line.startsWith(":HTTP_STATUS/")) frame.status = line.slice(13);
      else if (line.startsWith("data:")) frame.data += line.slice(5).replace(/^ /, "");
      else frame.fields.push(line);
    }
    frames.push(frame);
  }
  return frames;
}

function parseJson(text: string): { value: unknown } | undefined {
  try {
    return { value: JSON.parse(text) };
  } catch {
    return undefined;
  }
}

/** A native SSE body: result frames with output, possibly ending in one error frame. */
function nativeSseProblem(text: string): string | undefined {
  const frames = sseFrames(text);
  if (frames.length === 0) return "empty SSE body";
  for (const [i, frame] of frames.entries()) {
    if (frame.fields.length > 0) return `SSE frame ${i} has a line outside id:/event:/data: (${JSON.stringify(frame.fields[0]!.slice(0, 60))})`;
    if (frame.id === undefined || frame.event === undefined) return `SSE frame ${i} lacks id: or event:`;
    const data = parseJson(frame.data);
    if (!data) return `SSE frame ${i} data is not JSON`;
    if (frame.event === "error") {
      const problem = nativeErrorProblem(data.value);
      if (problem) return `SSE error frame: ${problem}`;
      if (Number(frame.status) >= 500) return `SSE error frame with status ${frame.status}`;
      if (i !== frames.length - 1) return "SSE error frame is not the last frame";
    } else if (frame.event === "result") {
      if (!isObject(data.value) || !isObject(data.value.output) || !isString(data.value.request_id)) return `SSE result frame ${i} lacks output or request_id`;
    } else return `SSE frame ${i} has event ${JSON.stringify(frame.event)}`;
  }
  return undefined;
}

/** An OpenAI SSE body: chunk frames, then `[DONE]`, or an error frame. */
function openAiSseProblem(text: string): string | undefined {
  const frames = sseFrames(text);
  if (frames.length === 0) return "empty SSE body";
  for (const [i, frame] of frames.entries()) {
    if (frame.fields.length > 0 || frame.id !== undefined || frame.event !== undefined) return `OpenAI SSE frame ${i} is not a bare data: frame`;
    if (frame.data === "[DONE]") {
      if (i !== frames.length - 1) return "[DONE] is not the last frame";
      continue;
    }
    const data = parseJson(frame.data);
    if (!data || !isObject(data.value)) return `OpenAI SSE frame ${i} data is not a JSON object`;
    if ("error" in data.value) {
      const problem = openAiErrorProblem(data.value);
      if (problem) return `OpenAI SSE error frame: ${problem}`;
      if (i !== frames.length - 1) return "OpenAI SSE error frame is not the last frame";
    } else if (data.value.object !== "chat.completion.chunk") return `OpenAI SSE frame ${i} is not a chat.completion.chunk`;
  }
  const last = frames[frames.length - 1]!;
  if (last.data !== "[DONE]" && !last.data.includes('"error"')) return "OpenAI stream ends without [DONE] or an error";
  return undefined;
}

type SuccessCheck = (body: unknown, raw: Buffer, res: RawResponse) => string | undefined;

const hasKeys =
  (...keys: string[]): SuccessCheck =>
  (body) => {
    if (!isObject(body)) return "success body is not a JSON object";
    const missing = keys.filter((k) => !(k in body));
    return missing.length > 0 ? `success body lacks ${missing.join(", ")}` : undefined;
  };

const nativeGeneration: SuccessCheck = (body) => {
  if (!isObject(body) || !isObject(body.output) || !isString(body.request_id) || !isObject(body.usage))
    return "generation body lacks output, usage or request_id";
  return undefined;
};
const chatCompletion: SuccessCheck = (body) =>
  isObject(body) && body.object === "chat.completion" && Array.isArray(body.choices) ? undefined : "not a chat.completion";
const compatFile: SuccessCheck = (body) => (isObject(body) && body.object === "file" && isString(body.id) ? undefined : "not a file object");
const anyBytes: SuccessCheck = () => undefined;
const emptyOk: SuccessCheck = (_body, raw) => (raw.length === 0 ? undefined : "upload answer has a body");

/** The success bodies of each route (method, path pattern). */
const ROUTES: [string, RegExp, SuccessCheck][] = [
  ["POST", /^\/api\/v1\/services\/aigc\/(text|multimodal)-generation\/generation\/?$/, nativeGeneration],
  ["POST", /^\/api\/v1\/tokenizer\/?$/, hasKeys("output", "usage", "request_id")],
  ["GET", /^\/api\/v1\/models\/?$/, hasKeys("output", "request_id")],
  ["POST", /^\/compatible-mode\/v1\/chat\/completions\/?$/, chatCompletion],
  ["GET", /^\/compatible-mode\/v1\/models\/?$/, hasKeys("object", "data")],
  ["POST", /^\/compatible-mode\/v1\/files\/?$/, compatFile],
  ["GET", /^\/compatible-mode\/v1\/files\/?$/, hasKeys("object", "data", "has_more")],
  ["GET", /^\/compatible-mode\/v1\/files\/[^/]+\/content\/?$/, anyBytes],
  ["GET", /^\/compatible-mode\/v1\/files\/[^/]+\/?$/, compatFile],
  ["DELETE", /^\/compatible-mode\/v1\/files\/[^/]+\/?$/, hasKeys("id", "object", "deleted")],
  ["POST", /^\/api\/v1\/files\/?$/, hasKeys("data", "request_id")],
  ["GET", /^\/api\/v1\/files\/?$/, hasKeys("data", "request_id")],
  ["GET", /^\/api\/v1\/files\/[^/]+\/?$/, hasKeys("data", "request_id")],
  ["DELETE", /^\/api\/v1\/files\/[^/]+\/?$/, hasKeys("request_id")],
  ["GET", /^\/api\/v1\/uploads\/?$/, hasKeys("data", "request_id")],
  ["POST", /^\/oss-upload\/?$/, emptyOk],
  ["POST", /^\/admin\/v1\/keys\/?$/, hasKeys("key", "secret", "request_id")],
  ["GET", /^\/admin\/v1\/keys\/?$/, hasKeys("keys", "request_id")],
  ["DELETE", /^\/admin\/v1\/keys\/[^/]+\/?$/, hasKeys("key", "request_id")],
  ["GET", /^\/admin\/v1\/usage\/?$/, hasKeys("totals", "request_id")],
  ["GET", /^\/health\/?$/, hasKeys("status", "models")],
  ["GET", /^\/metrics\/?$/, anyBytes],
];

/** The only paths that answer in SSE (on an SSE request, errors too). */
const STREAMING_PATHS = [/^\/api\/v1\/services\/aigc\/(text|multimodal)-generation\/generation\/?$/, /^\/compatible-mode\/v1\/chat\/completions\/?$/];

function successCheck(method: string, path: string): SuccessCheck | undefined {
  const m = method === "HEAD" ? "GET" : method;
  return ROUTES.find(([rm, re]) => rm === m && re.test(path))?.[2];
}

/** Every problem with one answer to one request (empty: the answer is fine). */
export function checkResponse(request: SentRequest, response: RawResponse): string[] {
  const problems: string[] = [];
  const { status } = response;
  if (status >= 500) problems.push(`status ${status}`);
  const type = (response.headers["content-type"] ?? "").toLowerCase();
  const text = response.body.toString("utf8");
  const openAi = isOpenAiTarget(request.target);
  const head = request.method === "HEAD";

  if (status >= 400) {
    if (head) return problems; // no body to look at
    if (!type.startsWith("application/json")) {
      problems.push(`error ${status} with content-type ${JSON.stringify(type)}: ${JSON.stringify(text.slice(0, 120))}`);
      return problems;
    }
    const parsed = parseJson(text);
    if (!parsed) {
      problems.push(`error ${status} body is not JSON: ${JSON.stringify(text.slice(0, 120))}`);
      return problems;
    }
    const nativeProblem = nativeErrorProblem(parsed.value);
    const openAiProblem = openAiErrorProblem(parsed.value);
    if (openAi) {
      // Parser-level refusals come from the raw writer, which may not know the path.
      if (openAiProblem && !(request.malformedHttp && !nativeProblem)) problems.push(`${openAiProblem}: ${text.slice(0, 160)}`);
    } else if (nativeProblem) {
      const purposeRefusal = status === 400 && pathOf(request.target).replace(/\/$/, "") === "/api/v1/files" && isNativePurposeError(parsed.value);
      if (!purposeRefusal) problems.push(`${nativeProblem}: ${text.slice(0, 160)}`);
    }
    return problems;
  }

  if (status < 200 || status >= 400) {
    problems.push(`unexpected status ${status}`);
    return problems;
  }
  if (status >= 300) return problems;
  if (head) return problems;
  if (type.startsWith("text/event-stream")) {
    // As on the real server only generation streams: an SSE header elsewhere (files, uploads,
    // tokenizer, admin) still gets JSON, errors included.
    if (!STREAMING_PATHS.some((re) => re.test(pathOf(request.target)))) {
      problems.push(`SSE answer from ${request.method} ${pathOf(request.target)}, which never streams`);
      return problems;
    }
    const problem = openAi ? openAiSseProblem(text) : nativeSseProblem(text);
    if (problem) problems.push(problem);
    return problems;
  }
  const path = pathOf(request.target);
  const check = successCheck(request.method, path);
  if (!check) {
    problems.push(`${status} from ${request.method} ${path}, which is no route`);
    return problems;
  }
  let body: unknown;
  if (type.startsWith("application/json")) {
    const parsed = parseJson(text);
    if (!parsed) {
      problems.push(`${status} JSON body does not parse`);
      return problems;
    }
    body = parsed.value;
  }
  const problem = check(body, response.body, response);
  if (problem) problems.push(`${problem}: ${text.slice(0, 160)}`);
  return problems;
}
