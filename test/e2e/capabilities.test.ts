/**
 * End to end: tools, thinking, structured output, logprobs, logit_bias and prefix continuation on
 * the tiny random-weight Qwen3 (real Qwen tokenizer and chat template). Its words are noise, but
 * grammars make tool calls and JSON exact, and the thought markup is the template's own, so the
 * protocol, the constraints and the accounting are all checkable.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { PARTIAL_THINKING_MESSAGE } from "../../src/core/index.ts";
import { JSON_WORD_MESSAGE } from "../../src/features/index.ts";
import { STRICT_MESSAGES } from "../../src/protocols/dashscope/index.ts";
import { CAPTURES_SKIP, readCaptureJson, warnIfCapturesAbsent } from "../helpers/captures.ts";
import { postJson, postSse, REPO_ROOT, startTestServer, type JsonReply, type SseReply, type TestServer } from "../helpers/server.ts";

type Json = any;

warnIfCapturesAbsent("capabilities.test.ts");

const WEATHER = {
  type: "function",
  function: {
    name: "get_weather",
    description: "Weather for a city",
    parameters: {
      type: "object",
      properties: { unit: { enum: ["celsius", "fahrenheit"] }, days: { enum: [1, 2, 3] }, alerts: { type: "boolean" } },
      required: ["unit"],
    },
  },
};
const TIME = { type: "function", function: { name: "get_time", description: "The time", parameters: {} } };
const FORCE_WEATHER = { type: "function", function: { name: "get_weather" } };
/** The `<tool_call>` token of the Qwen vocabulary. */
const TOOL_CALL_TOKEN = 151657;

let s: TestServer;
before(async () => {
  s = await startTestServer();
});
after(async () => {
  await s?.close();
});

function body(parameters: Record<string, unknown>, messages: unknown[] = [{ role: "user", content: "What is the weather in Hangzhou?" }]): object {
  return { model: "qwen-plus", input: { messages }, parameters: { seed: 7, ...parameters } };
}

function ok(reply: JsonReply): Json {
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body;
}

function choiceOf(reply: JsonReply): Json {
  const data = ok(reply);
  assert.equal(data.output.choices.length, 1);
  return data.output.choices[0];
}

function assertValidWeatherArguments(args: string): void {
  const parsed = JSON.parse(args);
  assert.ok(["celsius", "fahrenheit"].includes(parsed.unit), args);
  if ("days" in parsed) assert.ok([1, 2, 3].includes(parsed.days), args);
  if ("alerts" in parsed) assert.equal(typeof parsed.alerts, "boolean", args);
}

/** Rebuilds tool calls from incremental stream deltas the way the official Python SDK merges them. */
function mergeToolCallDeltas(reply: SseReply): { calls: Json[]; content: string; finish: string } {
  const calls: Json[] = [];
  let content = "";
  let finish = "null";
  for (const data of reply.data) {
    const choice = data.output.choices[0];
    content += choice.message.content;
    finish = choice.finish_reason;
    for (const delta of choice.message.tool_calls ?? []) {
      assert.equal(typeof delta.index, "number", "every delta has index");
      assert.equal(delta.type, "function", "every delta has type");
      const call = (calls[delta.index] ??= { id: "", type: "function", function: { name: "", arguments: "" } });
      if (delta.id) call.id = delta.id;
      call.function.name += delta.function.name ?? "";
      call.function.arguments += delta.function.arguments ?? "";
    }
  }
  return { calls, content, finish };
}

const withoutIds = (calls: Json[]) => calls.map((c) => ({ name: c.function.name, arguments: c.function.arguments }));

describe("function calling", () => {
  it("forced tool_choice: one call of that function, arguments valid against its schema", async () => {
    for (const seed of [1, 2, 3]) {
      const choice = choiceOf(await postJson(s.url, body({ seed, tools: [WEATHER, TIME], tool_choice: FORCE_WEATHER })));
      assert.equal(choice.finish_reason, "tool_calls");
      assert.equal(choice.message.role, "assistant");
      assert.equal(choice.message.content, "");
      assert.equal(choice.message.tool_calls.length, 1, "parallel_tool_calls defaults to false: at most one call");
      const call = choice.message.tool_calls[0];
      assert.deepEqual(Object.keys(call), ["function", "index", "id", "type"]);
      assert.match(call.id, /^call_[0-9a-f]{22}$/);
      assert.equal(call.type, "function");
      assert.equal(call.index, 0);
      assert.equal(call.function.name, "get_weather");
      assertValidWeatherArguments(call.function.arguments);
    }
  });

  it("forced call streamed: deltas follow §6.5 and reassemble to the sync call", async () => {
    const params = { tools: [WEATHER], tool_choice: FORCE_WEATHER, incremental_output: true };
    const sync = choiceOf(await postJson(s.url, body(params)));
    const stream = await postSse(s.url, body(params));
    assert.equal(stream.status, 200);
    const pieces = stream.data.flatMap((d) => d.output.choices[0].message.tool_calls ?? []);
    assert.ok(pieces.length >= 2, "arguments arrive in several pieces");
    assert.match(pieces[0].id, /^call_/);
    assert.equal(pieces[0].function.name, "get_weather");
    assert.notEqual(pieces[0].function.arguments, "", "the first piece already carries argument text");
    for (const piece of pieces.slice(1)) {
      assert.equal(piece.id, "", "continuations carry an empty id");
      assert.equal(piece.function.name, undefined, "continuations carry no name");
    }
    const merged = mergeToolCallDeltas(stream);
    assert.equal(merged.finish, "tool_calls");
    assert.equal(merged.content, "", "no markup leaks into content");
    assert.deepEqual(withoutIds(merged.calls), withoutIds(sync.message.tool_calls));
    assert.ok(!stream.raw.includes("<tool_call>") && !stream.raw.includes("</tool_call>"));
  });

  it("cumulative stream repeats the whole call so far; its last event equals the sync answer", async () => {
    const params = { tools: [WEATHER], tool_choice: FORCE_WEATHER, incremental_output: false };
    const sync = choiceOf(await postJson(s.url, body(params)));
    const stream = await postSse(s.url, body(params));
    const withCalls = stream.data.filter((d) => d.output.choices[0].message.tool_calls);
    let previous = "";
    for (const data of withCalls) {
      const args = data.output.choices[0].message.tool_calls[0].function.arguments;
      assert.ok(args.startsWith(previous), "each event extends the last");
      previous = args;
    }
    const last = stream.data[stream.data.length - 1].output.choices[0];
    assert.equal(last.finish_reason, "tool_calls");
    assert.deepEqual(withoutIds(last.message.tool_calls), withoutIds(sync.message.tool_calls));
  });

  it("parallel_tool_calls: several calls, indexed, distinct ids, each valid; stream agrees", async () => {
    const params = { tools: [WEATHER, TIME], tool_choice: FORCE_WEATHER, parallel_tool_calls: true, max_tokens: 200 };
    let found: { seed: number; calls: Json[] } | undefined;
    for (let seed = 1; seed <= 12 && !found; seed++) {
      const choice = choiceOf(await postJson(s.url, body({ ...params, seed })));
      assert.equal(choice.finish_reason, "tool_calls");
      if (choice.message.tool_calls.length >= 2) found = { seed, calls: choice.message.tool_calls };
    }
    assert.ok(found, "some seed in 1..12 makes the model call more than once");
    const { seed, calls } = found;
    assert.deepEqual(
      calls.map((c: Json) => c.index),
      calls.map((_: Json, i: number) => i),
    );
    assert.equal(new Set(calls.map((c: Json) => c.id)).size, calls.length);
    assert.equal(calls[0].function.name, "get_weather", "the forced function comes first");
    for (const call of calls) {
      if (call.function.name === "get_weather") assertValidWeatherArguments(call.function.arguments);
      else assert.deepEqual(JSON.parse(call.function.arguments), {});
    }
    const merged = mergeToolCallDeltas(await postSse(s.url, body({ ...params, seed, incremental_output: true })));
    assert.deepEqual(withoutIds(merged.calls), withoutIds(calls));
  });

  it("tool_choice auto: once the model opens a call, the grammar finishes it (logit_bias opens it here)", async () => {
    const params = { tools: [WEATHER, TIME], logit_bias: { [TOOL_CALL_TOKEN]: 100 }, max_tokens: 100 };
    const choice = choiceOf(await postJson(s.url, body(params)));
    assert.equal(choice.finish_reason, "tool_calls", JSON.stringify(choice));
    assert.equal(choice.message.tool_calls.length, 1);
    const call = choice.message.tool_calls[0];
    assert.ok(["get_weather", "get_time"].includes(call.function.name));
    if (call.function.name === "get_weather") assertValidWeatherArguments(call.function.arguments);
    else assert.deepEqual(JSON.parse(call.function.arguments), {});
  });

  it("tool_choice none: the model cannot call, even when pushed to", async () => {
    const params = { tools: [WEATHER], tool_choice: "none", logit_bias: { [TOOL_CALL_TOKEN]: 100 }, max_tokens: 12 };
    const choice = choiceOf(await postJson(s.url, body(params)));
    assert.equal(choice.message.tool_calls, undefined);
    assert.notEqual(choice.finish_reason, "tool_calls");
    assert.ok(!choice.message.content.includes("<tool_call>"));
  });

  it("tool results round trip: assistant tool_calls then tool messages, several rounds", async () => {
    const call = (id: string, city: string) => ({
      id,
      type: "function",
      index: 0,
      function: { name: "get_weather", arguments: JSON.stringify({ unit: "celsius", city }) },
    });
    const messages = [
      { role: "user", content: "Weather in Hangzhou, then Shanghai?" },
      { role: "assistant", content: "", tool_calls: [call("call_1", "Hangzhou")] },
      { role: "tool", content: "Sunny, 25C", tool_call_id: "call_1" },
      { role: "assistant", content: "", tool_calls: [call("call_2", "Shanghai")] },
      { role: "tool", content: "Rain, 18C", tool_call_id: "call_2" },
    ];
    const first = ok(await postJson(s.url, body({ tools: [WEATHER], max_tokens: 4, result_format: "message" }, messages.slice(0, 3))));
    const second = ok(await postJson(s.url, body({ tools: [WEATHER], max_tokens: 4, result_format: "message" }, messages)));
    assert.ok(second.usage.input_tokens > first.usage.input_tokens + 10, "the later round's history is in the prompt");
    // The template renders the history exactly: results as <tool_response> in a user turn.
    const tokenized = ok(await postJson(s.url, { model: "qwen-plus", input: { messages } }, { path: "/api/v1/tokenizer" }));
    assert.match(tokenized.output.prompt, /<tool_call>\n\{"name": "get_weather", "arguments": \{"unit":"celsius","city":"Shanghai"\}\}\n<\/tool_call>/);
    assert.match(tokenized.output.prompt, /<tool_response>\nRain, 18C\n<\/tool_response>/);
  });

  it("invalid tool requests are 400s naming the problem", async () => {
    const bad = async (params: Record<string, unknown>, pattern: RegExp) => {
      const reply = await postJson(s.url, body(params));
      assert.equal(reply.status, 400, JSON.stringify(reply.body));
      assert.equal(reply.body.code, "InvalidParameter");
      assert.match(reply.body.message, pattern);
    };
    await bad({ tools: [WEATHER], tool_choice: { type: "function", function: { name: "nope" } } }, /"nope", which is not among the tools/);
    await bad({ tools: [WEATHER], tool_choice: "required" }, /tool_choice is one of the strings/);
    await bad({ tools: [WEATHER], result_format: "text" }, /must be "message" when tools are given/);
    await bad({ tools: [{ type: "function", function: { name: "f", parameters: { type: "string" } } }] }, /must describe an object/);
  });
});

describe("thinking", () => {
  it("enable_thinking with thinking_budget, streamed: reasoning first, within budget, then the answer", async () => {
    const stream = await postSse(s.url, body({ enable_thinking: true, thinking_budget: 6, max_tokens: 5, incremental_output: true }));
    assert.equal(stream.status, 200);
    const choices = stream.data.map((d) => d.output.choices[0]);
    for (const c of choices) {
      assert.equal(typeof c.message.reasoning_content, "string", "reasoning_content in every event");
      assert.equal(typeof c.message.content, "string");
    }
    const reasoning = choices.map((c) => c.message.reasoning_content).join("");
    const content = choices.map((c) => c.message.content).join("");
    assert.ok(reasoning.length > 0, "there is a thought");
    assert.ok(!reasoning.includes("<think>") && !reasoning.includes("</think>") && !content.includes("</think>"));
    const firstContent = choices.findIndex((c) => c.message.content !== "");
    const lastReasoning = choices.map((c) => c.message.reasoning_content !== "").lastIndexOf(true);
    if (firstContent !== -1) assert.ok(lastReasoning < firstContent, "reasoning comes before the answer");
    const usage = stream.data[stream.data.length - 1].usage;
    assert.ok(usage.output_tokens_details.reasoning_tokens <= 6, "the budget holds");
    assert.equal(usage.output_tokens_details.reasoning_tokens, 6, "random weights do not close the thought early at this seed");
    // The closing markup (\n</think>\n\n) is output too; the answer is capped by max_tokens alone.
    assert.ok(usage.output_tokens <= 6 + 4 + 5);
    const finish = choices[choices.length - 1].finish_reason;
    assert.equal(finish, "length");
  });

  it("thinking sync equals the merged stream for the same seed", async () => {
    const params = { enable_thinking: true, thinking_budget: 4, max_tokens: 4 };
    const sync = choiceOf(await postJson(s.url, body(params)));
    const stream = await postSse(s.url, body({ ...params, incremental_output: true }));
    const choices = stream.data.map((d) => d.output.choices[0]);
    assert.equal(choices.map((c) => c.message.reasoning_content).join(""), sync.message.reasoning_content);
    assert.equal(choices.map((c) => c.message.content).join(""), sync.message.content);
  });

  it("thinking off (the default for qwen-plus): no reasoning_content, no reasoning token count", async () => {
    const data = ok(await postJson(s.url, body({ result_format: "message", max_tokens: 3 })));
    assert.equal("reasoning_content" in data.output.choices[0].message, false);
    assert.equal(data.usage.output_tokens_details, undefined);
  });

  it("thinking with a forced tool call: the call comes after the thought", async () => {
    const choice = choiceOf(await postJson(s.url, body({ enable_thinking: true, thinking_budget: 3, tools: [WEATHER], tool_choice: FORCE_WEATHER })));
    assert.equal(choice.finish_reason, "tool_calls");
    assert.ok(choice.message.reasoning_content.length > 0);
    assertValidWeatherArguments(choice.message.tool_calls[0].function.arguments);
  });

  it("a thought the model closes itself: the forced call's grammar starts right after </think>", async () => {
    const THINK_CLOSE_TOKEN = 151668;
    const choice = choiceOf(
      await postJson(s.url, body({ enable_thinking: true, logit_bias: { [THINK_CLOSE_TOKEN]: 100 }, tools: [WEATHER], tool_choice: FORCE_WEATHER })),
    );
    assert.equal(choice.finish_reason, "tool_calls");
    assert.equal(choice.message.reasoning_content, "", "closed at once");
    assertValidWeatherArguments(choice.message.tool_calls[0].function.arguments);
  });

  it("partial with enable_thinking is the real server's 400; budget beyond the model's maximum is refused", async () => {
    const messages = [
      { role: "user", content: "Write a poem" },
      { role: "assistant", content: "Spring", partial: true },
    ];
    const partial = await postJson(s.url, body({ enable_thinking: true }, messages));
    assert.equal(partial.status, 400);
    assert.equal(partial.body.message, PARTIAL_THINKING_MESSAGE);
    const budget = await postJson(s.url, body({ enable_thinking: true, thinking_budget: 10_000_000 }));
    assert.equal(budget.status, 400);
    assert.match(budget.body.message, /^The thinking_budget parameter must be a positive integer and not greater than \d+$/);
  });
});

describe("structured output", () => {
  it("json_object: the answer is one JSON object", async () => {
    for (const seed of [1, 2]) {
      const data = ok(
        await postJson(s.url, body({ seed, response_format: { type: "json_object" }, max_tokens: 120 }, [{ role: "user", content: "Reply in JSON" }])),
      );
      const text = data.output.text;
      assert.equal(data.output.finish_reason, "stop", text);
      const parsed = JSON.parse(text);
      assert.equal(typeof parsed, "object");
      assert.ok(parsed !== null && !Array.isArray(parsed));
    }
  });

  it("json_object without the word json in the messages: the real server's 400", async () => {
    const reply = await postJson(s.url, body({ response_format: { type: "json_object" } }, [{ role: "user", content: "hello" }]));
    assert.equal(reply.status, 400);
    assert.equal(reply.body.message, JSON_WORD_MESSAGE);
  });

  it("json_schema strict: the answer validates; streamed deltas add up to the same JSON", async () => {
    const schema = {
      type: "object",
      properties: {
        mood: { enum: ["happy", "sad"] },
        score: { enum: [1, 2, 3] },
        tags: { type: "array", items: { enum: ["a", "b"] }, maxItems: 2 },
        ok: { type: "boolean" },
      },
      required: ["mood", "score", "tags", "ok"],
      additionalProperties: false,
    };
    const params = { response_format: { type: "json_schema", json_schema: { name: "verdict", schema, strict: true } }, result_format: "message" };
    const choice = choiceOf(await postJson(s.url, body(params)));
    const value = JSON.parse(choice.message.content);
    assert.deepEqual(Object.keys(value).sort(), ["mood", "ok", "score", "tags"]);
    assert.ok(["happy", "sad"].includes(value.mood));
    assert.ok([1, 2, 3].includes(value.score));
    assert.ok(Array.isArray(value.tags) && value.tags.length <= 2 && value.tags.every((t: string) => t === "a" || t === "b"));
    assert.equal(typeof value.ok, "boolean");
    const stream = await postSse(s.url, body({ ...params, incremental_output: true }));
    assert.equal(stream.data.map((d) => d.output.choices[0].message.content).join(""), choice.message.content);
  });

  it("json_schema strict with a keyword the grammar cannot enforce: 400 naming it; best effort when not strict", async () => {
    const schema = { type: "object", properties: { code: { type: "string", pattern: "^[A-Z]{3}$" } } };
    const strict = await postJson(s.url, body({ response_format: { type: "json_schema", json_schema: { name: "c", schema, strict: true } } }));
    assert.equal(strict.status, 400);
    assert.match(strict.body.message, /"pattern" \(at #\/properties\/code\)/);
    const loose = await postJson(s.url, body({ max_tokens: 40, response_format: { type: "json_schema", json_schema: { name: "c", schema } } }));
    assert.equal(loose.status, 200, JSON.stringify(loose.body));
  });

  it("schemas no value can match are 400s, never 500s (a definition that is only itself, min above max)", async () => {
    const refused = async (schema: object, pattern: RegExp) => {
      const reply = await postJson(s.url, body({ response_format: { type: "json_schema", json_schema: { name: "x", schema } } }));
      assert.equal(reply.status, 400, JSON.stringify(reply.body));
      assert.match(reply.body.message, pattern);
    };
    await refused({ $defs: { x: { $ref: "#/$defs/x" } }, $ref: "#/$defs/x" }, /cannot be turned into a grammar/);
    await refused({ $ref: "#/$defs/missing" }, /unresolvable \$ref/);
    await refused({ type: "array", minItems: 3, maxItems: 1 }, /"minItems" is greater than "maxItems"/);
  });
});

describe("logprobs", () => {
  it("per-token logprob <= 0, bytes, top_logprobs (at most the number asked), sync and stream agree", async () => {
    const params = { logprobs: true, top_logprobs: 3, max_tokens: 6, temperature: 1.2, top_p: 1, top_k: 0 };
    const data = ok(await postJson(s.url, body(params)));
    const choice = data.output.choices[0];
    const entries = choice.logprobs.content;
    assert.ok(entries.length > 0 && entries.length <= 6);
    for (const e of entries) {
      assert.equal(typeof e.token, "string");
      assert.ok(Array.isArray(e.bytes) && e.bytes.every((b: number) => Number.isInteger(b) && b >= 0 && b < 256));
      assert.ok(e.logprob <= 0);
      assert.ok(e.top_logprobs.length >= 1 && e.top_logprobs.length <= 3);
      for (let i = 1; i < e.top_logprobs.length; i++) assert.ok(e.top_logprobs[i - 1].logprob >= e.top_logprobs[i].logprob, "best first");
      assert.ok(e.top_logprobs.every((t: Json) => t.logprob <= 0 && Array.isArray(t.bytes)));
    }
    // The bytes of all tokens are exactly the answer's UTF-8.
    assert.equal(Buffer.from(entries.flatMap((e: Json) => e.bytes)).toString("utf8"), choice.message.content);
    const stream = await postSse(s.url, body({ ...params, incremental_output: true }));
    const streamed = stream.data.flatMap((d) => d.output.choices[0].logprobs.content);
    assert.deepEqual(streamed, entries);
  });

  it("logprobs with the default sampling: the sampler's truncated distribution (a sure token has logprob 0)", async () => {
    const data = ok(await postJson(s.url, body({ logprobs: true, top_logprobs: 5, max_tokens: 3, top_k: 1 })));
    for (const e of data.output.choices[0].logprobs.content) {
      assert.equal(e.logprob, 0, "top_k 1 leaves one candidate");
      assert.equal(e.top_logprobs.length, 1);
    }
  });
});

describe("prefix continuation, logit_bias", () => {
  it("partial: the answer is only the continuation of the assistant prefix", async () => {
    const prefix = "Spring has come, and the earth";
    const messages = [
      { role: "user", content: "Write a poem" },
      { role: "assistant", content: prefix, partial: true },
    ];
    const data = ok(await postJson(s.url, body({ result_format: "message", max_tokens: 5 }, messages)));
    const content = data.output.choices[0].message.content;
    assert.ok(!content.startsWith(prefix));
    const tokenized = ok(await postJson(s.url, { model: "qwen-plus", input: { messages } }, { path: "/api/v1/tokenizer" }));
    assert.ok(tokenized.output.prompt.endsWith(`<|im_start|>assistant\n<think>\n\n</think>\n\n${prefix}`), tokenized.output.prompt);
  });

  it("logit_bias -100 bans a token; +100 makes it certain", async () => {
    const tokenId = async (text: string) => {
      const ids = ok(await postJson(s.url, { model: "qwen-plus", input: { prompt: text } }, { path: "/api/v1/tokenizer" })).output.token_ids;
      assert.equal(ids.length, 1, text);
      return ids[0] as number;
    };
    const first = choiceOf(await postJson(s.url, body({ result_format: "message", max_tokens: 1, logprobs: true })));
    const token = first.logprobs.content[0].token;
    const banned = choiceOf(
      await postJson(s.url, body({ result_format: "message", max_tokens: 1, logprobs: true, logit_bias: { [await tokenId(token)]: -100 } })),
    );
    assert.notEqual(banned.logprobs.content[0].token, token);
    for (const seed of [1, 2, 3]) {
      const forced = choiceOf(await postJson(s.url, body({ seed, result_format: "message", max_tokens: 1, logit_bias: { [await tokenId(" hello")]: 100 } })));
      assert.equal(forced.message.content, " hello");
    }
    const outside = await postJson(s.url, body({ logit_bias: { "999999999": 1 } }));
    assert.equal(outside.status, 400);
  });
});

describe("capture request bodies for these features are served", () => {
  const names = [
    "single-generation-message-with-tools-nosse",
    "single-generation-message-with-tools-sse",
    "single-generation-message-with-parallel-tools-sse",
    "single-generation-message-reasoning-nosse",
    "single-generation-message-reasoning-sse",
    "single-generation-message-reasoning-effort-nosse",
    "single-generation-message-json-nosse",
    "single-generation-message-logprobs-nosse",
    "single-generation-message-roleplay-nosse",
    "conversation-generation-message-partial-nosse",
  ];
  for (const name of names) {
    it(name, { skip: CAPTURES_SKIP }, async () => {
      const captured = readCaptureJson(name, "request.body.json") as Json;
      // Room for a whole tool call where one is forced; a few tokens otherwise.
      const maxTokens = captured.parameters.tools ? 300 : 8;
      const request = { ...captured, model: "qwen-plus", parameters: { ...captured.parameters, max_tokens: maxTokens } };
      const stream = name.endsWith("-sse");
      if (stream) {
        const reply = await postSse(s.url, request);
        assert.equal(reply.status, 200);
        assert.deepEqual(
          reply.events.map((e) => e.event).filter((e) => e !== "result"),
          [],
          reply.raw.slice(0, 400),
        );
      } else {
        const reply = await postJson(s.url, request);
        assert.equal(reply.status, 200, JSON.stringify(reply.body));
        if (captured.parameters.tool_choice) {
          // Its schema has a free string: random weights may fill it up to max_tokens.
          const choice = reply.body.output.choices[0];
          assert.match(choice.finish_reason, /^(tool_calls|length)$/);
          assert.equal(choice.message.tool_calls[0].function.name, captured.parameters.tool_choice.function.name);
        }
        if (captured.parameters.enable_thinking) assert.equal(typeof reply.body.output.choices[0].message.reasoning_content, "string");
        if (captured.parameters.logprobs) assert.ok(Array.isArray(reply.body.output.choices[0].logprobs.content));
      }
    });
  }
});

describe("strict_compat: the real server's refusals in thinking mode", () => {
  let strict: TestServer;
  before(async () => {
    strict = await startTestServer({ strictCompat: true });
  });
  after(async () => {
    await strict?.close();
  });

  it("non-stream thinking and cumulative thinking streams are refused with the real messages; incremental streams are served", async () => {
    const sync = await postJson(strict.url, body({ enable_thinking: true, max_tokens: 2 }));
    assert.equal(sync.status, 400);
    assert.equal(sync.body.message, STRICT_MESSAGES.nonStreamThinking);
    const cumulative = await postSse(strict.url, body({ enable_thinking: true, max_tokens: 2, incremental_output: false }));
    assert.equal(cumulative.status, 200);
    assert.equal(cumulative.events.length, 1);
    assert.equal(cumulative.events[0]!.event, "error");
    assert.equal(cumulative.data[0].message, STRICT_MESSAGES.cumulativeThinking);
    const incremental = await postSse(strict.url, body({ enable_thinking: true, thinking_budget: 2, max_tokens: 2, incremental_output: true }));
    assert.equal(incremental.events.filter((e) => e.event === "error").length, 0);
    // Thinking off: nothing changes.
    assert.equal((await postJson(strict.url, body({ max_tokens: 2 }))).status, 200);
  });
});

describe("a model whose template has no tools or thinking (llama-tiny, ChatML fallback)", () => {
  let plain: TestServer;
  before(async () => {
    plain = await startTestServer({ model: { source: `${REPO_ROOT}/models/test/llama-tiny.gguf` } });
  });
  after(async () => {
    await plain?.close();
  });

  it("thinking is refused naming the parameter; tools still work through the written-in hermes prompt", async () => {
    const thinking = await postJson(plain.url, body({ enable_thinking: true }));
    assert.equal(thinking.status, 400);
    assert.match(thinking.body.message, /parameters\.enable_thinking/);
    const choice = choiceOf(await postJson(plain.url, body({ tools: [WEATHER], tool_choice: FORCE_WEATHER, max_tokens: 200 })));
    assert.equal(choice.finish_reason, "tool_calls");
    assertValidWeatherArguments(choice.message.tool_calls[0].function.arguments);
  });
});
