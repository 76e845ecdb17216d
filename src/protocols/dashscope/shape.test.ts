import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../../core/errors.ts";
import type { GenerationRequest, RequestedFeatures } from "../../core/types.ts";
import type { RequestedShape } from "./decode.ts";
import { finalizeShape, STRICT_MESSAGES, type ShapeContext } from "./shape.ts";

function request(features: RequestedFeatures = {}): GenerationRequest {
  return {
    requestId: "req-1",
    model: "qwen3-8b",
    messages: [{ role: "user", content: [{ type: "text", text: "Hello" }] }],
    sampling: { stop: { strings: [], tokenIds: [] }, n: 1 },
    features,
  };
}

const TOOLS: RequestedFeatures["tools"] = [{ name: "get_weather", parameters: { type: "object" } }];
const THINKING: RequestedFeatures = { thinking: { enabled: true, budget: 100 } };
const LENIENT: ShapeContext = { stream: false, strict: false };
const STREAM: RequestedShape = { incrementalOutput: true };

function invalidParameter(message: string) {
  return (error: unknown): true => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 400);
    assert.equal(error.code, "InvalidParameter");
    assert.equal(error.message, message);
    return true;
  };
}

describe("finalizeShape", () => {
  it("answers in text by default", () => {
    assert.deepEqual(finalizeShape({ incrementalOutput: false }, request(), LENIENT), {
      resultFormat: "text",
      incrementalOutput: false,
      reasoning: false,
      logprobs: false,
    });
  });

  it("keeps the format and incremental_output the client chose", () => {
    const shape = finalizeShape({ resultFormat: "message", incrementalOutput: true }, request(), { stream: true, strict: false });
    assert.equal(shape.resultFormat, "message");
    assert.equal(shape.incrementalOutput, true);
  });

  it("answers in message format when tools, logprobs or thinking need it", () => {
    for (const features of [{ tools: TOOLS }, { logprobs: { topLogprobs: 0 } }, THINKING]) {
      assert.equal(finalizeShape({ incrementalOutput: false }, request(features), LENIENT).resultFormat, "message", JSON.stringify(features));
    }
    assert.equal(finalizeShape({ incrementalOutput: false }, request({ thinking: { enabled: false } }), LENIENT).resultFormat, "text");
  });

  it("refuses text format with tools or logprobs", () => {
    assert.throws(
      () => finalizeShape({ resultFormat: "text", incrementalOutput: false }, request({ tools: TOOLS }), LENIENT),
      invalidParameter('The result_format parameter must be "message" when tools are given.'),
    );
    assert.throws(
      () => finalizeShape({ resultFormat: "text", incrementalOutput: false }, request({ logprobs: { topLogprobs: 2 } }), LENIENT),
      invalidParameter('The result_format parameter must be "message" when logprobs is true.'),
    );
  });

  it("sets reasoning from thinking.enabled and logprobs from the request", () => {
    const shape = (features: RequestedFeatures) => finalizeShape({ incrementalOutput: false }, request(features), LENIENT);
    assert.equal(shape(THINKING).reasoning, true);
    assert.equal(shape({ thinking: { enabled: false } }).reasoning, false);
    assert.equal(shape({}).reasoning, false);
    assert.equal(shape({ logprobs: { topLogprobs: 3 } }).logprobs, true);
    assert.equal(shape({}).logprobs, false);
  });

  it("serves non-stream thinking and cumulative thinking streams when not strict", () => {
    assert.equal(finalizeShape({ incrementalOutput: false }, request(THINKING), LENIENT).reasoning, true);
    const cumulative = finalizeShape({ incrementalOutput: false }, request(THINKING), { stream: true, strict: false });
    assert.deepEqual(cumulative, { resultFormat: "message", incrementalOutput: false, reasoning: true, logprobs: false });
  });
});

describe("finalizeShape in strict mode", () => {
  const strictStream: ShapeContext = { stream: true, strict: true };
  // [case, requested shape, features (thinking on), context, the real server's message]
  const refusals: Array<[string, RequestedShape, RequestedFeatures, ShapeContext, string]> = [
    ["a non-stream call", STREAM, THINKING, { stream: false, strict: true }, STRICT_MESSAGES.nonStreamThinking],
    ["incremental_output false", { incrementalOutput: false }, THINKING, strictStream, STRICT_MESSAGES.cumulativeThinking],
    ["an explicit text format", { resultFormat: "text", incrementalOutput: true }, THINKING, strictStream, STRICT_MESSAGES.textThinking],
    ["response_format", STREAM, { ...THINKING, responseFormat: { type: "json_object" } }, strictStream, STRICT_MESSAGES.jsonThinking],
    [
      "forced tool_choice",
      STREAM,
      { ...THINKING, tools: TOOLS, toolChoice: { type: "function", name: "get_weather" } },
      strictStream,
      STRICT_MESSAGES.forcedToolThinking,
    ],
  ];

  for (const [label, requested, features, context, message] of refusals) {
    it(`refuses thinking with ${label} like the real server`, () => {
      assert.throws(() => finalizeShape(requested, request(features), context), invalidParameter(message));
    });
  }

  it("serves an incremental thinking stream in message format, with tool_choice auto", () => {
    const shape = finalizeShape(STREAM, request({ ...THINKING, tools: TOOLS, toolChoice: { type: "auto" } }), strictStream);
    assert.deepEqual(shape, { resultFormat: "message", incrementalOutput: true, reasoning: true, logprobs: false });
  });

  it("refuses nothing when thinking is off", () => {
    for (const [label, requested, features, context] of refusals) {
      const off = { ...features, thinking: { enabled: false } };
      assert.doesNotThrow(() => finalizeShape(requested, request(off), context), label);
      assert.equal(finalizeShape(requested, request(off), context).reasoning, false);
    }
  });
});
