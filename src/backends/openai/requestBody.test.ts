import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { GenerationRequest } from "../../core/types.ts";
import { KIND_TRAITS } from "./kinds.ts";
import { upstreamBody } from "./requestBody.ts";

type Json = any;

function request(over: Partial<GenerationRequest["sampling"]> = {}, features: GenerationRequest["features"] = {}): GenerationRequest {
  return {
    requestId: "r",
    model: "qwen-plus",
    messages: [
      { role: "user", content: [{ type: "text", text: "hi" }] },
      { role: "assistant", content: [], toolCalls: [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }] },
      { role: "tool", content: [{ type: "text", text: "ok" }], toolCallId: "call_1" },
    ],
    sampling: { stop: { strings: [], tokenIds: [] }, n: 1, ...over },
    features,
  };
}

describe("upstreamBody: one core request, each engine's dialect", () => {
  it("always streams with usage; continuous usage where the engine has it", () => {
    assert.deepEqual((upstreamBody(request(), "m", KIND_TRAITS.vllm, 1) as Json).stream_options, { include_usage: true, continuous_usage_stats: true });
    assert.deepEqual((upstreamBody(request(), "m", KIND_TRAITS.ollama, 1) as Json).stream_options, { include_usage: true });
  });

  it("top_k and its off value, the repetition penalty's field name per kind", () => {
    const off = request({ topK: 0, repetitionPenalty: 1.1 });
    assert.equal((upstreamBody(off, "m", KIND_TRAITS.vllm, 1) as Json).top_k, -1);
    assert.equal((upstreamBody(off, "m", KIND_TRAITS["llama-server"], 1) as Json).top_k, 0);
    assert.equal((upstreamBody(off, "m", KIND_TRAITS.openai, 1) as Json).top_k, undefined);
    assert.equal((upstreamBody(off, "m", KIND_TRAITS.sglang, 1) as Json).repetition_penalty, 1.1);
    assert.equal((upstreamBody(off, "m", KIND_TRAITS["llama-server"], 1) as Json).repeat_penalty, 1.1);
    assert.equal((upstreamBody(off, "m", KIND_TRAITS.ollama, 1) as Json).repeat_penalty, undefined);
  });

  it("Qwen3 thinking: chat_template_kwargs for vLLM/SGLang/llama-server, top-level switch and budget for DashScope's compatible mode", () => {
    const thinking = request({}, { thinking: { enabled: true, budget: 50 } });
    assert.deepEqual((upstreamBody(thinking, "m", KIND_TRAITS.vllm, 1) as Json).chat_template_kwargs, { enable_thinking: true });
    const compat = upstreamBody(thinking, "m", KIND_TRAITS["dashscope-compatible"], 1) as Json;
    assert.equal(compat.enable_thinking, true);
    assert.equal(compat.thinking_budget, 50);
    assert.equal((upstreamBody(thinking, "m", KIND_TRAITS.openai, 1) as Json).chat_template_kwargs, undefined);
  });

  it("json_object as a schema for llama-server, which only constrains given one", () => {
    const json = request({}, { responseFormat: { type: "json_object" } });
    assert.deepEqual((upstreamBody(json, "m", KIND_TRAITS.vllm, 1) as Json).response_format, { type: "json_object" });
    assert.deepEqual((upstreamBody(json, "m", KIND_TRAITS["llama-server"], 1) as Json).response_format.json_schema.schema, { type: "object" });
  });

  it("stop token ids as stop_token_ids (single tokens) or as id lists in stop", () => {
    const ids = request({ stop: { strings: [], tokenIds: [[7], [9]] } });
    assert.deepEqual((upstreamBody(ids, "m", KIND_TRAITS.vllm, 1) as Json).stop_token_ids, [7, 9]);
    assert.deepEqual((upstreamBody(ids, "m", KIND_TRAITS["dashscope-compatible"], 1) as Json).stop, [[7], [9]]);
  });

  it("messages keep tool calls and results; fan-out seeds differ per choice; tools, format and logprobs pass through", () => {
    const body = upstreamBody(
      request(
        { seed: 10 },
        {
          tools: [{ name: "f", parameters: {} }],
          toolChoice: { type: "function", name: "f" },
          responseFormat: { type: "json_object" },
          logprobs: { topLogprobs: 2 },
        },
      ),
      "served-name",
      KIND_TRAITS.ollama,
      1,
      3,
    ) as Json;
    assert.equal(body.model, "served-name");
    assert.deepEqual(body.messages[1].tool_calls, [{ id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }]);
    assert.equal(body.messages[2].tool_call_id, "call_1");
    assert.equal(body.seed, 13, "choice 3 of a fanned-out request");
    assert.equal(body.n, undefined);
    assert.deepEqual(body.tool_choice, { type: "function", function: { name: "f" } });
    assert.deepEqual(body.response_format, { type: "json_object" });
    assert.equal(body.top_logprobs, 2);
  });
});
