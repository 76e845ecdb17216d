/**
 * End to end: OpenAI-compatible mode (`/compatible-mode/v1`) driven by the official `openai` npm
 * SDK against the tiny random-weight Qwen3 — sync and streaming, tools, reasoning, structured
 * output, logprobs and errors, over the same pipeline as the native API.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import OpenAI, { APIError } from "openai";
import { postJson, startTestServer, type TestServer } from "../helpers/server.ts";

type Json = any;

let s: TestServer;
let client: OpenAI;
before(async () => {
  s = await startTestServer({ apiKeys: ["sk-test"] });
  client = new OpenAI({ apiKey: "sk-test", baseURL: `${s.url}/compatible-mode/v1`, maxRetries: 0 });
});
after(async () => {
  await s?.close();
});

const WEATHER = {
  type: "function" as const,
  function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { unit: { enum: ["c", "f"] } }, required: ["unit"] } },
};
const ask = (content: string) => [{ role: "user" as const, content }];

/** Collects a stream the way an app would: text, reasoning, tool calls merged by index, the usage chunk. */
async function drain(stream: AsyncIterable<Json>) {
  let content = "";
  let reasoning = "";
  let finish: string | null = null;
  let usage: Json;
  const calls: Json[] = [];
  const roles: string[] = [];
  for await (const chunk of stream) {
    assert.equal(chunk.object, "chat.completion.chunk");
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      if (choice.delta.role) roles.push(choice.delta.role);
      content += choice.delta.content ?? "";
      reasoning += choice.delta.reasoning_content ?? "";
      for (const d of choice.delta.tool_calls ?? []) {
        const call = (calls[d.index] ??= { id: "", name: "", arguments: "" });
        if (d.id) call.id = d.id;
        call.name += d.function?.name ?? "";
        call.arguments += d.function?.arguments ?? "";
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  return { content, reasoning, finish, usage, calls, roles };
}

describe("OpenAI-compatible mode with the official SDK", () => {
  it("sync: a chat.completion with usage; the stream carries the same text and a final usage chunk", async () => {
    const params = { model: "qwen-plus", messages: ask("hello"), max_tokens: 6, seed: 4 };
    const sync = await client.chat.completions.create(params);
    assert.equal(sync.object, "chat.completion");
    assert.match(sync.id, /^chatcmpl-/);
    assert.equal(sync.model, "qwen-plus");
    assert.equal(sync.choices[0]!.message.role, "assistant");
    assert.equal(sync.choices[0]!.finish_reason, "length");
    assert.equal(sync.usage!.completion_tokens, 6);
    assert.equal(sync.usage!.total_tokens, sync.usage!.prompt_tokens + 6);
    const streamed = await drain(await client.chat.completions.create({ ...params, stream: true, stream_options: { include_usage: true } }));
    assert.equal(streamed.content, sync.choices[0]!.message.content);
    assert.deepEqual(streamed.roles, ["assistant"]);
    assert.equal(streamed.finish, "length");
    assert.equal(streamed.usage.completion_tokens, 6);
  });

  it("the raw stream ends with data: [DONE]", async () => {
    const response = await fetch(`${s.url}/compatible-mode/v1/chat/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: "Bearer sk-test" },
      body: JSON.stringify({ model: "qwen-plus", messages: ask("hi"), max_tokens: 2, stream: true }),
    });
    assert.match(response.headers.get("content-type") ?? "", /^text\/event-stream/);
    const text = await response.text();
    assert.ok(text.endsWith("data: [DONE]\n\n"));
    for (const event of text.split("\n\n").filter(Boolean)) assert.match(event, /^data: /);
  });

  it("tools: tool_choice required and a named function, sync and streamed, arguments valid", async () => {
    for (const tool_choice of ["required", { type: "function", function: { name: "get_weather" } }] as const) {
      const sync = await client.chat.completions.create({ model: "qwen-plus", messages: ask("weather?"), tools: [WEATHER], tool_choice, seed: 2 });
      const choice = sync.choices[0]!;
      assert.equal(choice.finish_reason, "tool_calls");
      const call = choice.message.tool_calls![0]! as Json;
      assert.match(call.id, /^call_/);
      assert.equal(call.function.name, "get_weather");
      assert.ok(["c", "f"].includes(JSON.parse(call.function.arguments).unit));
      const streamed = await drain(
        await client.chat.completions.create({ model: "qwen-plus", messages: ask("weather?"), tools: [WEATHER], tool_choice, seed: 2, stream: true }),
      );
      assert.equal(streamed.finish, "tool_calls");
      assert.deepEqual(
        streamed.calls.map((c) => [c.name, c.arguments]),
        [[call.function.name, call.function.arguments]],
      );
    }
  });

  it("tool results in the history (assistant tool_calls, tool messages)", async () => {
    const reply = await client.chat.completions.create({
      model: "qwen-plus",
      max_tokens: 3,
      tools: [WEATHER],
      messages: [
        { role: "user", content: "weather?" },
        { role: "assistant", content: null, tool_calls: [{ id: "call_1", type: "function", function: { name: "get_weather", arguments: '{"unit":"c"}' } }] },
        { role: "tool", tool_call_id: "call_1", content: "sunny" },
      ],
    });
    assert.equal(reply.choices[0]!.message.role, "assistant");
  });

  it("reasoning: enable_thinking and thinking_budget at the top level give reasoning_content deltas", async () => {
    const body = { model: "qwen-plus", messages: ask("think"), max_tokens: 3, seed: 1, enable_thinking: true, thinking_budget: 4 } as Json;
    const stream = await client.chat.completions.create({ ...body, stream: true as const, stream_options: { include_usage: true } });
    const streamed = await drain(stream as unknown as AsyncIterable<Json>);
    assert.ok(streamed.reasoning.length > 0);
    assert.equal(streamed.usage.completion_tokens_details.reasoning_tokens, 4);
    const sync = (await client.chat.completions.create(body)) as Json;
    assert.equal(sync.choices[0].message.reasoning_content, streamed.reasoning);
    assert.equal(sync.choices[0].message.content, streamed.content);
  });

  it("response_format json_schema and logprobs", async () => {
    const schema = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"], additionalProperties: false };
    const json = await client.chat.completions.create({
      model: "qwen-plus",
      messages: ask("answer in json"),
      response_format: { type: "json_schema", json_schema: { name: "r", schema, strict: true } },
    });
    assert.equal(typeof JSON.parse(json.choices[0]!.message.content!).ok, "boolean");
    const lp = await client.chat.completions.create({ model: "qwen-plus", messages: ask("hi"), max_tokens: 3, logprobs: true, top_logprobs: 2 });
    const entries = lp.choices[0]!.logprobs!.content!;
    assert.equal(entries.length, 3);
    for (const e of entries) {
      assert.ok(e.logprob <= 0);
      assert.ok(e.top_logprobs.length <= 2);
    }
  });

  it("errors come back as OpenAI errors the SDK raises: 404 model_not_found, 400 invalid_parameter_error, 401 invalid_api_key", async () => {
    const expectError = async (call: Promise<unknown>, status: number, code: string) => {
      await assert.rejects(call, (e: unknown) => {
        assert.ok(e instanceof APIError);
        assert.equal(e.status, status);
        assert.equal((e.error as Json).code, code);
        return true;
      });
    };
    await expectError(client.chat.completions.create({ model: "no-such-model", messages: ask("x") }), 404, "model_not_found");
    await expectError(client.chat.completions.create({ model: "qwen-plus", messages: ask("x"), temperature: 3 }), 400, "invalid_parameter_error");
    await expectError(client.chat.completions.create({ model: "qwen-plus", messages: ask("x"), stream: true, top_p: 0 }), 400, "invalid_parameter_error");
    const wrongKey = new OpenAI({ apiKey: "sk-wrong", baseURL: `${s.url}/compatible-mode/v1`, maxRetries: 0 });
    await expectError(wrongKey.chat.completions.create({ model: "qwen-plus", messages: ask("x") }), 401, "invalid_api_key");
    const raw = await postJson(s.url, { model: "qwen-plus" }, { path: "/compatible-mode/v1/nope", headers: { Authorization: "Bearer sk-test" } });
    assert.equal(raw.status, 404);
    assert.equal(raw.body.error.code, "not_found");
  });

  it("models: every served name and alias", async () => {
    const ids = [];
    for await (const model of client.models.list()) ids.push(model.id);
    assert.deepEqual(ids.sort(), ["qwen-plus", "tiny"]);
  });
});
