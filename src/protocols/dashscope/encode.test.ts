import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { type ApiError, errors, invalidParameter } from "../../core/errors.ts";
import type { DeltaEvent, EngineEvent, FinishReason, ToolCallDelta, Usage } from "../../core/types.ts";
import {
  EMPTY_MESSAGE,
  NativeResponseCollector,
  NativeStreamEncoder,
  nativeErrorBody,
  nativeErrorFrame,
  resultFrame,
  sumUsage,
  wireUsage,
  type ResponseShape,
} from "./index.ts";
import { CAPTURES_SKIP, keysOf, readCapture, readCaptureJson, responseStatus, warnIfCapturesAbsent } from "../../../test/helpers/captures.ts";
import { parseSseBody } from "../../../test/helpers/sse.ts";

warnIfCapturesAbsent("encode.test.ts");

type Json = Record<string, any>;

const RID = "5b441aa7-0b9c-9fbc-ae0a-e2b212b71eac";

const usage = (inputTokens: number, outputTokens: number, extra: Partial<Usage> = {}): Usage => ({ inputTokens, outputTokens, ...extra });
const delta = (content: string, u: Usage, index = 0): EngineEvent => ({ type: "delta", index, content, usage: u });
const finish = (reason: FinishReason, u: Usage, index = 0): EngineEvent => ({ type: "finish", index, reason, usage: u });

/** Deltas (one with a raw newline) then the finish, as a backend emits them. */
const EVENTS: EngineEvent[] = [delta("Hello", usage(10, 1)), delta(" wor\nld", usage(10, 3)), delta("!", usage(10, 4)), finish("stop", usage(10, 4))];

/** Encodes events into SSE frames, numbered from 1 as the route does. */
function frames(shape: ResponseShape, events: EngineEvent[], requestId = RID): string[] {
  const encoder = new NativeStreamEncoder(shape, requestId);
  return events.map((event, i) => resultFrame(i + 1, encoder.encode(event)));
}

/** Splits one frame into its data object, checking the exact framing bytes on the way. */
function parseFrame(frame: string, id: number): Json {
  const match = /^id:(\d+)\nevent:result\n:HTTP_STATUS\/200\ndata:([^\n]*)\n\n$/.exec(frame);
  assert.ok(match, `bad framing: ${JSON.stringify(frame)}`);
  assert.equal(match[1], String(id));
  const data = match[2]!;
  assert.equal(frame, `id:${id}\nevent:result\n:HTTP_STATUS/200\ndata:${data}\n\n`);
  return JSON.parse(data) as Json;
}

/** The visible content of one event in either result format. */
function contentOf(data: Json, shape: ResponseShape): { content: string; finish: string } {
  if (shape.resultFormat === "text") return { content: data.output.text, finish: data.output.finish_reason };
  assert.equal(data.output.choices.length, 1);
  const choice = data.output.choices[0];
  assert.equal(choice.message.role, "assistant");
  return { content: choice.message.content, finish: choice.finish_reason };
}

/** Keys our side may add at any level relative to a real capture (documented divergence). */
const OUR_EXTRA_KEYS = new Set(["index", "prompt_tokens_details"]);

/**
 * Same JSON key structure at every level: every captured key exists on our side, and our extra
 * keys are limited to `index` (we always number choices, as newer real answers do) and
 * `prompt_tokens_details` (sent whenever the backend reports cached tokens).
 */
function assertSameKeys(ours: unknown, theirs: unknown, path = "$"): void {
  if (Array.isArray(theirs)) {
    assert.ok(Array.isArray(ours), `${path}: expected an array`);
    assert.equal(ours.length, theirs.length, `${path}: array length`);
    theirs.forEach((item, i) => {
      assertSameKeys(ours[i], item, `${path}[${i}]`);
    });
    return;
  }
  if (typeof theirs !== "object" || theirs === null) {
    assert.equal(typeof ours, typeof theirs, `${path}: value type`);
    return;
  }
  const ourKeys = keysOf(ours);
  const theirKeys = keysOf(theirs);
  for (const key of theirKeys) assert.ok(ourKeys.includes(key), `${path}: missing key "${key}" (ours: ${ourKeys.join(",")})`);
  for (const key of ourKeys) {
    assert.ok(theirKeys.includes(key) || OUR_EXTRA_KEYS.has(key), `${path}: unexpected key "${key}" (capture: ${theirKeys.join(",")})`);
  }
  for (const key of theirKeys) assertSameKeys((ours as Json)[key], (theirs as Json)[key], `${path}.${key}`);
}

/** Deep copy without the `index` keys (the one field we add to otherwise equal old captures). */
function withoutIndex(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutIndex);
  if (typeof value !== "object" || value === null) return value;
  return Object.fromEntries(
    Object.entries(value)
      .filter(([k]) => k !== "index")
      .map(([k, v]) => [k, withoutIndex(v)]),
  );
}

const fromWire = (u: Json): Usage => {
  const out: Usage = { inputTokens: u.input_tokens, outputTokens: u.output_tokens };
  if (u.prompt_tokens_details) out.cachedTokens = u.prompt_tokens_details.cached_tokens;
  if (u.output_tokens_details) out.reasoningTokens = u.output_tokens_details.reasoning_tokens;
  return out;
};

/** The delta event behind one captured message-format stream event (content, reasoning, tool-call pieces). */
function deltaFromWire(data: Json): DeltaEvent {
  const choice = data.output.choices[0];
  const event: DeltaEvent = { type: "delta", index: choice.index ?? 0, usage: fromWire(data.usage) };
  const m = choice.message;
  if (m.content) event.content = m.content;
  if (m.reasoning_content) event.reasoning = m.reasoning_content;
  if (m.tool_calls) {
    event.toolCalls = m.tool_calls.map(
      (c: Json): ToolCallDelta =>
        c.id ? { index: c.index, id: c.id, name: c.function.name, arguments: c.function.arguments } : { index: c.index, arguments: c.function.arguments },
    );
  }
  return event;
}

/**
 * Rebuilds the engine events behind a captured incremental stream: a `"null"` event is a delta
 * of its content, the final one a finish (whose content is empty in the captures used).
 */
function eventsFromCapture(datas: Json[], shape: ResponseShape): EngineEvent[] {
  return datas.map((data) => {
    const { content, finish: reason } = contentOf(data, shape);
    if (reason === "null") return shape.resultFormat === "message" ? deltaFromWire(data) : delta(content, fromWire(data.usage));
    assert.equal(content, "", "final captured event carries no content");
    return finish(reason as FinishReason, fromWire(data.usage));
  });
}

/** The non-blank lines of a captured SSE body in 4-line events (some captures lost their blank lines). */
function captureEventLines(name: string): string[][] {
  const lines = readCapture(name, "response.body.txt")
    .split("\n")
    .filter((l) => l !== "");
  assert.equal(lines.length % 4, 0, `${name}: 4 lines per event`);
  const events: string[][] = [];
  for (let i = 0; i < lines.length; i += 4) events.push(lines.slice(i, i + 4));
  return events;
}

const SHAPES: ResponseShape[] = [
  { resultFormat: "text", incrementalOutput: true, reasoning: false, logprobs: false },
  { resultFormat: "text", incrementalOutput: false, reasoning: false, logprobs: false },
  { resultFormat: "message", incrementalOutput: true, reasoning: false, logprobs: false },
  { resultFormat: "message", incrementalOutput: false, reasoning: false, logprobs: false },
];

describe("resultFrame", () => {
  it("writes id/event/status/data lines with no space after colons and one data line", () => {
    const frame = resultFrame(7, { output: { text: "a\nb\r\nc" }, usage: {}, request_id: "r" });
    assert.equal(frame, 'id:7\nevent:result\n:HTTP_STATUS/200\ndata:{"output":{"text":"a\\nb\\r\\nc"},"usage":{},"request_id":"r"}\n\n');
  });
});

describe("NativeStreamEncoder", () => {
  for (const shape of SHAPES) {
    const label = `${shape.resultFormat} / ${shape.incrementalOutput ? "incremental" : "cumulative"}`;
    it(`${label}: framing, finish_reason, role, usage, request_id, content`, () => {
      const out = frames(shape, EVENTS);
      assert.equal(out.length, EVENTS.length);
      const datas = out.map((frame, i) => parseFrame(frame, i + 1));
      const seen = datas.map((d) => contentOf(d, shape));
      assert.deepEqual(
        seen.map((s) => s.finish),
        ["null", "null", "null", "stop"],
      );
      const expected = shape.incrementalOutput ? ["Hello", " wor\nld", "!", ""] : ["Hello", "Hello wor\nld", "Hello wor\nld!", "Hello wor\nld!"];
      assert.deepEqual(
        seen.map((s) => s.content),
        expected,
      );
      if (shape.incrementalOutput) assert.equal(seen.map((s) => s.content).join(""), "Hello wor\nld!");
      for (const [i, data] of datas.entries()) {
        assert.deepEqual(keysOf(data), ["output", "request_id", "usage"]);
        assert.equal(data.request_id, RID);
        assert.equal(typeof data.output, "object");
        const expectedUsage = EVENTS[i]!.usage;
        assert.deepEqual(data.usage, {
          input_tokens: expectedUsage.inputTokens,
          output_tokens: expectedUsage.outputTokens,
          total_tokens: expectedUsage.inputTokens + expectedUsage.outputTokens,
        });
        if (shape.resultFormat === "text") assert.deepEqual(keysOf(data.output), ["finish_reason", "text"]);
        else {
          assert.deepEqual(keysOf(data.output), ["choices"]);
          assert.deepEqual(keysOf(data.output.choices[0]), ["finish_reason", "index", "message"]);
          assert.deepEqual(keysOf(data.output.choices[0].message), ["content", "role"]);
          assert.equal(data.output.choices[0].index, 0);
        }
      }
    });
  }

  it("finish_reason length / tool_calls pass through; the finish event's usage is reported", () => {
    const shape: ResponseShape = { resultFormat: "message", incrementalOutput: true, reasoning: false, logprobs: false };
    const encoder = new NativeStreamEncoder(shape, RID);
    encoder.encode(delta("abc", usage(5, 3)));
    const last = encoder.encode(finish("length", usage(5, 3, { cachedTokens: 2, reasoningTokens: 1 }))) as Json;
    assert.equal(last.output.choices[0].finish_reason, "length");
    assert.deepEqual(last.usage, {
      input_tokens: 5,
      output_tokens: 3,
      total_tokens: 8,
      prompt_tokens_details: { cached_tokens: 2 },
      output_tokens_details: { reasoning_tokens: 1 },
    });
  });

  it("n>1: each event carries one choice with its index; cumulative text is tracked per index", () => {
    const shape: ResponseShape = { resultFormat: "message", incrementalOutput: false, reasoning: false, logprobs: false };
    const encoder = new NativeStreamEncoder(shape, RID);
    const choice = (event: EngineEvent) => {
      const data = encoder.encode(event) as Json;
      assert.equal(data.output.choices.length, 1);
      return data.output.choices[0];
    };
    assert.deepEqual(choice(delta("a", usage(4, 1), 0)), { message: { role: "assistant", content: "a" }, index: 0, finish_reason: "null" });
    assert.deepEqual(choice(delta("x", usage(4, 1), 1)), { message: { role: "assistant", content: "x" }, index: 1, finish_reason: "null" });
    assert.deepEqual(choice(delta("b", usage(4, 2), 0)), { message: { role: "assistant", content: "ab" }, index: 0, finish_reason: "null" });
    assert.deepEqual(choice(finish("stop", usage(4, 1), 1)), { message: { role: "assistant", content: "x" }, index: 1, finish_reason: "stop" });
    assert.deepEqual(choice(finish("stop", usage(4, 2), 0)), { message: { role: "assistant", content: "ab" }, index: 0, finish_reason: "stop" });
  });
});

describe("NativeStreamEncoder vs real SSE captures", () => {
  const cases: [string, ResponseShape][] = [
    ["single-generation-text-sse", { resultFormat: "text", incrementalOutput: true, reasoning: false, logprobs: false }],
    ["single-generation-message-sse", { resultFormat: "message", incrementalOutput: true, reasoning: false, logprobs: false }],
    ["single-generation-message-reasoning-sse", { resultFormat: "message", incrementalOutput: true, reasoning: true, logprobs: false }],
    ["single-generation-message-with-tools-sse", { resultFormat: "message", incrementalOutput: true, reasoning: false, logprobs: false }],
  ];
  for (const [name, shape] of cases) {
    it(`${name}: same framing lines, same keys at every level, same values (but index)`, { skip: CAPTURES_SKIP }, () => {
      const request = readCaptureJson(name, "request.body.json") as Json;
      assert.equal(request.parameters.result_format ?? "message", shape.resultFormat);
      assert.equal(request.parameters.incremental_output ?? true, shape.incrementalOutput);

      const captured = parseSseBody(readCapture(name, "response.body.txt"));
      const rawEvents = captureEventLines(name);
      assert.equal(captured.length, rawEvents.length);
      assert.ok(captured.length >= 5);
      const capturedDatas = captured.map((e) => JSON.parse(e.data) as Json);
      const requestId = capturedDatas[0]!.request_id as string;

      const ours = frames(shape, eventsFromCapture(capturedDatas, shape), requestId);
      assert.equal(ours.length, captured.length);
      for (const [i, frame] of ours.entries()) {
        const ourLines = frame.split("\n");
        const theirLines = rawEvents[i]!;
        // id / event / :HTTP_STATUS lines byte for byte; then one data line; then the blank line.
        assert.deepEqual(ourLines.slice(0, 3), theirLines.slice(0, 3), `event ${i + 1} framing`);
        assert.equal(ourLines.length, 6);
        assert.ok(ourLines[3]!.startsWith("data:") && theirLines[3]!.startsWith("data:"));
        assert.deepEqual(ourLines.slice(4), ["", ""]);
        const parsed = parseSseBody(frame);
        assert.equal(parsed.length, 1);
        assert.deepEqual({ ...parsed[0], data: "" }, { ...captured[i], data: "" });

        const ourData = JSON.parse(ourLines[3]!.slice(5)) as Json;
        assertSameKeys(ourData, capturedDatas[i], `${name}#${i + 1}`);
        assert.deepEqual(withoutIndex(ourData), withoutIndex(capturedDatas[i]), `event ${i + 1} values`);
      }
    });
  }

  it("single-generation-message-with-parallel-tools-sse: tool-call deltas frame for frame (finish in its own event)", { skip: CAPTURES_SKIP }, () => {
    const shape: ResponseShape = { resultFormat: "message", incrementalOutput: true, reasoning: false, logprobs: false };
    const captured = parseSseBody(readCapture("single-generation-message-with-parallel-tools-sse", "response.body.txt")).map((e) => JSON.parse(e.data) as Json);
    assert.equal(captured.length, 4);
    // The real server puts finish_reason on the last argument piece; openscope sends that piece, then the finish.
    const last = captured[3]!;
    const lastAsDelta = { ...last, output: { choices: [{ ...last.output.choices[0], finish_reason: "null" }] } };
    const datas = [...captured.slice(0, 3), lastAsDelta];
    const events: EngineEvent[] = [...datas.map(deltaFromWire), finish("tool_calls", fromWire(last.usage))];
    const ours: Json[] = frames(shape, events, last.request_id).map((f, i) => parseFrame(f, i + 1));
    datas.forEach((data, i) => {
      assertSameKeys(ours[i], data, `event ${i + 1}`);
      assert.deepEqual(ours[i], data, `event ${i + 1}`);
    });
    assert.deepEqual(ours[4]!.output.choices[0], { message: { role: "assistant", content: "" }, index: 0, finish_reason: "tool_calls" });
  });

  it("cumulative mode repeats whole tool calls, reasoning and logprobs so far", () => {
    const shape: ResponseShape = { resultFormat: "message", incrementalOutput: false, reasoning: true, logprobs: true };
    const lp = (token: string) => ({ token, bytes: [...Buffer.from(token)], logprob: -0.5, topLogprobs: [] });
    const events: EngineEvent[] = [
      { type: "delta", index: 0, reasoning: "think", usage: { ...usage(5, 1), reasoningTokens: 1 } },
      { type: "delta", index: 0, content: "ok", logprobs: [lp("ok")], usage: { ...usage(5, 2), reasoningTokens: 1 } },
      { type: "delta", index: 0, toolCalls: [{ index: 0, id: "call_1", name: "f", arguments: '{"a":' }], usage: { ...usage(5, 3), reasoningTokens: 1 } },
      { type: "delta", index: 0, toolCalls: [{ index: 0, arguments: "1}" }], usage: { ...usage(5, 4), reasoningTokens: 1 } },
      { type: "finish", index: 0, reason: "tool_calls", usage: { ...usage(5, 4), reasoningTokens: 1 } },
    ];
    const datas: Json[] = frames(shape, events).map((f, i) => parseFrame(f, i + 1));
    const final = datas[4]!.output.choices[0];
    assert.deepEqual(final.message, {
      role: "assistant",
      content: "ok",
      reasoning_content: "think",
      tool_calls: [{ index: 0, id: "call_1", type: "function", function: { name: "f", arguments: '{"a":1}' } }],
    });
    assert.deepEqual(final.logprobs, { content: [{ top_logprobs: [], logprob: -0.5, bytes: [111, 107], token: "ok" }] });
    assert.equal(final.finish_reason, "tool_calls");
    assert.deepEqual(datas[2]!.output.choices[0].message.tool_calls[0].function, { name: "f", arguments: '{"a":' });
    assert.deepEqual(datas[4]!.usage.output_tokens_details, { reasoning_tokens: 1 });
    assert.equal(datas[0]!.output.choices[0].message.content, "");
    assert.equal(datas[0]!.output.choices[0].message.tool_calls, undefined, "no tool_calls key before the first call");
  });

  it("incremental mode: logprobs of each event's tokens only; reasoning_content always present in thinking mode", () => {
    const shape: ResponseShape = { resultFormat: "message", incrementalOutput: true, reasoning: true, logprobs: true };
    const lp = (token: string) => ({
      token,
      bytes: [...Buffer.from(token)],
      logprob: -1,
      topLogprobs: [{ token, bytes: [...Buffer.from(token)], logprob: -1 }],
    });
    const datas: Json[] = frames(shape, [
      { type: "delta", index: 0, content: "a", logprobs: [lp("a")], usage: usage(1, 1) },
      { type: "delta", index: 0, content: "b", logprobs: [lp("b")], usage: usage(1, 2) },
      finish("stop", usage(1, 2)),
    ]).map((f, i) => parseFrame(f, i + 1));
    assert.deepEqual(
      datas.map((d) => d.output.choices[0].logprobs.content.map((e: Json) => e.token)),
      [["a"], ["b"], []],
    );
    for (const d of datas) assert.equal(d.output.choices[0].message.reasoning_content, "");
  });

  it("single-generation-text-sse keeps its blank lines; our frames are byte-equal apart from JSON key order", { skip: CAPTURES_SKIP }, () => {
    const body = readCapture("single-generation-text-sse", "response.body.txt");
    const ours = frames(
      { resultFormat: "text", incrementalOutput: true, reasoning: false, logprobs: false },
      eventsFromCapture(
        parseSseBody(body).map((e) => JSON.parse(e.data) as Json),
        { resultFormat: "text", incrementalOutput: true, reasoning: false, logprobs: false },
      ),
      RID,
    ).join("");
    // Same bytes once the data lines are normalised (our usage keys come in another order).
    const normalise = (s: string) =>
      s.replace(/^data:(.*)$/gm, (_, json: string) => {
        const d = JSON.parse(json) as Json;
        return `data:${JSON.stringify({ o: d.output, u: keysOf(d.usage).map((k) => [k, d.usage[k]]), r: d.request_id })}`;
      });
    assert.equal(normalise(ours), normalise(body));
  });
});

describe("NativeResponseCollector", () => {
  it("tool calls in the sync order of the real server (function, index, id, type), reasoning and usage details", () => {
    const shape: ResponseShape = { resultFormat: "message", incrementalOutput: false, reasoning: true, logprobs: false };
    const collector = new NativeResponseCollector(shape, RID);
    collector.add({ type: "delta", index: 0, reasoning: "hm", usage: { ...usage(10, 1), reasoningTokens: 1 } });
    collector.add({
      type: "delta",
      index: 0,
      toolCalls: [{ index: 0, id: "call_a", name: "get", arguments: "{}" }],
      usage: { ...usage(10, 5), reasoningTokens: 1 },
    });
    collector.add({
      type: "delta",
      index: 0,
      toolCalls: [
        { index: 1, id: "call_b", name: "put", arguments: '{"x":' },
        { index: 1, arguments: "2}" },
      ],
      usage: { ...usage(10, 9), reasoningTokens: 1 },
    });
    collector.add({ type: "finish", index: 0, reason: "tool_calls", usage: { ...usage(10, 9), reasoningTokens: 1 } });
    const body = collector.body() as Json;
    assert.deepEqual(body.output.choices[0], {
      finish_reason: "tool_calls",
      index: 0,
      message: {
        role: "assistant",
        content: "",
        reasoning_content: "hm",
        tool_calls: [
          { function: { name: "get", arguments: "{}" }, index: 0, id: "call_a", type: "function" },
          { function: { name: "put", arguments: '{"x":2}' }, index: 1, id: "call_b", type: "function" },
        ],
      },
    });
    assert.deepEqual(Object.keys(body.output.choices[0].message.tool_calls[0] as object), ["function", "index", "id", "type"]);
    assert.deepEqual(body.usage.output_tokens_details, { reasoning_tokens: 1 });
  });

  it("text body", () => {
    const collector = new NativeResponseCollector({ resultFormat: "text", incrementalOutput: false, reasoning: false, logprobs: false }, RID);
    for (const event of EVENTS) collector.add(event);
    assert.deepEqual(collector.body(), {
      output: { finish_reason: "stop", text: "Hello wor\nld!" },
      usage: { input_tokens: 10, output_tokens: 4, total_tokens: 14 },
      request_id: RID,
    });
  });

  it("message body", () => {
    const collector = new NativeResponseCollector({ resultFormat: "message", incrementalOutput: false, reasoning: false, logprobs: false }, RID);
    for (const event of EVENTS) collector.add(event);
    assert.deepEqual(collector.body(), {
      output: { choices: [{ finish_reason: "stop", index: 0, message: { role: "assistant", content: "Hello wor\nld!" } }] },
      usage: { input_tokens: 10, output_tokens: 4, total_tokens: 14 },
      request_id: RID,
    });
  });

  it("incremental_output does not change a collected body", () => {
    const a = new NativeResponseCollector({ resultFormat: "message", incrementalOutput: true, reasoning: false, logprobs: false }, RID);
    const b = new NativeResponseCollector({ resultFormat: "message", incrementalOutput: false, reasoning: false, logprobs: false }, RID);
    for (const event of EVENTS) {
      a.add(event);
      b.add(event);
    }
    assert.deepEqual(a.body(), b.body());
  });

  it("n=2 with interleaved indices: choices sorted by index, output tokens summed, input once", () => {
    const collector = new NativeResponseCollector({ resultFormat: "message", incrementalOutput: false, reasoning: false, logprobs: false }, RID);
    const events: EngineEvent[] = [
      delta("B1", usage(20, 1), 1),
      delta("A1", usage(20, 1), 0),
      delta("B2", usage(20, 2), 1),
      finish("length", usage(20, 2), 1),
      delta("A2", usage(20, 2), 0),
      delta("A3", usage(20, 3), 0),
      finish("stop", usage(20, 3), 0),
    ];
    for (const event of events) collector.add(event);
    assert.deepEqual(collector.body(), {
      output: {
        choices: [
          { finish_reason: "stop", index: 0, message: { role: "assistant", content: "A1A2A3" } },
          { finish_reason: "length", index: 1, message: { role: "assistant", content: "B1B2" } },
        ],
      },
      usage: { input_tokens: 20, output_tokens: 5, total_tokens: 25 },
      request_id: RID,
    });
  });

  it("a choice that never finished reports stop; no events gives an empty answer", () => {
    const collector = new NativeResponseCollector({ resultFormat: "text", incrementalOutput: false, reasoning: false, logprobs: false }, RID);
    collector.add(delta("partial", usage(3, 1)));
    assert.deepEqual((collector.body() as Json).output, { finish_reason: "stop", text: "partial" });
    const empty = new NativeResponseCollector({ resultFormat: "message", incrementalOutput: false, reasoning: false, logprobs: false }, RID);
    assert.deepEqual(empty.body(), { output: { choices: [] }, usage: { input_tokens: 0, output_tokens: 0, total_tokens: 0 }, request_id: RID });
  });
});

describe("NativeResponseCollector vs real JSON captures", () => {
  it("single-generation-text-nosse: identical body for the same text, usage and request_id", { skip: CAPTURES_SKIP }, () => {
    const name = "single-generation-text-nosse";
    const captured = readCaptureJson(name, "response.body.txt") as Json;
    assert.equal(responseStatus(name), 200);
    const collector = new NativeResponseCollector({ resultFormat: "text", incrementalOutput: false, reasoning: false, logprobs: false }, captured.request_id);
    const text: string = captured.output.text;
    const u = fromWire(captured.usage);
    collector.add(delta(text.slice(0, 3), { ...u, outputTokens: 1 }));
    collector.add(delta(text.slice(3), u));
    collector.add(finish("stop", u));
    const body = collector.body();
    assertSameKeys(body, captured, name);
    assert.deepEqual(body, captured);
  });

  it("single-generation-message-nosse: same structure; values equal but for our choice index", { skip: CAPTURES_SKIP }, () => {
    const name = "single-generation-message-nosse";
    const captured = readCaptureJson(name, "response.body.txt") as Json;
    const collector = new NativeResponseCollector(
      { resultFormat: "message", incrementalOutput: false, reasoning: false, logprobs: false },
      captured.request_id,
    );
    const u = fromWire(captured.usage);
    collector.add(delta(captured.output.choices[0].message.content, u));
    collector.add(finish("stop", u));
    const body = collector.body();
    assertSameKeys(body, captured, name);
    assert.deepEqual(withoutIndex(body), captured);
  });

  it("single-generation-message-roleplay-nosse (n=2): identical body from interleaved events", { skip: CAPTURES_SKIP }, () => {
    const name = "single-generation-message-roleplay-nosse";
    const captured = readCaptureJson(name, "response.body.txt") as Json;
    const [c0, c1] = captured.output.choices as Json[];
    const total = fromWire(captured.usage);
    // Split the summed output between the two choices; each reports the shared prompt.
    const u0 = { ...total, outputTokens: 50 };
    const u1 = { ...total, outputTokens: total.outputTokens - 50 };
    const a: string = c0!.message.content;
    const b: string = c1!.message.content;
    const collector = new NativeResponseCollector(
      { resultFormat: "message", incrementalOutput: false, reasoning: false, logprobs: false },
      captured.request_id,
    );
    for (const event of [
      delta(b.slice(0, 5), { ...u1, outputTokens: 2 }, 1),
      delta(a.slice(0, 7), { ...u0, outputTokens: 3 }, 0),
      delta(b.slice(5), u1, 1),
      finish("stop", u1, 1),
      delta(a.slice(7), u0, 0),
      finish("stop", u0, 0),
    ]) {
      collector.add(event);
    }
    const body = collector.body();
    assertSameKeys(body, captured, name);
    assert.deepEqual(body, captured);
  });
});

describe("native errors", () => {
  it("nativeErrorFrame matches parameter-error-sse byte for byte (plus the required blank line)", { skip: CAPTURES_SKIP }, () => {
    const body = readCapture("parameter-error-sse", "response.body.txt");
    const [event] = parseSseBody(body);
    const requestId = (JSON.parse(event!.data) as Json).request_id as string;
    const frame = nativeErrorFrame(invalidParameter(EMPTY_MESSAGE), requestId, 1);
    // The capture lost its final blank line (as several captures did); protocol.md §6.2 rule 6 requires it.
    assert.equal(frame, `${body.replace(/\n*$/, "")}\n\n`);
    // With another request_id only the request_id differs.
    const other = nativeErrorFrame(invalidParameter(EMPTY_MESSAGE), "my-id", 1);
    assert.equal(other, frame.replace(requestId, "my-id"));
    assert.deepEqual(parseSseBody(other), [{ ...event, data: event!.data.replace(requestId, "my-id") }]);
  });

  it("nativeErrorFrame framing for other statuses and later event ids", () => {
    const frame = nativeErrorFrame(errors.internal(), "r", 7);
    assert.equal(
      frame,
      'id:7\nevent:error\n:HTTP_STATUS/500\ndata:{"code":"InternalError","message":"An internal error has occured, please try again later or contact service support.","request_id":"r"}\n\n',
    );
    assert.ok(!frame.includes("event: "));
  });

  it("nativeErrorBody matches parameter-error-nosse and auth-error-nosse exactly", { skip: CAPTURES_SKIP }, () => {
    const cases: [string, ApiError][] = [
      ["parameter-error-nosse", invalidParameter(EMPTY_MESSAGE)],
      ["auth-error-nosse", errors.invalidApiKey()],
    ];
    for (const [name, error] of cases) {
      const captured = readCaptureJson(name, "response.body.txt") as Json;
      assert.equal(responseStatus(name), error.status, name);
      const body = nativeErrorBody(error, captured.request_id);
      assert.deepEqual(keysOf(body), keysOf(captured), name);
      assert.deepEqual(body, captured, name);
      assert.equal(JSON.stringify(body), JSON.stringify(captured), `${name}: key order too`);
    }
  });

  it("nativeErrorBody shape without captures", () => {
    assert.deepEqual(nativeErrorBody(errors.emptyModel(), "r"), {
      code: "BadRequest.EmptyModel",
      message: 'Required parameter "model" missing from request.',
      request_id: "r",
    });
  });
});

describe("usage", () => {
  it("wireUsage: total = input + output; details only when reported", () => {
    assert.deepEqual(wireUsage(usage(16, 14)), { input_tokens: 16, output_tokens: 14, total_tokens: 30 });
    assert.deepEqual(wireUsage(usage(16, 14, { cachedTokens: 0 })), {
      input_tokens: 16,
      output_tokens: 14,
      total_tokens: 30,
      prompt_tokens_details: { cached_tokens: 0 },
    });
    assert.deepEqual(wireUsage(usage(12, 21, { cachedTokens: 4, reasoningTokens: 20 })), {
      input_tokens: 12,
      output_tokens: 21,
      total_tokens: 33,
      prompt_tokens_details: { cached_tokens: 4 },
      output_tokens_details: { reasoning_tokens: 20 },
    });
  });

  it("sumUsage: prompt (and its cache) once, outputs and reasoning summed", () => {
    assert.deepEqual(sumUsage([]), { inputTokens: 0, outputTokens: 0 });
    assert.deepEqual(sumUsage([usage(7, 3)]), usage(7, 3));
    assert.deepEqual(sumUsage([usage(186, 50, { cachedTokens: 10, reasoningTokens: 5 }), usage(186, 33, { cachedTokens: 10, reasoningTokens: 2 })]), {
      inputTokens: 186,
      outputTokens: 83,
      cachedTokens: 10,
      reasoningTokens: 7,
    });
    assert.deepEqual(sumUsage([usage(5, 1), usage(5, 2, { reasoningTokens: 2 })]), { inputTokens: 5, outputTokens: 3, reasoningTokens: 2 });
  });
});
