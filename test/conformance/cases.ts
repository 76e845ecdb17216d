/**
 * One set of behaviours every backend must show through the native DashScope API (DESIGN:
 * "one conformance suite runs the same cases against every backend"). Each backend's test file
 * starts its target and passes an explicit skip list, with a reason per skipped case.
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { postJson, postSse, type JsonReply } from "../helpers/server.ts";

type Json = any;

export interface ConformanceTarget {
  name: string;
  /** Base URL of the openscope serving the model. */
  url: () => string;
  /** The name requests use. */
  model: string;
  /** Case name -> why this backend skips it. */
  skip: Record<string, string>;
}

const WEATHER = {
  type: "function",
  function: { name: "get_weather", parameters: { type: "object", properties: { unit: { enum: ["c", "f"] } }, required: ["unit"] } },
};

function ok(reply: JsonReply): Json {
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return reply.body;
}

type Case = (t: ConformanceTarget) => Promise<void>;

const body = (t: ConformanceTarget, parameters: Record<string, unknown>, content: unknown = "What is the weather like in Hangzhou today?") => ({
  model: t.model,
  input: { messages: typeof content === "string" ? [{ role: "user", content }] : content },
  parameters: { seed: 11, ...parameters },
});

export const CASES: Record<string, Case> = {
  "sync text and message formats": async (t) => {
    const text = ok(await postJson(t.url(), body(t, { max_tokens: 4 })));
    assert.equal(typeof text.output.text, "string");
    assert.equal(text.output.finish_reason, "length");
    const message = ok(await postJson(t.url(), body(t, { max_tokens: 4, result_format: "message" })));
    assert.equal(message.output.choices[0].message.role, "assistant");
    assert.equal(message.usage.output_tokens, 4);
    assert.equal(message.usage.total_tokens, message.usage.input_tokens + 4);
  },
  "stream equals sync for one seed; cumulative mode repeats the text so far": async (t) => {
    const params = { max_tokens: 6, result_format: "message" };
    const sync = ok(await postJson(t.url(), body(t, params))).output.choices[0].message.content;
    const incremental = await postSse(t.url(), body(t, { ...params, incremental_output: true }));
    assert.equal(incremental.data.map((d) => d.output.choices[0].message.content).join(""), sync);
    const cumulative = await postSse(t.url(), body(t, { ...params, incremental_output: false }));
    assert.equal(cumulative.data[cumulative.data.length - 1].output.choices[0].message.content, sync);
    for (const d of incremental.data.slice(0, -1)) assert.equal(d.output.choices[0].finish_reason, "null");
  },
  "a stop string cuts the answer before it": async (t) => {
    const full = ok(await postJson(t.url(), body(t, { max_tokens: 12, result_format: "message" }))).output.choices[0].message.content as string;
    const stop = full.slice(3, 6);
    if (stop.trim() === "") return;
    const cut = ok(await postJson(t.url(), body(t, { max_tokens: 12, result_format: "message", stop }))).output.choices[0];
    assert.equal(cut.message.content, full.slice(0, full.indexOf(stop)));
    assert.equal(cut.finish_reason, "stop");
  },
  "n=2 gives two indexed choices": async (t) => {
    const reply = ok(await postJson(t.url(), body(t, { n: 2, max_tokens: 3, result_format: "message" })));
    assert.deepEqual(
      reply.output.choices.map((c: Json) => c.index),
      [0, 1],
    );
  },
  "forced tool call: sync and stream agree, arguments valid": async (t) => {
    const params = { tools: [WEATHER], tool_choice: { type: "function", function: { name: "get_weather" } } };
    const sync = ok(await postJson(t.url(), body(t, params))).output.choices[0];
    assert.equal(sync.finish_reason, "tool_calls");
    const call = sync.message.tool_calls[0];
    assert.match(call.id, /^call_/);
    assert.ok(["c", "f"].includes(JSON.parse(call.function.arguments).unit));
    const stream = await postSse(t.url(), body(t, { ...params, incremental_output: true }));
    const pieces = stream.data.flatMap((d) => d.output.choices[0].message.tool_calls ?? []);
    assert.equal(pieces.map((p: Json) => p.function.arguments).join(""), call.function.arguments);
    assert.equal(pieces[0].function.name, "get_weather");
    assert.equal(stream.data[stream.data.length - 1].output.choices[0].finish_reason, "tool_calls");
  },
  "tool_choice none: no call": async (t) => {
    const choice = ok(await postJson(t.url(), body(t, { tools: [WEATHER], tool_choice: "none", max_tokens: 4 }))).output.choices[0];
    assert.equal(choice.message.tool_calls, undefined);
  },
  "thinking with a budget": async (t) => {
    const stream = await postSse(t.url(), body(t, { enable_thinking: true, thinking_budget: 3, max_tokens: 2, incremental_output: true }));
    assert.equal(stream.status, 200);
    const last = stream.data[stream.data.length - 1];
    assert.equal(last.usage.output_tokens_details.reasoning_tokens, 3);
    for (const d of stream.data) assert.equal(typeof d.output.choices[0].message.reasoning_content, "string");
  },
  "json_object and strict json_schema answers parse and validate": async (t) => {
    const json = ok(await postJson(t.url(), body(t, { seed: 1, response_format: { type: "json_object" }, max_tokens: 120 }, "Reply in JSON")));
    assert.equal(json.output.finish_reason, "stop", "free-form keys end at this seed");
    assert.equal(typeof JSON.parse(json.output.text), "object");
    const schema = { type: "object", properties: { ok: { type: "boolean" } }, required: ["ok"], additionalProperties: false };
    const strict = ok(
      await postJson(
        t.url(),
        body(t, { result_format: "message", response_format: { type: "json_schema", json_schema: { name: "r", schema, strict: true } } }),
      ),
    );
    assert.equal(typeof JSON.parse(strict.output.choices[0].message.content).ok, "boolean");
  },
  "logprobs per token": async (t) => {
    const choice = ok(await postJson(t.url(), body(t, { logprobs: true, top_logprobs: 2, max_tokens: 3, result_format: "message" }))).output.choices[0];
    assert.equal(choice.logprobs.content.length, 3);
    for (const e of choice.logprobs.content) assert.ok(e.logprob <= 0 && e.top_logprobs.length <= 2);
  },
  "partial continues the assistant prefix": async (t) => {
    const messages = [
      { role: "user", content: "Write a poem" },
      { role: "assistant", content: "Spring comes", partial: true },
    ];
    const content = ok(await postJson(t.url(), body(t, { max_tokens: 4, result_format: "message" }, messages))).output.choices[0].message.content;
    assert.ok(!content.startsWith("Spring comes"));
  },
  "bad input is a DashScope error: unknown model, out-of-range parameter, SSE error frame": async (t) => {
    const unknown = await postJson(t.url(), { ...body(t, {}), model: "no-such-model" });
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.message, "Model not exist.");
    const range = await postJson(t.url(), body(t, { top_p: 0 }));
    assert.equal(range.status, 400);
    assert.equal(range.body.code, "InvalidParameter");
    const sse = await postSse(t.url(), body(t, { temperature: 2 }));
    assert.equal(sse.status, 200);
    assert.equal(sse.events[0]!.event, "error");
  },
  tokenizer: async (t) => {
    const reply = ok(await postJson(t.url(), { model: t.model, input: { prompt: "你好" } }, { path: "/api/v1/tokenizer" }));
    assert.ok(reply.output.token_ids.length > 0);
  },
};

/** Registers every case for a target; skipped ones say why. */
export function conformance(target: ConformanceTarget): void {
  describe(`conformance: ${target.name}`, () => {
    for (const [name, run] of Object.entries(CASES)) {
      const reason = target.skip[name];
      it(name, reason ? { skip: reason } : {}, () => run(target));
    }
  });
  const unknown = Object.keys(target.skip).filter((name) => !(name in CASES));
  if (unknown.length > 0) throw new Error(`${target.name}: skip list names unknown cases: ${unknown.join(", ")}`);
}
