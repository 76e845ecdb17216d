import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../../core/errors.ts";
import { NativeFrameTranslator } from "./frameEvents.ts";

const result = (data: unknown) => ({ event: "result", status: 200, data: JSON.stringify(data) });

describe("NativeFrameTranslator", () => {
  it("turns result frames into deltas and a finish with the frame's usage", () => {
    const translator = new NativeFrameTranslator();
    const first = translator.translate(
      result({
        output: { choices: [{ message: { role: "assistant", content: "", reasoning_content: "Hmm" }, finish_reason: "null" }] },
        usage: { input_tokens: 8, output_tokens: 1, output_tokens_details: { reasoning_tokens: 1 } },
        request_id: "r",
      }),
    );
    assert.deepEqual(first, [{ type: "delta", index: 0, reasoning: "Hmm", usage: { inputTokens: 8, outputTokens: 1, reasoningTokens: 1 } }]);
    const last = translator.translate(
      result({
        output: { choices: [{ message: { role: "assistant", content: [{ text: "Hi" }, { audio: { id: "a" } }] }, finish_reason: "stop" }] },
        usage: { input_tokens: 8, output_tokens: 2, prompt_tokens_details: { cached_tokens: 4 } },
      }),
    );
    const usage = { inputTokens: 8, outputTokens: 2, cachedTokens: 4 };
    assert.deepEqual(last, [
      { type: "delta", index: 0, content: "Hi", usage },
      { type: "finish", index: 0, reason: "stop", usage },
    ]);
    assert.deepEqual(translator.unfinished(), []);
  });

  it("passes tool call pieces on: id and name on the first, arguments after", () => {
    const call = (c: unknown) => result({ output: { choices: [{ message: { role: "assistant", content: "", tool_calls: [c] }, finish_reason: "null" }] } });
    const translator = new NativeFrameTranslator();
    const first = translator.translate(call({ index: 0, id: "call_1", type: "function", function: { name: "get_weather", arguments: "" } }));
    const next = translator.translate(call({ index: 0, function: { arguments: '{"city":' } }));
    assert.deepEqual(first[0]?.type === "delta" && first[0].toolCalls, [{ index: 0, id: "call_1", name: "get_weather", arguments: "" }]);
    assert.deepEqual(next[0]?.type === "delta" && next[0].toolCalls, [{ index: 0, arguments: '{"city":' }]);
  });

  it("an error frame is the endpoint's error, with its status and code", () => {
    const frame = { event: "error", status: 429, data: '{"code":"Throttling","message":"Requests throttling triggered.","request_id":"r"}' };
    assert.throws(
      () => new NativeFrameTranslator().translate(frame),
      (error: unknown) =>
        error instanceof ApiError && error.status === 429 && error.code === "Throttling" && error.message === "Requests throttling triggered.",
    );
  });

  const malformed: Record<string, { event: string; data: string }> = {
    "a frame that is not JSON": { event: "result", data: "{oops" },
    "choices not a list": { event: "result", data: '{"output": {"choices": "none"}}' },
    "a null choice": { event: "result", data: '{"output": {"choices": [null]}}' },
    "content as a number": { event: "result", data: '{"output": {"choices": [{"message": {"content": 1}}]}}' },
    "usage counts as text": { event: "result", data: '{"output": {"choices": []}, "usage": {"input_tokens": "8"}}' },
    "an error frame's code as a number": { event: "error", data: '{"code": 500, "message": "x"}' },
  };
  for (const [name, frame] of Object.entries(malformed)) {
    it(`${name}: a ModelUnavailable error, not a TypeError`, () => {
      assert.throws(
        () => new NativeFrameTranslator().translate(frame),
        (error: unknown) => {
          assert.ok(error instanceof ApiError, `${name}: ${String(error)}`);
          assert.equal(error.code, "ModelUnavailable");
          assert.match(error.message, /^The upstream DashScope endpoint sent a frame that (is not JSON|does not have the expected shape \(.+\)): /);
          return true;
        },
      );
    });
  }
});
