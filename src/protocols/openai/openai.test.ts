import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError, errors, invalidParameter } from "../../core/errors.ts";
import type { EngineEvent, Usage } from "../../core/types.ts";
import { chatCompletionBody, ChatCompletionChunkEncoder, ChoiceStates, dataFrame, decodeChatCompletion, openAiErrorBody, openAiStatus } from "./index.ts";

type Json = any;
const ID = { id: "chatcmpl-r1", created: 1700000000, model: "qwen-plus" };
const usage = (input: number, output: number, extra: Partial<Usage> = {}): Usage => ({ inputTokens: input, outputTokens: output, ...extra });
const decode = (body: object) => decodeChatCompletion(body, "r1");
const invalid = (pattern: RegExp) => (e: unknown) => e instanceof ApiError && e.status === 400 && pattern.test(e.message);

describe("decodeChatCompletion", () => {
  it("OpenAI body with DashScope extras at the top level", () => {
    const { request, shape } = decode({
      model: "qwen-plus",
      messages: [
        { role: "developer", content: "be brief" },
        { role: "user", content: [{ type: "text", text: "hi" }] },
      ],
      stream: true,
      stream_options: { include_usage: true },
      temperature: 0.5,
      top_k: 5,
      repetition_penalty: 1.1,
      frequency_penalty: 0.5,
      max_completion_tokens: 9,
      stop: ["x"],
      n: 2,
      seed: 3,
      enable_thinking: true,
      thinking_budget: 7,
      logprobs: true,
      top_logprobs: 2,
      user: "someone",
    });
    assert.deepEqual(shape, { stream: true, includeUsage: true, continuousUsage: false });
    assert.deepEqual(
      request.messages.map((m) => m.role),
      ["system", "user"],
      "developer is a system message",
    );
    assert.equal(request.sampling.temperature, 0.5);
    assert.equal(request.sampling.topK, 5);
    assert.equal(request.sampling.repetitionPenalty, 1.1);
    assert.equal(request.sampling.frequencyPenalty, 0.5);
    assert.equal(request.sampling.maxTokens, 9);
    assert.deepEqual(request.sampling.stop.strings, ["x"]);
    assert.equal(request.sampling.n, 2);
    assert.deepEqual(request.features.thinking, { enabled: true, budget: 7 });
    assert.deepEqual(request.features.logprobs, { topLogprobs: 2 });
  });

  it("tool_choice required (OpenAI) besides auto, none and a named function", () => {
    const tools = [{ type: "function", function: { name: "f", parameters: {} } }];
    assert.deepEqual(decode({ model: "m", messages: [{ role: "user", content: "x" }], tools, tool_choice: "required" }).request.features.toolChoice, {
      type: "required",
    });
    assert.deepEqual(
      decode({ model: "m", messages: [{ role: "user", content: "x" }], tools, tool_choice: { type: "function", function: { name: "f" } } }).request.features
        .toolChoice,
      {
        type: "function",
        name: "f",
      },
    );
  });

  it("the same validation and messages as the native API", () => {
    assert.throws(
      () => decode({ model: "m", messages: [{ role: "user", content: "x" }], temperature: 2 }),
      invalid(/^Temperature should be in \[0\.0, 2\.0\)$/),
    );
    assert.throws(() => decode({ model: "m", messages: [{ role: "user", content: "x" }], frequency_penalty: 3 }), invalid(/Frequency_penalty should be in/));
    assert.throws(() => decode({ model: "m" }), invalid(/"messages" missing/));
    assert.throws(
      () => decode({ messages: [] }),
      (e: unknown) => e instanceof ApiError && e.code === "BadRequest.EmptyModel",
    );
    assert.throws(() => decode({ model: "m", messages: [{ role: "user", content: "x" }], stream_options: 1 }), invalid(/stream_options must be an object/));
  });

  it("errors name the fields where OpenAI's body has them (no native input. or parameters. prefix)", () => {
    const exact = (message: string) => (e: unknown) => e instanceof ApiError && e.status === 400 && e.message === message;
    assert.throws(() => decode({ model: "m", messages: "hi" }), exact("Parameter messages must be an array, got string."));
    assert.throws(
      () => decode({ model: "m", messages: [{ role: "user", content: [{ type: "text", text: 5 }] }] }),
      exact("Parameter messages[0].content[0].text must be a string, got number."),
    );
    assert.throws(
      () => decode({ model: "m", messages: [{ role: "bot", content: "x" }] }),
      exact('messages[0].role must be one of system, user, assistant, tool; got "bot".'),
    );
    assert.throws(
      () =>
        decode({
          model: "m",
          messages: [
            { role: "user", content: "x", partial: true },
            { role: "user", content: "y" },
          ],
        }),
      exact('messages[0]: "partial" is only allowed on the last message, which must be an assistant message.'),
    );
    assert.throws(
      () => decode({ model: "m", messages: [{ role: "user", content: "x" }], enable_search: true, search_options: { forced_search: "yes" } }),
      exact("Parameter search_options.forced_search must be a boolean, got string."),
    );
  });
});

describe("chatCompletionBody", () => {
  it("a chat.completion with reasoning, tool calls, logprobs and usage details", () => {
    const collected = new ChoiceStates();
    const events: EngineEvent[] = [
      { type: "delta", index: 0, reasoning: "hm", usage: usage(5, 1, { reasoningTokens: 1, cachedTokens: 2 }) },
      {
        type: "delta",
        index: 0,
        content: "ok",
        logprobs: [{ token: "ok", bytes: [111, 107], logprob: -0.1, topLogprobs: [] }],
        usage: usage(5, 2, { reasoningTokens: 1, cachedTokens: 2 }),
      },
      {
        type: "delta",
        index: 0,
        toolCalls: [{ index: 0, id: "call_1", name: "f", arguments: "{}" }],
        usage: usage(5, 4, { reasoningTokens: 1, cachedTokens: 2 }),
      },
      { type: "finish", index: 0, reason: "tool_calls", usage: usage(5, 4, { reasoningTokens: 1, cachedTokens: 2 }) },
    ];
    for (const e of events) collected.add(e);
    assert.deepEqual(chatCompletionBody(ID, { reasoning: true, logprobs: true }, collected), {
      id: "chatcmpl-r1",
      object: "chat.completion",
      created: 1700000000,
      model: "qwen-plus",
      choices: [
        {
          index: 0,
          message: {
            role: "assistant",
            content: "ok",
            reasoning_content: "hm",
            tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: "{}" } }],
          },
          finish_reason: "tool_calls",
          logprobs: { content: [{ token: "ok", logprob: -0.1, bytes: [111, 107], top_logprobs: [] }] },
        },
      ],
      usage: {
        prompt_tokens: 5,
        completion_tokens: 4,
        total_tokens: 9,
        prompt_tokens_details: { cached_tokens: 2 },
        completion_tokens_details: { reasoning_tokens: 1 },
      },
      system_fingerprint: null,
    });
  });
});

describe("ChatCompletionChunkEncoder", () => {
  it("role first, deltas, the finish, then the usage chunk; tool-call ids only on the first piece", () => {
    const encoder = new ChatCompletionChunkEncoder(ID, { reasoning: false, logprobs: false }, true);
    const chunks: Json[] = [
      ...encoder.encode({ type: "delta", index: 0, content: "a", usage: usage(3, 1) }),
      ...encoder.encode({ type: "delta", index: 0, toolCalls: [{ index: 0, id: "call_1", name: "f", arguments: '{"x"' }], usage: usage(3, 2) }),
      ...encoder.encode({ type: "delta", index: 0, toolCalls: [{ index: 0, arguments: ":1}" }], usage: usage(3, 3) }),
      ...encoder.encode({ type: "finish", index: 0, reason: "tool_calls", usage: usage(3, 3) }),
    ];
    const usageChunk = encoder.finish() as Json;
    assert.deepEqual(
      chunks.map((c) => c.choices[0].delta),
      [
        { role: "assistant", content: "" },
        { content: "a" },
        { tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: '{"x"' } }] },
        { tool_calls: [{ index: 0, function: { arguments: ":1}" } }] },
        {},
      ],
    );
    assert.deepEqual(
      chunks.map((c) => c.choices[0].finish_reason),
      [null, null, null, null, "tool_calls"],
    );
    for (const c of chunks) {
      assert.equal(c.object, "chat.completion.chunk");
      assert.equal(c.usage, null, "every chunk but the last says usage null when include_usage is on");
    }
    assert.deepEqual(usageChunk.choices, []);
    assert.deepEqual(usageChunk.usage, { prompt_tokens: 3, completion_tokens: 3, total_tokens: 6 });
    assert.equal(dataFrame(usageChunk), `data: ${JSON.stringify(usageChunk)}\n\n`);
    assert.equal(dataFrame("[DONE]"), "data: [DONE]\n\n");
  });

  it("no usage key and no usage chunk without include_usage; n>1 usage adds outputs once per prompt", () => {
    const plain = new ChatCompletionChunkEncoder(ID, { reasoning: true, logprobs: false }, false);
    const [first, delta] = plain.encode({ type: "delta", index: 1, reasoning: "r", usage: usage(3, 1) }) as Json[];
    assert.equal("usage" in first, false);
    assert.equal(first.choices[0].index, 1);
    assert.deepEqual(delta.choices[0].delta, { reasoning_content: "r" });
    assert.equal(plain.finish(), undefined);
    const both = new ChatCompletionChunkEncoder(ID, { reasoning: false, logprobs: false }, true);
    both.encode({ type: "finish", index: 0, reason: "stop", usage: usage(3, 2) });
    both.encode({ type: "finish", index: 1, reason: "stop", usage: usage(3, 4) });
    assert.deepEqual((both.finish() as Json).usage, { prompt_tokens: 3, completion_tokens: 6, total_tokens: 9 });
  });
});

describe("OpenAI error shape", () => {
  it("nested error with lower-snake codes and the request id", () => {
    assert.deepEqual(openAiErrorBody(invalidParameter("bad"), "r1"), {
      error: { message: "bad", type: "invalid_request_error", param: null, code: "invalid_parameter_error" },
      request_id: "r1",
    });
    const missing = errors.modelNotFound();
    assert.equal(openAiStatus(missing), 404);
    assert.equal(openAiErrorBody(missing, "r").error.code, "model_not_found");
    const key = openAiErrorBody(errors.invalidApiKey(), "r").error;
    assert.equal(key.code, "invalid_api_key");
    assert.match(key.message, /^Incorrect API key provided\./);
    assert.equal(openAiErrorBody(errors.internal(), "r").error.type, "server_error");
    assert.equal(openAiErrorBody(errors.emptyModel(), "r").error.code, "invalid_parameter_error");
    assert.equal(openAiErrorBody(errors.serviceShuttingDown(), "r").error.code, "service_unavailable");
  });
});
