import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../../core/errors.ts";
import { EMPTY_MESSAGE } from "./index.ts";
import { CAPTURES_SKIP, keysOf, readCaptureJson, requestLine, responseStatus, warnIfCapturesAbsent } from "../../../test/helpers/captures.ts";
import { decodeTokenize, encodeTokenize } from "./tokenizer.ts";

warnIfCapturesAbsent("tokenizer.test.ts");

type Json = Record<string, any>;

function apiError(status: number, code: string, message: string) {
  return (error: unknown): true => {
    assert.ok(error instanceof ApiError, `expected ApiError, got ${String(error)}`);
    assert.equal(error.status, status);
    assert.equal(error.code, code);
    assert.equal(error.message, message);
    return true;
  };
}

const text = (t: string) => [{ type: "text", text: t }];

describe("tokenizer: real capture", () => {
  it("tokenization-nosse: the request decodes to its model and messages", { skip: CAPTURES_SKIP }, () => {
    assert.match(requestLine("tokenization-nosse"), /^POST \/api\/v1\/tokenizer /);
    const decoded = decodeTokenize(readCaptureJson("tokenization-nosse", "request.body.json"));
    assert.deepEqual(decoded, { model: "qwen-max", input: { messages: [{ role: "user", content: text("代码改变世界") }] } });
  });

  it("tokenization-nosse: encodeTokenize has the captured shape (plus output.prompt)", { skip: CAPTURES_SKIP }, () => {
    const captured = readCaptureJson("tokenization-nosse", "response.body.txt") as Json;
    assert.equal(responseStatus("tokenization-nosse"), 200);
    const body = encodeTokenize(
      {
        tokenIds: captured.output.token_ids,
        tokens: captured.output.tokens,
        prompt: "<|im_start|>user\n代码改变世界<|im_end|>\n<|im_start|>assistant\n",
      },
      captured.request_id,
    ) as Json;
    assert.deepEqual(keysOf(body), keysOf(captured));
    assert.deepEqual(keysOf(body.usage), keysOf(captured.usage));
    // `prompt` is not in the capture; the Python SDK's fixture and Java's TokenizationOutput carry it (protocol.md §8).
    assert.deepEqual(keysOf(body.output), [...keysOf(captured.output), "prompt"].sort());
    const { prompt: _prompt, ...output } = body.output;
    assert.deepEqual({ ...body, output }, captured);
  });
});

describe("decodeTokenize", () => {
  it("prompt only -> { prompt }", () => {
    assert.deepEqual(decodeTokenize({ model: "m", input: { prompt: "hello" } }), { model: "m", input: { prompt: "hello" } });
  });

  it("messages -> { messages }, checked like generation messages", () => {
    assert.deepEqual(
      decodeTokenize({
        model: "m",
        input: {
          messages: [
            { role: "system", content: "s" },
            { role: "user", content: "u" },
          ],
        },
      }),
      {
        model: "m",
        input: {
          messages: [
            { role: "system", content: text("s") },
            { role: "user", content: text("u") },
          ],
        },
      },
    );
    assert.throws(() => decodeTokenize({ model: "m", input: { messages: [] } }), apiError(400, "InvalidParameter", EMPTY_MESSAGE));
    assert.throws(
      () => decodeTokenize({ model: "m", input: { messages: [{ role: "user" }] } }),
      apiError(400, "InvalidParameter", "The content field is a required field."),
    );
  });

  it("history + prompt and prompt + messages become messages", () => {
    assert.deepEqual(decodeTokenize({ model: "m", input: { history: [{ user: "a", bot: "b" }], prompt: "c" } }).input, {
      messages: [
        { role: "user", content: text("a") },
        { role: "assistant", content: text("b") },
        { role: "user", content: text("c") },
      ],
    });
    assert.deepEqual(decodeTokenize({ model: "m", input: { messages: [{ role: "user", content: "a" }], prompt: "c" } }).input, {
      messages: [
        { role: "user", content: text("a") },
        { role: "user", content: text("c") },
      ],
    });
  });

  it("envelope errors: model, input, neither prompt nor messages", () => {
    assert.throws(() => decodeTokenize({ input: { prompt: "x" } }), apiError(400, "BadRequest.EmptyModel", 'Required parameter "model" missing from request.'));
    assert.throws(() => decodeTokenize({ model: "m" }), apiError(400, "BadRequest.EmptyInput", "Required input parameter missing from request."));
    assert.throws(
      () => decodeTokenize({ model: "m", input: {} }),
      apiError(400, "InvalidParameter", 'Either "prompt" or "messages" must exist and cannot both be none'),
    );
    assert.throws(() => decodeTokenize({ model: "m", input: { prompt: "" } }), apiError(400, "InvalidParameter", EMPTY_MESSAGE));
    assert.throws(() => decodeTokenize("x"), apiError(400, "InvalidParameter", "The request body must be a JSON object."));
  });
});

describe("encodeTokenize", () => {
  it("output.token_ids / tokens / prompt, usage.input_tokens = number of ids, request_id", () => {
    assert.deepEqual(encodeTokenize({ tokenIds: [1, 2, 3], tokens: ["a", "b", "c"], prompt: "abc" }, "rid"), {
      output: { token_ids: [1, 2, 3], tokens: ["a", "b", "c"], prompt: "abc" },
      usage: { input_tokens: 3 },
      request_id: "rid",
    });
    assert.deepEqual(encodeTokenize({ tokenIds: [], tokens: [], prompt: "" }, "r"), {
      output: { token_ids: [], tokens: [], prompt: "" },
      usage: { input_tokens: 0 },
      request_id: "r",
    });
  });
});
