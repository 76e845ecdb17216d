import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { textOf } from "../../core/content.ts";
import { ApiError } from "../../core/errors.ts";
import type { GenerationRequest } from "../../core/types.ts";
import { STOP_TYPE_MESSAGE, TOOL_CHOICE_MESSAGE, unknownResponseFormatMessage } from "../shared/index.ts";
import { decodeGeneration, type DecodedGeneration } from "./decode.ts";
import { EMPTY_MESSAGE, wantsStream } from "./index.ts";
import { parseSseBody } from "../../../test/helpers/sse.ts";
import {
  CAPTURES_SKIP,
  captureNames,
  readCapture,
  readCaptureJson,
  requestLine,
  responseStatus,
  warnIfCapturesAbsent,
} from "../../../test/helpers/captures.ts";
import { decodeTokenize } from "./tokenizer.ts";

warnIfCapturesAbsent("decode.test.ts");

const GENERATION_PATH = "/api/v1/services/aigc/text-generation/generation";
const TOKENIZER_PATH = "/api/v1/tokenizer";
const MULTIMODAL_PATH = "/api/v1/services/aigc/multimodal-generation/generation";

/**
 * Which endpoint a capture targets: its request line, or, for the few captures whose header file
 * kept no request line, its name (`single-generation-*` / `conversation-generation-*` are
 * text-generation exchanges in the source test suite).
 */
function captureEndpoint(name: string): "generation" | "tokenizer" | undefined {
  const line = requestLine(name);
  if (line.includes(GENERATION_PATH)) return "generation";
  if (line.includes(TOKENIZER_PATH)) return "tokenizer";
  const hasRequestLine = /^[A-Z]+ \S+/.test(line) && !line.includes(":");
  if (!hasRequestLine && /^(single|conversation)-generation-/.test(name)) return "generation";
  return undefined;
}

/**
 * Text-endpoint captures the decoder does not accept yet. The core has no document content part,
 * so `doc_url` parts (qwen-doc-*) are refused; reported as TODO, not hidden.
 */
const KNOWN_REJECTED: Record<string, string> = {
  "conversation-generation-message-with-doc-url-sse": "doc_url content parts (qwen-doc-turbo) have no core representation yet",
  "conversation-generation-message-skill-ppt-sse": "doc_url content parts (qwen-doc-turbo) have no core representation yet",
};

function apiError(status: number, code: string, message: string | RegExp) {
  return (error: unknown): true => {
    assert.ok(error instanceof ApiError, `expected ApiError, got ${String(error)}`);
    assert.equal(error.status, status);
    assert.equal(error.code, code);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  };
}

const invalid = (message: string | RegExp) => apiError(400, "InvalidParameter", message);

function decode(body: unknown): DecodedGeneration {
  return decodeGeneration(body, "req-1");
}

/** A valid body with the given parameters and input (default: one user prompt). */
function withParams(parameters: unknown, input: unknown = { prompt: "hi" }): DecodedGeneration {
  return decode({ model: "qwen-max", input, parameters });
}

function withMessages(messages: unknown, parameters: unknown = {}): GenerationRequest {
  return decode({ model: "qwen-max", input: { messages }, parameters }).request;
}

const user = (content: unknown) => ({ role: "user", content });
const text = (t: string) => [{ type: "text", text: t }];

describe("decode: real captures", () => {
  const names = captureNames().filter((name) => captureEndpoint(name) !== undefined);

  it("finds the text-generation and tokenizer captures", { skip: CAPTURES_SKIP }, () => {
    // Guards against a broken filter turning the replay below into zero tests.
    assert.ok(names.filter((n) => captureEndpoint(n) === "generation").length >= 25, names.join(", "));
    assert.deepEqual(
      names.filter((n) => captureEndpoint(n) === "tokenizer"),
      ["tokenization-nosse"],
    );
    for (const n of ["single-generation-message-roleplay-nosse", "single-generation-message-reasoning-sse", "parameter-error-sse"]) {
      assert.ok(names.includes(n), n);
    }
  });

  if (CAPTURES_SKIP) {
    it("replays every capture request body", { skip: CAPTURES_SKIP }, () => {});
  }

  for (const name of names) {
    const endpoint = captureEndpoint(name)!;
    if (name.startsWith("parameter-error-")) {
      it(`${name}: rejected with the captured status, code and message`, () => {
        const body = readCaptureJson(name, "request.body.json");
        let expected: { code: string; message: string };
        let status: number;
        if (name.endsWith("-sse")) {
          const events = parseSseBody(readCapture(name, "response.body.txt"));
          assert.equal(events.length, 1);
          assert.equal(events[0]!.event, "error");
          status = Number(events[0]!.status);
          expected = JSON.parse(events[0]!.data);
        } else {
          status = responseStatus(name);
          expected = readCaptureJson(name, "response.body.txt") as typeof expected;
        }
        assert.equal(status, 400);
        assert.equal(expected.code, "InvalidParameter");
        assert.throws(() => decode(body), apiError(status, expected.code, expected.message));
      });
      continue;
    }
    const todo = KNOWN_REJECTED[name];
    it(`${name}: request body decodes (${endpoint})`, todo ? { todo } : {}, () => {
      const body = readCaptureJson(name, "request.body.json");
      if (endpoint === "tokenizer") decodeTokenize(body);
      else decode(body);
    });
  }

  it("single-generation-text-nosse: sampling, stop token ids and text shape", { skip: CAPTURES_SKIP }, () => {
    const { request, shape } = decode(readCaptureJson("single-generation-text-nosse", "request.body.json"));
    assert.equal(request.model, "qwen-max");
    assert.equal(request.requestId, "req-1");
    assert.deepEqual(request.messages, [{ role: "user", content: text("请问 1+1 是多少？") }]);
    assert.deepEqual(request.sampling, {
      temperature: 0.85,
      topP: 0.8,
      topK: 100,
      seed: 1234,
      repetitionPenalty: 1.1,
      presencePenalty: undefined,
      frequencyPenalty: undefined,
      maxTokens: 1500,
      stop: { strings: [], tokenIds: [[37763, 367]] },
      n: 1,
    });
    assert.deepEqual(request.features, {});
    assert.deepEqual(shape, { resultFormat: "text", incrementalOutput: false });
  });

  it("single-generation-text-sse: incremental text shape", { skip: CAPTURES_SKIP }, () => {
    const { shape } = decode(readCaptureJson("single-generation-text-sse", "request.body.json"));
    assert.deepEqual(shape, { resultFormat: "text", incrementalOutput: true });
  });

  it("single-generation-message-nosse: max_completion_tokens is an alias of max_tokens", { skip: CAPTURES_SKIP }, () => {
    const { request, shape } = decode(readCaptureJson("single-generation-message-nosse", "request.body.json"));
    assert.equal(request.sampling.maxTokens, 1500);
    assert.deepEqual(shape, { resultFormat: "message", incrementalOutput: false });
  });

  it("single-generation-message-roleplay-nosse: n=2, system -> assistant -> user order", { skip: CAPTURES_SKIP }, () => {
    const { request, shape } = decode(readCaptureJson("single-generation-message-roleplay-nosse", "request.body.json"));
    assert.equal(request.model, "qwen-plus-character");
    assert.equal(request.sampling.n, 2);
    assert.equal(shape.resultFormat, "message");
    assert.deepEqual(
      request.messages.map((m) => m.role),
      ["system", "assistant", "user"],
    );
    assert.ok(textOf(request.messages[0]!).includes("\n"));
  });

  it("single-generation-message-with-tools-nosse: string stop, forced tool_choice, presence_penalty", { skip: CAPTURES_SKIP }, () => {
    const { request } = decode(readCaptureJson("single-generation-message-with-tools-nosse", "request.body.json"));
    assert.deepEqual(request.sampling.stop, { strings: ["你好"], tokenIds: [] });
    assert.equal(request.sampling.presencePenalty, 1.2);
    assert.equal(request.features.tools?.length, 1);
    assert.equal(request.features.tools?.[0]?.name, "get_current_weather");
    assert.deepEqual(request.features.toolChoice, { type: "function", name: "get_current_weather" });
  });

  it("single-generation-message-with-tools-sse: assistant tool_calls answered by tool messages", { skip: CAPTURES_SKIP }, () => {
    const { request } = decode(readCaptureJson("single-generation-message-with-tools-sse", "request.body.json"));
    assert.deepEqual(
      request.messages.map((m) => m.role),
      ["user", "assistant", "tool", "tool"],
    );
    const assistant = request.messages[1]!;
    assert.deepEqual(assistant.content, []);
    assert.deepEqual(assistant.toolCalls, [
      {
        id: "call_cec4c19d27624537b583af",
        type: "function",
        function: { name: "get_current_weather", arguments: '{"location": "浙江省杭州市"}' },
      },
      { id: "call_dxjdop3d27624537b583af", type: "function", function: { name: "get_current_weather", arguments: '{"location": "上海市"}' } },
    ]);
    assert.equal(request.messages[2]!.toolCallId, "call_cec4c19d27624537b583af");
    assert.equal(request.features.parallelToolCalls, true);
  });

  it("conversation-generation-message-partial-nosse: final assistant prefix is partial", { skip: CAPTURES_SKIP }, () => {
    const { request } = decode(readCaptureJson("conversation-generation-message-partial-nosse", "request.body.json"));
    const last = request.messages.at(-1)!;
    assert.equal(last.role, "assistant");
    assert.equal(last.partial, true);
    assert.deepEqual(last.content, text("春天来了，大地"));
  });

  it("single-generation-message-reasoning-sse: thinking with a budget", { skip: CAPTURES_SKIP }, () => {
    const { request, shape } = decode(readCaptureJson("single-generation-message-reasoning-sse", "request.body.json"));
    assert.deepEqual(request.features.thinking, { enabled: true, budget: 10 });
    assert.deepEqual(shape, { resultFormat: "message", incrementalOutput: true });
  });

  it("single-generation-message-logprobs-nosse: logprobs with top_logprobs", { skip: CAPTURES_SKIP }, () => {
    const { request } = decode(readCaptureJson("single-generation-message-logprobs-nosse", "request.body.json"));
    assert.deepEqual(request.features.logprobs, { topLogprobs: 2 });
  });

  it("tokenization-nosse: messages input", { skip: CAPTURES_SKIP }, () => {
    const { model, input } = decodeTokenize(readCaptureJson("tokenization-nosse", "request.body.json"));
    assert.equal(model, "qwen-max");
    assert.deepEqual(input, { messages: [{ role: "user", content: text("代码改变世界") }] });
  });

  it("captured request headers choose SSE exactly for the -sse captures", { skip: CAPTURES_SKIP }, () => {
    // parameter-error-sse's header file shows only `Accept: */*` although it was answered with
    // SSE: the source test data did not record the SDK's X-DashScope-SSE header there.
    const checked = names.filter((n) => n !== "parameter-error-sse");
    assert.ok(checked.length > 20);
    for (const name of checked) {
      const headers: Record<string, string> = {};
      for (const line of readCapture(name, "request.header.txt").split(/\r?\n/).slice(1)) {
        const colon = line.indexOf(":");
        if (colon > 0) headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
      }
      const first = requestLine(name);
      if (first.includes(":") && !first.startsWith("POST")) {
        const colon = first.indexOf(":");
        headers[first.slice(0, colon).trim().toLowerCase()] = first.slice(colon + 1).trim();
      }
      assert.equal(wantsStream(headers), name.endsWith("-sse"), name);
    }
  });
});

describe("decode: envelope", () => {
  it("missing, null or empty model -> 400 BadRequest.EmptyModel", () => {
    const emptyModel = apiError(400, "BadRequest.EmptyModel", 'Required parameter "model" missing from request.');
    assert.throws(() => decode({ input: { prompt: "hi" } }), emptyModel);
    assert.throws(() => decode({ model: null, input: { prompt: "hi" } }), emptyModel);
    assert.throws(() => decode({ model: "", input: { prompt: "hi" } }), emptyModel);
  });

  it("model of the wrong type -> InvalidParameter", () => {
    assert.throws(() => decode({ model: 7, input: { prompt: "hi" } }), invalid("Parameter model must be a string, got number."));
  });

  it("a body that is not a JSON object -> InvalidParameter", () => {
    for (const body of [null, [], "text", 3]) {
      assert.throws(() => decode(body), invalid("The request body must be a JSON object."));
    }
  });

  it("missing or null input -> 400 BadRequest.EmptyInput", () => {
    const emptyInput = apiError(400, "BadRequest.EmptyInput", "Required input parameter missing from request.");
    assert.throws(() => decode({ model: "qwen-max" }), emptyInput);
    assert.throws(() => decode({ model: "qwen-max", input: null }), emptyInput);
  });

  it("input that is not an object -> InvalidParameter", () => {
    assert.throws(() => decode({ model: "qwen-max", input: "hi" }), invalid("Parameter input must be an object, got string."));
  });

  it("parameters may be absent or null; must be an object otherwise", () => {
    const { request, shape } = decode({ model: "qwen-max", input: { prompt: "hi" } });
    assert.equal("topK" in request.sampling, false);
    assert.deepEqual(request.sampling, {
      temperature: undefined,
      topP: undefined,
      seed: undefined,
      repetitionPenalty: undefined,
      presencePenalty: undefined,
      frequencyPenalty: undefined,
      maxTokens: undefined,
      stop: { strings: [], tokenIds: [] },
      n: 1,
    });
    assert.deepEqual(shape, { incrementalOutput: false }, "result_format left to the server (shape.ts)");
    decode({ model: "qwen-max", input: { prompt: "hi" }, parameters: null });
    assert.throws(() => withParams([1]), invalid("Parameter parameters must be an object, got array."));
  });

  it("unknown keys are accepted everywhere (the real server is lenient)", () => {
    const { request } = decode({
      model: "qwen-max",
      extra_top_level: true,
      input: {
        messages: [{ role: "user", content: [{ type: "text", text: "hi", whatever: 1 }], unknown_field: "x" }],
        unknown_input_key: 1,
      },
      parameters: {
        logit_bias: { "9909": -100 },
        translation_options: { source_lang: "auto" },
        reasoning_effort: "xhigh",
        stream: true,
        skill: [{ type: "ppt" }],
        totally_unknown: { nested: [1, 2] },
      },
    });
    assert.deepEqual(request.messages, [{ role: "user", content: text("hi") }]);
  });
});

describe("decode: input forms", () => {
  it("neither prompt nor messages", () => {
    const neither = invalid('Either "prompt" or "messages" must exist and cannot both be none');
    assert.throws(() => withParams({}, {}), neither);
    assert.throws(() => withParams({}, { prompt: null, messages: null }), neither);
    assert.throws(() => withParams({}, { history: [{ user: "a", bot: "b" }] }), neither);
  });

  it("empty prompt -> the captured Role/Content message", () => {
    assert.throws(() => withParams({}, { prompt: "" }), invalid(EMPTY_MESSAGE));
  });

  it("prompt of the wrong type", () => {
    assert.throws(() => withParams({}, { prompt: 1 }), invalid("Parameter input.prompt must be a string, got number."));
  });

  it("prompt -> one user message", () => {
    assert.deepEqual(withParams({}, { prompt: "hello" }).request.messages, [{ role: "user", content: text("hello") }]);
  });

  it("empty messages -> the captured Role/Content message (with or without prompt)", () => {
    assert.throws(() => withMessages([]), invalid(EMPTY_MESSAGE));
    assert.throws(() => withParams({}, { prompt: "hi", messages: [] }), invalid(EMPTY_MESSAGE));
  });

  it("messages of the wrong type", () => {
    assert.throws(() => withMessages("hi"), invalid("Parameter input.messages must be an array, got string."));
    assert.throws(() => withMessages(["hi"]), invalid("Parameter input.messages[0] must be an object, got string."));
  });

  it("prompt together with non-empty messages is appended as a final user message (SDK semantics)", () => {
    const { request } = withParams({}, { prompt: "second", messages: [user("first"), { role: "assistant", content: "ok" }] });
    assert.deepEqual(request.messages, [
      { role: "user", content: text("first") },
      { role: "assistant", content: text("ok") },
      { role: "user", content: text("second") },
    ]);
  });

  it("legacy history + prompt -> user/assistant pairs then the prompt", () => {
    const { request } = withParams(
      {},
      {
        history: [
          { user: "u1", bot: "b1" },
          { user: "u2", bot: "b2" },
        ],
        prompt: "u3",
      },
    );
    assert.deepEqual(request.messages, [
      { role: "user", content: text("u1") },
      { role: "assistant", content: text("b1") },
      { role: "user", content: text("u2") },
      { role: "assistant", content: text("b2") },
      { role: "user", content: text("u3") },
    ]);
  });

  it("legacy history with an empty turn, or of the wrong type", () => {
    assert.throws(() => withParams({}, { history: [{ user: "u1", bot: "" }], prompt: "p" }), invalid(EMPTY_MESSAGE));
    assert.throws(() => withParams({}, { history: [{ user: "u1" }], prompt: "p" }), invalid(EMPTY_MESSAGE));
    assert.throws(() => withParams({}, { history: {}, prompt: "p" }), invalid("Parameter input.history must be an array, got object."));
    assert.throws(() => withParams({}, { history: ["x"], prompt: "p" }), invalid("Parameter input.history[0] must be an object, got string."));
  });
});

describe("decode: messages", () => {
  it("unknown or missing role", () => {
    assert.throws(
      () => withMessages([{ role: "bot", content: "hi" }]),
      invalid('input.messages[0].role must be one of system, user, assistant, tool; got "bot".'),
    );
    assert.throws(
      () => withMessages([user("a"), { content: "hi" }]),
      invalid("input.messages[1].role must be one of system, user, assistant, tool; got null."),
    );
    assert.throws(() => withMessages([{ role: 1, content: "hi" }]), invalid(/^input\.messages\[0\]\.role must be one of/));
  });

  it("user, system or tool without content -> 'The content field is a required field.'", () => {
    const required = invalid("The content field is a required field.");
    assert.throws(() => withMessages([{ role: "user" }]), required);
    assert.throws(() => withMessages([{ role: "system" }, user("hi")]), required);
    const call = { id: "c1", type: "function", function: { name: "f", arguments: "{}" } };
    assert.throws(() => withMessages([user("hi"), { role: "assistant", tool_calls: [call] }, { role: "tool" }]), required);
  });

  it("empty user content (string, null or array) -> the captured Role/Content message", () => {
    for (const content of ["", null, []]) assert.throws(() => withMessages([user(content)]), invalid(EMPTY_MESSAGE));
  });

  it("empty assistant turn without tool_calls -> the captured Role/Content message", () => {
    assert.throws(() => withMessages([user("a"), { role: "assistant" }, user("b")]), invalid(EMPTY_MESSAGE));
    assert.throws(() => withMessages([user("a"), { role: "assistant", content: "" }, user("b")]), invalid(EMPTY_MESSAGE));
  });

  it("assistant turn with only tool_calls or only reasoning_content is fine", () => {
    const call = { id: "c1", type: "function", function: { name: "f", arguments: "{}" } };
    const request = withMessages([user("a"), { role: "assistant", content: "", tool_calls: [call] }, { role: "tool", content: "r", tool_call_id: "c1" }]);
    assert.deepEqual(request.messages[1], { role: "assistant", content: [], toolCalls: [call] });
    assert.deepEqual(request.messages[2], { role: "tool", content: text("r"), toolCallId: "c1" });
    const reasoning = withMessages([user("a"), { role: "assistant", reasoning_content: "think" }, user("b")]);
    assert.deepEqual(reasoning.messages[1], { role: "assistant", content: [], reasoningContent: "think" });
  });

  it("tool message without a preceding tool_calls message", () => {
    const msg = 'messages with role "tool" must be a response to a preceeding message with "tool_calls"';
    assert.throws(() => withMessages([user("hi"), { role: "tool", content: "r" }]), invalid(msg));
    assert.throws(() => withMessages([{ role: "tool", content: "r" }, user("hi")]), invalid(msg));
  });

  it("tool_calls: arguments objects are serialised, ids defaulted, names required", () => {
    const request = withMessages([
      user("a"),
      { role: "assistant", content: "", tool_calls: [{ function: { name: "f", arguments: { x: 1 } } }, { function: { name: "g" } }] },
      { role: "tool", content: "r" },
    ]);
    assert.deepEqual(request.messages[1]!.toolCalls, [
      { id: "call_0", type: "function", function: { name: "f", arguments: '{"x":1}' } },
      { id: "call_1", type: "function", function: { name: "g", arguments: "{}" } },
    ]);
    assert.throws(
      () => withMessages([user("a"), { role: "assistant", tool_calls: [{ function: { name: "" } }] }, { role: "tool", content: "r" }]),
      invalid("input.messages[1].tool_calls[0].function.name must be a non-empty string."),
    );
    assert.throws(
      () => withMessages([user("a"), { role: "assistant", tool_calls: [{ id: "x" }] }, { role: "tool", content: "r" }]),
      invalid("Parameter input.messages[1].tool_calls[0].function must be an object, got undefined."),
    );
    assert.throws(
      () => withMessages([user("a"), { role: "assistant", tool_calls: {} }, user("b")]),
      invalid("Parameter input.messages[1].tool_calls must be an array, got object."),
    );
  });

  it("last message assistant without partial", () => {
    assert.throws(
      () => withMessages([user("hi"), { role: "assistant", content: "hello" }]),
      invalid('The last message must be a user or tool message (or an assistant message with "partial": true for prefix continuation).'),
    );
  });

  it("last message system -> the captured Role/Content message", () => {
    assert.throws(() => withMessages([{ role: "system", content: "s" }]), invalid(EMPTY_MESSAGE));
  });

  it("partial only on a final assistant message", () => {
    const request = withMessages([user("hi"), { role: "assistant", content: "pre", partial: true }]);
    assert.deepEqual(request.messages[1], { role: "assistant", content: text("pre"), partial: true });
    assert.throws(
      () => withMessages([{ role: "user", content: "hi", partial: true }]),
      invalid('input.messages[0]: "partial" is only allowed on the last message, which must be an assistant message.'),
    );
    assert.throws(
      () => withMessages([user("a"), { role: "assistant", content: "x", partial: true }, user("b")]),
      invalid('input.messages[1]: "partial" is only allowed on the last message, which must be an assistant message.'),
    );
    assert.throws(
      () => withMessages([user("hi"), { role: "assistant", content: "pre", partial: "yes" }]),
      invalid("Parameter input.messages[1].partial must be a boolean, got string."),
    );
    // partial: false is a normal (non-final) assistant turn.
    assert.equal(withMessages([user("a"), { role: "assistant", content: "x", partial: false }, user("b")]).messages[1]!.partial, undefined);
  });

  it("several system messages and an assistant turn first are accepted", () => {
    const request = withMessages([
      { role: "system", content: "s1" },
      { role: "system", content: "fileid://a,fileid://b" },
      { role: "assistant", content: "greeting" },
      user("hi"),
    ]);
    assert.deepEqual(
      request.messages.map((m) => m.role),
      ["system", "system", "assistant", "user"],
    );
  });

  it("name and tool_call_id are kept; wrong types rejected", () => {
    assert.equal(withMessages([{ role: "user", content: "hi", name: "alice" }]).messages[0]!.name, "alice");
    assert.throws(() => withMessages([{ role: "user", content: "hi", name: 3 }]), invalid("Parameter input.messages[0].name must be a string, got number."));
  });
});

describe("decode: content parts", () => {
  it("arrays of {text}, {type:'text',text} and plain strings become text parts", () => {
    const request = withMessages([user([{ text: "a" }, { type: "text", text: "b" }, "c"])]);
    assert.deepEqual(request.messages[0]!.content, [
      { type: "text", text: "a" },
      { type: "text", text: "b" },
      { type: "text", text: "c" },
    ]);
  });

  it("system and tool content arrays (multimodal SDK style) decode too", () => {
    const call = { id: "c1", type: "function", function: { name: "f", arguments: "{}" } };
    const request = withMessages([
      { role: "system", content: [{ text: "sys" }] },
      user("q"),
      { role: "assistant", content: [], tool_calls: [call] },
      { role: "tool", content: [{ text: "result" }], tool_call_id: "c1" },
    ]);
    assert.deepEqual(request.messages[0]!.content, text("sys"));
    assert.deepEqual(request.messages[3]!.content, text("result"));
  });

  it("cache_control ephemeral is kept; other values rejected", () => {
    const request = withMessages([user([{ type: "text", text: "a", cache_control: { type: "ephemeral" } }])]);
    assert.deepEqual(request.messages[0]!.content, [{ type: "text", text: "a", cacheControl: { type: "ephemeral" } }]);
    assert.throws(
      () => withMessages([user([{ text: "a", cache_control: { type: "persistent" } }])]),
      invalid('input.messages[0].content[0].cache_control must be {"type": "ephemeral"}.'),
    );
  });

  it("media parts are rejected with a message naming the multimodal endpoint", () => {
    const parts: [unknown, string][] = [
      [{ image: "https://x/y.png" }, "image"],
      [{ type: "image", image: "https://x/y.png" }, "image"],
      [{ video: ["a.jpg", "b.jpg", "c.jpg", "d.jpg"] }, "video"],
      [{ video: "oss://v.mp4", fps: 2 }, "video"],
      [{ audio: "https://x/a.mp3" }, "audio"],
      [{ type: "image_url", image_url: { url: "https://x/y.png" } }, "image_url"],
    ];
    for (const [part, kind] of parts) {
      assert.throws(
        () => withMessages([user([{ text: "what is this?" }, part])]),
        invalid(`input.messages[0].content[1] is a ${kind} item: media input is served on ${MULTIMODAL_PATH} by a model that supports it.`),
      );
    }
  });

  it("document parts (doc_url) are refused without pointing at the multimodal endpoint", () => {
    assert.throws(
      () =>
        withMessages([
          user([
            { type: "text", text: "summarise" },
            { type: "doc_url", doc_url: ["https://x/a.pdf"], file_parsing_strategy: "auto" },
          ]),
        ]),
      invalid("input.messages[0].content[1] is a doc_url item: document input is not supported here; send the document's text as a text part."),
    );
  });

  it("parts without text or a known modality, or of the wrong type", () => {
    assert.throws(() => withMessages([user([{ foo: "bar" }])]), invalid("Parameter input.messages[0].content[0].text must be a string, got undefined."));
    assert.throws(() => withMessages([user([{ text: 5 }])]), invalid("Parameter input.messages[0].content[0].text must be a string, got number."));
    assert.throws(() => withMessages([user([5])]), invalid("Parameter input.messages[0].content[0] must be an object, got number."));
    assert.throws(() => withMessages([user(5)]), invalid("Parameter input.messages[0].content must be a string or an array of content parts, got number."));
    assert.throws(
      () => withMessages([user({ text: "a" })]),
      invalid("Parameter input.messages[0].content must be a string or an array of content parts, got object."),
    );
  });
});

describe("decode: parameters", () => {
  /** Every out-of-range or mistyped value with the message the real server (or its docs) uses. */
  const rejected: [string, Record<string, unknown>, string][] = [
    ["temperature 2", { temperature: 2 }, "Temperature should be in [0.0, 2.0)"],
    ["temperature -0.1", { temperature: -0.1 }, "Temperature should be in [0.0, 2.0)"],
    ["temperature '0.5'", { temperature: "0.5" }, "'temperature' must be Float"],
    ["temperature true", { temperature: true }, "'temperature' must be Float"],
    ["top_p 0", { top_p: 0 }, "Range of top_p should be (0.0, 1.0]"],
    ["top_p 1.01", { top_p: 1.01 }, "Range of top_p should be (0.0, 1.0]"],
    ["top_p '0.8'", { top_p: "0.8" }, "'top_p' must be Float"],
    ["top_k -1", { top_k: -1 }, "Parameter top_k be greater than or equal to 0"],
    ["top_k 1.5", { top_k: 1.5 }, "Parameter top_k must be an integer, got number."],
    ["top_k '5'", { top_k: "5" }, "Parameter top_k must be an integer, got string."],
    ["repetition_penalty 0", { repetition_penalty: 0 }, "Repetition_penalty should be greater than 0.0"],
    ["repetition_penalty -1", { repetition_penalty: -1 }, "Repetition_penalty should be greater than 0.0"],
    ["repetition_penalty '1.1'", { repetition_penalty: "1.1" }, "Parameter repetition_penalty must be a number, got string."],
    ["presence_penalty 3", { presence_penalty: 3 }, "Presence_penalty should be in [-2.0, 2.0]"],
    ["presence_penalty -2.5", { presence_penalty: -2.5 }, "Presence_penalty should be in [-2.0, 2.0]"],
    ["n 5", { n: 5, result_format: "message" }, "Range of n should be [1, 4]"],
    ["n 0", { n: 0, result_format: "message" }, "Range of n should be [1, 4]"],
    ["n 1.5", { n: 1.5, result_format: "message" }, "Parameter n must be an integer, got number."],
    ["seed -1", { seed: -1 }, "Range of seed should be [0, 2147483647]"],
    ["seed 2^31", { seed: 2 ** 31 }, "Range of seed should be [0, 2147483647]"],
    ["seed 1.5", { seed: 1.5 }, "Parameter seed must be an integer, got number."],
    ["max_tokens 0", { max_tokens: 0 }, "Range of max_tokens should be [1, +inf)"],
    ["max_tokens -5", { max_tokens: -5 }, "Range of max_tokens should be [1, +inf)"],
    ["max_tokens 1.5", { max_tokens: 1.5 }, "Parameter max_tokens must be an integer, got number."],
    ["max_completion_tokens 0", { max_completion_tokens: 0 }, "Range of max_completion_tokens should be [1, +inf)"],
    ["stop mixed types", { stop: ["你好", 104307] }, STOP_TYPE_MESSAGE],
    ["stop a number", { stop: 5 }, STOP_TYPE_MESSAGE],
    ["stop an object", { stop: { a: 1 } }, STOP_TYPE_MESSAGE],
    ["stop mixed id lists", { stop: [[1, 2], 3] }, STOP_TYPE_MESSAGE],
    ["stop a list with a string inside", { stop: [[1, "a"]] }, STOP_TYPE_MESSAGE],
    ["stop an empty id list", { stop: [[]] }, STOP_TYPE_MESSAGE],
    ["stop a negative id", { stop: [-1] }, STOP_TYPE_MESSAGE],
    ["result_format invalid", { result_format: "json" }, 'result_format must be "text" or "message", got "json".'],
    ["result_format of the wrong type", { result_format: 1 }, "Parameter result_format must be a string, got number."],
    ["incremental_output a string", { incremental_output: "true" }, "Parameter incremental_output must be a boolean, got string."],
    ["n>1 with result_format text", { n: 2, result_format: "text" }, 'Parameter n greater than 1 requires result_format "message".'],
    ["n>1 with the default result_format", { n: 2 }, 'Parameter n greater than 1 requires result_format "message".'],
  ];
  for (const [label, parameters, message] of rejected) {
    it(`${label} -> 400 InvalidParameter "${message}"`, () => {
      assert.throws(() => withParams(parameters), invalid(message));
    });
  }

  it("the exact stop message text", () => {
    assert.equal(
      STOP_TYPE_MESSAGE,
      'The "stop" parameter must be of type "str", "list[str]", "list[int]", or "list[list[int]]", and all elements within the list must be of the same type.',
    );
  });

  it("boundary values are accepted", () => {
    const s = (p: Record<string, unknown>) => withParams({ result_format: "message", ...p }).request.sampling;
    assert.equal(s({ temperature: 0 }).temperature, 0);
    assert.equal(s({ temperature: 1 }).temperature, 1);
    assert.equal(s({ temperature: 1.99 }).temperature, 1.99);
    assert.equal(s({ top_p: 1 }).topP, 1);
    assert.equal(s({ top_p: 0.0001 }).topP, 0.0001);
    assert.equal(s({ repetition_penalty: 0.01 }).repetitionPenalty, 0.01);
    assert.equal(s({ repetition_penalty: 5 }).repetitionPenalty, 5);
    assert.equal(s({ presence_penalty: -2 }).presencePenalty, -2);
    assert.equal(s({ presence_penalty: 2 }).presencePenalty, 2);
    assert.equal(s({ seed: 0 }).seed, 0);
    assert.equal(s({ seed: 2 ** 31 - 1 }).seed, 2 ** 31 - 1);
    assert.equal(s({ n: 1 }).n, 1);
    assert.equal(s({ n: 4 }).n, 4);
    assert.equal(s({ max_tokens: 1 }).maxTokens, 1);
    assert.equal(s({ temperature: null, top_p: null, seed: null }).temperature, undefined);
  });

  it("top_k: 0 and 1..100 kept, above 100 disables (0), null/absent leaves it unset", () => {
    const topK = (v: unknown) => withParams({ top_k: v }).request.sampling.topK;
    assert.equal(topK(0), 0);
    assert.equal(topK(1), 1);
    assert.equal(topK(100), 100);
    assert.equal(topK(101), 0);
    assert.equal(topK(100000), 0);
    assert.equal(topK(null), undefined);
    assert.equal("topK" in withParams({}).request.sampling, false);
  });

  it("max_tokens wins over max_completion_tokens; either alone works", () => {
    assert.equal(withParams({ max_tokens: 10, max_completion_tokens: 20 }).request.sampling.maxTokens, 10);
    assert.equal(withParams({ max_completion_tokens: 20 }).request.sampling.maxTokens, 20);
  });

  it("stop forms: str, list[str], list[int], list[list[int]]; empty strings dropped", () => {
    const stop = (v: unknown) => withParams({ stop: v }).request.sampling.stop;
    assert.deepEqual(stop("你好"), { strings: ["你好"], tokenIds: [] });
    assert.deepEqual(stop(""), { strings: [], tokenIds: [] });
    assert.deepEqual(stop(["a", "", "b"]), { strings: ["a", "b"], tokenIds: [] });
    assert.deepEqual(stop([37763, 367]), { strings: [], tokenIds: [[37763], [367]] });
    assert.deepEqual(stop([[37763, 367], [1]]), { strings: [], tokenIds: [[37763, 367], [1]] });
    assert.deepEqual(stop([]), { strings: [], tokenIds: [] });
    assert.deepEqual(stop(null), { strings: [], tokenIds: [] });
  });

  it("result_format and incremental_output shape the response", () => {
    assert.deepEqual(withParams({ result_format: "message", incremental_output: true }).shape, {
      resultFormat: "message",
      incrementalOutput: true,
    });
    assert.deepEqual(withParams({ result_format: "text" }).shape, { resultFormat: "text", incrementalOutput: false });
    assert.equal(withParams({ n: 3, result_format: "message" }).request.sampling.n, 3);
  });
});

describe("decode: features", () => {
  it("tools, tool_choice, parallel_tool_calls", () => {
    const tool = { type: "function", function: { name: "f", description: "d", parameters: {} } };
    const { features } = withParams({ result_format: "message", tools: [tool], tool_choice: "auto", parallel_tool_calls: true }).request;
    assert.deepEqual(features, { tools: [{ name: "f", description: "d", parameters: {} }], toolChoice: { type: "auto" }, parallelToolCalls: true });
    assert.deepEqual(withParams({ tools: [] }).request.features, {});
    assert.deepEqual(
      withParams({ tools: [{ function: { name: "g" } }] }).request.features.tools,
      [{ name: "g", parameters: {} }],
      "type and parameters optional",
    );
    assert.deepEqual(withParams({ tools: [tool], tool_choice: { type: "function", function: { name: "f" } } }).request.features.toolChoice, {
      type: "function",
      name: "f",
    });
    assert.deepEqual(withParams({ tool_choice: "none" }).request.features, {}, "tool_choice without tools changes nothing");
    assert.throws(() => withParams({ tools: {} }), invalid("Parameter tools must be an array, got object."));
    assert.throws(() => withParams({ parallel_tool_calls: "yes" }), invalid("Parameter parallel_tool_calls must be a boolean, got string."));
    assert.throws(() => withParams({ tools: [tool], tool_choice: "required" }), invalid(TOOL_CHOICE_MESSAGE));
    assert.throws(
      () => withParams({ tools: [tool], tool_choice: { type: "function", function: { name: "zz" } } }),
      invalid(/"zz", which is not among the tools/),
    );
    assert.throws(() => withParams({ tools: [{ type: "retrieval", function: { name: "f" } }] }), invalid(/tools\[0\]\.type must be "function"/));
    assert.throws(
      () => withParams({ tools: [{ type: "function", function: { name: "bad name" } }] }),
      invalid(/tools\[0\]\.function\.name must be 1 to 64 letters/),
    );
    assert.throws(() => withParams({ tools: [tool, tool] }), invalid(/"f" is used twice/));
    assert.throws(() => withParams({ tools: [{ function: { name: "f", parameters: "x" } }] }), invalid(/parameters must be an object/));
  });

  it("enable_thinking and thinking_budget (the budget's range is the model's: checked by the pipeline)", () => {
    assert.deepEqual(withParams({ enable_thinking: true }).request.features.thinking, { enabled: true });
    assert.deepEqual(withParams({ enable_thinking: false, thinking_budget: 50 }).request.features.thinking, { enabled: false, budget: 50 });
    assert.deepEqual(withParams({ thinking_budget: 50 }).request.features.thinking, { budget: 50 });
    assert.equal(withParams({}).request.features.thinking, undefined);
    assert.throws(() => withParams({ thinking_budget: 1.5 }), invalid("Parameter thinking_budget must be an integer, got number."));
  });

  it("response_format: text, json_object, json_schema, and the real server's message for unknown shapes", () => {
    assert.equal(withParams({ response_format: { type: "text" } }).request.features.responseFormat, undefined);
    assert.deepEqual(withParams({ response_format: { type: "json_object" } }).request.features.responseFormat, { type: "json_object" });
    const schema = { type: "object", properties: { a: { type: "string" } } };
    assert.deepEqual(
      withParams({ response_format: { type: "json_schema", json_schema: { name: "r-1", schema, strict: true } } }).request.features.responseFormat,
      {
        type: "json_schema",
        name: "r-1",
        schema,
        strict: true,
      },
    );
    assert.throws(() => withParams({ response_format: { type: "yaml" } }), invalid(unknownResponseFormatMessage("yaml")));
    assert.equal(
      unknownResponseFormatMessage("yaml"),
      "Unknown format of response_format, response_format should be a dict, includes 'type' and an optional key 'json_schema'. The response_format type from user is yaml.",
    );
    assert.throws(() => withParams({ response_format: "json" }), invalid(unknownResponseFormatMessage("json")));
    assert.throws(() => withParams({ response_format: { type: "json_schema" } }), invalid(/needs a "json_schema" object/));
    assert.throws(() => withParams({ response_format: { type: "json_schema", json_schema: { name: "a b" } } }), invalid(/name must be 1 to 64/));
  });

  it("logit_bias: token ids to biases in [-100, 100]", () => {
    assert.deepEqual(withParams({ logit_bias: { "9909": -100, "12": 5.5 } }).request.sampling.logitBias, [
      [12, 5.5],
      [9909, -100],
    ]);
    assert.equal(withParams({ logit_bias: {} }).request.sampling.logitBias, undefined);
    assert.throws(() => withParams({ logit_bias: { abc: 1 } }), invalid(/keys must be token ids/));
    assert.throws(() => withParams({ logit_bias: { "1": 101 } }), invalid(/must be a number in \[-100, 100\]/));
    assert.throws(() => withParams({ logit_bias: [1] }), invalid(/logit_bias must be an object/));
  });

  it("logprobs / top_logprobs (top_logprobs alone is ignored)", () => {
    assert.deepEqual(withParams({ logprobs: true }).request.features.logprobs, { topLogprobs: 0 });
    assert.deepEqual(withParams({ logprobs: true, top_logprobs: 5 }).request.features.logprobs, { topLogprobs: 5 });
    assert.equal(withParams({ logprobs: false, top_logprobs: 2 }).request.features.logprobs, undefined);
    assert.throws(() => withParams({ logprobs: true, top_logprobs: 6 }), invalid("Range of top_logprobs should be [0, 5]"));
  });

  it("enable_search with and without search_options (typed, defaults per the reference)", () => {
    const defaults = {
      forced: false,
      enableSource: false,
      enableCitation: false,
      citationFormat: "[<number>]",
      strategy: "turbo",
      prependSearchResult: false,
      enableSearchExtension: false,
    };
    assert.deepEqual(withParams({ enable_search: true }).request.features.search, defaults);
    assert.deepEqual(withParams({ enable_search: true, search_options: { search_strategy: "standard" } }).request.features.search, {
      ...defaults,
      strategy: "standard",
    });
    assert.deepEqual(
      withParams({
        enable_search: true,
        search_options: {
          enable_source: true,
          enable_citation: true,
          citation_format: "[ref_<number>]",
          forced_search: true,
          search_strategy: "max",
          prepend_search_result: true,
          enable_search_extension: true,
          something_new: 1,
        },
      }).request.features.search,
      {
        forced: true,
        enableSource: true,
        enableCitation: true,
        citationFormat: "[ref_<number>]",
        strategy: "max",
        prependSearchResult: true,
        enableSearchExtension: true,
      },
    );
    assert.equal(withParams({ enable_search: false, search_options: { forced_search: true } }).request.features.search, undefined);
    assert.equal(withParams({ enable_search: false, search_options: "junk" }).request.features.search, undefined);
  });

  it("search_options: wrong types and values are 400 InvalidParameter naming parameters.search_options.<field>", () => {
    assert.throws(
      () => withParams({ enable_search: true, search_options: "x" }),
      invalid("Parameter parameters.search_options must be an object, got string."),
    );
    assert.throws(() => withParams({ enable_search: true, search_options: [] }), invalid("Parameter parameters.search_options must be an object, got array."));
    for (const key of ["forced_search", "enable_source", "enable_citation", "prepend_search_result", "enable_search_extension"]) {
      assert.throws(
        () => withParams({ enable_search: true, search_options: { [key]: "yes" } }),
        invalid(`Parameter parameters.search_options.${key} must be a boolean, got string.`),
      );
    }
    assert.throws(
      () => withParams({ enable_search: true, search_options: { search_strategy: "fast" } }),
      invalid('Parameter parameters.search_options.search_strategy must be one of "turbo", "standard", "max", "agent", got "fast".'),
    );
    assert.throws(
      () => withParams({ enable_search: true, search_options: { search_strategy: 3 } }),
      invalid("Parameter parameters.search_options.search_strategy must be a string, got number."),
    );
    assert.throws(
      () => withParams({ enable_search: true, search_options: { citation_format: "(1)" } }),
      invalid('Parameter parameters.search_options.citation_format must be one of "[<number>]", "[ref_<number>]", got "(1)".'),
    );
  });
});

describe("wantsStream", () => {
  it("X-DashScope-SSE: enable (any case, padded) streams", () => {
    assert.equal(wantsStream({ "x-dashscope-sse": "enable" }), true);
    assert.equal(wantsStream({ "x-dashscope-sse": " Enable " }), true);
    assert.equal(wantsStream({ "x-dashscope-sse": ["disable", "enable"] }), true);
  });

  it("X-DashScope-SSE with another value does not", () => {
    assert.equal(wantsStream({ "x-dashscope-sse": "disable" }), false);
    assert.equal(wantsStream({ "x-dashscope-sse": "" }), false);
  });

  it("Accept containing text/event-stream streams", () => {
    assert.equal(wantsStream({ accept: "text/event-stream" }), true);
    assert.equal(wantsStream({ accept: "application/json, Text/Event-Stream;q=0.9" }), true);
    assert.equal(wantsStream({ accept: ["application/json", "text/event-stream"] }), true);
  });

  it("neither header: JSON", () => {
    assert.equal(wantsStream({}), false);
    assert.equal(wantsStream({ accept: "*/*" }), false);
    assert.equal(wantsStream({ accept: "application/json", "x-dashscope-sse": undefined }), false);
  });
});
