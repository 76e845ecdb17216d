/**
 * Real streamed `/v1/chat/completions` bodies of vLLM, SGLang, llama-server and Ollama
 * (test/fixtures/upstream-streams/, provenance in its README.md) through sseEvents → ChunkTranslator.
 */
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { before, describe, it } from "node:test";
import { ApiError } from "../../core/errors.ts";
import type { DeltaEvent, EngineEvent, FinishReason, TokenLogprob, Usage } from "../../core/types.ts";
import { sseEvents } from "../upstream/index.ts";
import { ChunkTranslator } from "./chunkEvents.ts";

const FIXTURES = new URL("../../../test/fixtures/upstream-streams/", import.meta.url);

const EN_THOUGHT = "Okay, the user said hello. I should greet them back and offer help.";
const EN_ANSWER = "Hello! How can I help you today?";
const ZH_THOUGHT = "嗯，用户用中文打招呼，我应该用中文友好地回应。";
const ZH_ANSWER = "你好！有什么我可以帮你的吗？";
const WEATHER_CALLS = [
  { name: "get_weather", arguments: { city: "Beijing" } },
  { name: "get_weather", arguments: { city: "Shanghai" } },
];

type Aspect = "deltas" | "content" | "reasoning" | "toolCalls" | "finish" | "usage";

interface Expected {
  /** Passed to the translator: the request asked for thinking. */
  reasoning: boolean;
  content: string;
  thought?: string;
  toolCalls?: { name: string; arguments: unknown }[];
  finish: FinishReason;
  /** The engine's own counts from its usage chunk (reasoning/cached only where the engine reports them). */
  usage: { input: number; output: number; reasoning?: number; cached?: number };
  /** The fixture carries logprobs: those attached to content deltas must spell the content. */
  logprobs?: boolean;
  /** Known translator gaps: the aspect's test runs as a todo with this explanation. */
  todo?: Partial<Record<Aspect, string>>;
}

// vLLM and SGLang pass Qwen3's newlines around <think>…</think> through; llama-server and Ollama trim them.
// The translator removes them, as the native answer has none.
const EXPECTED: Record<string, Expected> = {
  "vllm-content.sse": {
    reasoning: false,
    content: EN_ANSWER,
    finish: "stop",
    usage: { input: 13, output: 10 },
    logprobs: true,
  },
  "vllm-continuous-usage.sse": { reasoning: false, content: ZH_ANSWER, finish: "stop", usage: { input: 14, output: 9 } },
  "vllm-reasoning.sse": {
    reasoning: true,
    content: EN_ANSWER,
    thought: EN_THOUGHT,
    finish: "stop",
    usage: { input: 9, output: 30, reasoning: 17 },
  },
  "vllm-reasoning-both.sse": { reasoning: true, content: ZH_ANSWER, thought: ZH_THOUGHT, finish: "stop", usage: { input: 10, output: 28 } },
  "vllm-reasoning_content.sse": { reasoning: true, content: EN_ANSWER, thought: EN_THOUGHT, finish: "stop", usage: { input: 9, output: 30 } },
  // vLLM's hermes parser passes the "\n" between two <tool_call> blocks through as content; the translator drops it.
  "vllm-tools.sse": { reasoning: false, content: "", toolCalls: WEATHER_CALLS, finish: "tool_calls", usage: { input: 262, output: 42 } },
  "sglang-content.sse": { reasoning: false, content: "你好！有什么我可以帮你的", finish: "length", usage: { input: 14, output: 6 } },
  "sglang-reasoning.sse": {
    reasoning: true,
    content: EN_ANSWER,
    thought: EN_THOUGHT,
    finish: "stop",
    usage: { input: 9, output: 30, reasoning: 19 },
  },
  "sglang-tools.sse": { reasoning: false, content: "", toolCalls: WEATHER_CALLS, finish: "tool_calls", usage: { input: 262, output: 42 } },
  "llama-server-content.sse": { reasoning: false, content: ZH_ANSWER, finish: "stop", usage: { input: 14, output: 9, cached: 0 } },
  "llama-server-reasoning.sse": { reasoning: true, content: EN_ANSWER, thought: EN_THOUGHT, finish: "stop", usage: { input: 10, output: 30, cached: 0 } },
  "llama-server-tools.sse": { reasoning: false, content: "", toolCalls: WEATHER_CALLS, finish: "tool_calls", usage: { input: 263, output: 42, cached: 251 } },
  "ollama-content.sse": { reasoning: false, content: EN_ANSWER, finish: "stop", usage: { input: 15, output: 10 } },
  "ollama-reasoning.sse": { reasoning: true, content: EN_ANSWER, thought: EN_THOUGHT, finish: "stop", usage: { input: 11, output: 30 } },
  "ollama-tools.sse": { reasoning: false, content: "", toolCalls: WEATHER_CALLS, finish: "tool_calls", usage: { input: 252, output: 42 } },
};

function streamOf(bytes: Uint8Array, chunkSize: number): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      for (let i = 0; i < bytes.length; i += chunkSize) controller.enqueue(bytes.slice(i, i + chunkSize));
      controller.close();
    },
  });
}

async function payloads(bytes: Uint8Array, chunkSize: number): Promise<string[]> {
  const out: string[] = [];
  for await (const event of sseEvents(streamOf(bytes, chunkSize))) out.push(event.data);
  return out;
}

interface Run {
  whole: string[];
  split: string[];
  events: EngineEvent[];
  /** What the translator makes of the last payload. */
  done: EngineEvent[] | "done";
  usage: Usage;
  unfinished: number[];
}

async function run(file: string, expected: Expected): Promise<Run> {
  const bytes = new Uint8Array(readFileSync(new URL(file, FIXTURES)));
  const whole = await payloads(bytes, bytes.length);
  const split = await payloads(bytes, 7);
  const translator = new ChunkTranslator(0, expected.reasoning);
  const events = split.filter((data) => data !== "[DONE]").flatMap((data) => translator.translate({ event: "message", data }) as EngineEvent[]);
  const done = translator.translate({ event: "message", data: split.at(-1) ?? "" });
  return { whole, split, events, done, usage: translator.usageOf(0), unfinished: translator.unfinished() };
}

const deltas = (events: EngineEvent[]) => events.filter((e): e is DeltaEvent => e.type === "delta");

it("every fixture file has an expectation, and every expectation a file", () => {
  const files = readdirSync(FIXTURES).filter((name) => name.endsWith(".sse"));
  assert.deepEqual(files.sort(), Object.keys(EXPECTED).sort());
});

for (const [file, expected] of Object.entries(EXPECTED)) {
  describe(file, () => {
    let result: Run;
    before(async () => {
      result = await run(file, expected);
    });
    const todo = (aspect: Aspect) => (expected.todo?.[aspect] ? { todo: expected.todo[aspect] } : {});

    it("splits into the same data payloads whatever the chunking, ending with [DONE]", () => {
      assert.deepEqual(result.split, result.whole);
      assert.equal(result.whole.at(-1), "[DONE]");
      assert.equal(result.whole.filter((data) => data === "[DONE]").length, 1);
      assert.equal(result.done, "done");
    });

    it("emits deltas only with something in them", todo("deltas"), () => {
      for (const e of deltas(result.events)) assert.ok(e.content || e.reasoning || e.toolCalls || e.logprobs, `empty delta ${JSON.stringify(e)}`);
    });

    it("concatenates the content", todo("content"), () => {
      assert.equal(
        deltas(result.events)
          .map((e) => e.content ?? "")
          .join(""),
        expected.content,
      );
      if (expected.logprobs) {
        const tokens = deltas(result.events).flatMap((e) => e.logprobs ?? []);
        assert.equal(tokens.map((t: TokenLogprob) => t.token).join(""), expected.content);
      }
    });

    it("concatenates the reasoning", todo("reasoning"), () => {
      assert.equal(
        deltas(result.events)
          .map((e) => e.reasoning ?? "")
          .join(""),
        expected.thought ?? "",
      );
    });

    it("reassembles the tool calls", todo("toolCalls"), () => {
      const calls = new Map<number, { id: string; name: string; arguments: string }>();
      for (const piece of deltas(result.events).flatMap((e) => e.toolCalls ?? [])) {
        const call = calls.get(piece.index);
        if (call) {
          assert.equal(piece.id, undefined, `only the first piece of call ${piece.index} carries an id`);
          call.arguments += piece.arguments;
        } else {
          assert.ok(piece.id, `the first piece of call ${piece.index} has an id`);
          assert.ok(piece.name, `the first piece of call ${piece.index} has a name`);
          calls.set(piece.index, { id: piece.id, name: piece.name, arguments: piece.arguments });
        }
      }
      const reassembled = [...calls.entries()].sort(([a], [b]) => a - b).map(([, c]) => ({ name: c.name, arguments: JSON.parse(c.arguments) }));
      assert.deepEqual(reassembled, expected.toolCalls ?? []);
      const ids = [...calls.values()].map((c) => c.id);
      assert.equal(new Set(ids).size, ids.length, "tool call ids are distinct");
    });

    it("finishes the choice once, with the engine's reason", todo("finish"), () => {
      const finishes = result.events.filter((e) => e.type === "finish");
      assert.deepEqual(
        finishes.map((e) => [e.index, e.reason]),
        [[0, expected.finish]],
      );
      assert.equal(result.events.at(-1)?.type, "finish", "nothing follows the finish");
      assert.deepEqual(result.unfinished, []);
    });

    it("reports the engine's usage", todo("usage"), () => {
      const { input, output, reasoning, cached } = expected.usage;
      assert.equal(result.usage.inputTokens, input);
      assert.equal(result.usage.outputTokens, output);
      if (cached !== undefined) assert.equal(result.usage.cachedTokens, cached);
      if (reasoning !== undefined) assert.equal(result.usage.reasoningTokens, reasoning);
    });
  });
}

describe("a malformed chunk", () => {
  const cases: Record<string, string> = {
    "not JSON": "{oops",
    "not an object": "[1, 2]",
    "choices not a list": '{"choices": {}}',
    "a null choice": '{"choices": [null]}',
    "content not text": '{"choices": [{"index": 0, "delta": {"content": 5}}]}',
    "arguments as an object": '{"choices": [{"delta": {"tool_calls": [{"index": 0, "function": {"arguments": {"a": 1}}}]}}]}',
    "a negative index": '{"choices": [{"index": -1, "delta": {"content": "x"}}]}',
    "usage counts as text": '{"choices": [], "usage": {"prompt_tokens": "9"}}',
    "a logprob as text": '{"choices": [{"delta": {"content": "x"}, "logprobs": {"content": [{"token": "x", "logprob": "low"}]}}]}',
  };
  for (const [name, data] of Object.entries(cases)) {
    it(`${name}: a ModelUnavailable error naming the problem, not a TypeError`, () => {
      assert.throws(
        () => new ChunkTranslator().translate({ event: "message", data }),
        (error: unknown) => {
          assert.ok(error instanceof ApiError, `${name}: ${String(error)}`);
          assert.equal(error.status, 503);
          assert.equal(error.code, "ModelUnavailable");
          assert.match(error.message, /^The upstream engine sent a chunk that (is not JSON|does not have the expected shape \(.+\)): /);
          return true;
        },
      );
    });
  }

  it("names the field that is wrong", () => {
    assert.throws(
      () => new ChunkTranslator().translate({ event: "message", data: '{"choices": [{"index": 0, "delta": {"content": 5}}]}' }),
      /\(choices\[0\]\.delta\.content: Invalid input: expected string, received number\)/,
    );
  });

  it("nulls and fields the translator does not know pass", () => {
    const data = JSON.stringify({
      id: "chatcmpl-1",
      object: "chat.completion.chunk",
      system_fingerprint: null,
      choices: [
        {
          index: 0,
          delta: { role: "assistant", content: "Hi", reasoning_content: null, tool_calls: null },
          logprobs: null,
          finish_reason: null,
          stop_reason: null,
        },
      ],
      usage: null,
    });
    const events = new ChunkTranslator().translate({ event: "message", data });
    assert.deepEqual(events, [{ type: "delta", index: 0, content: "Hi", usage: { inputTokens: 0, outputTokens: 1 } }]);
  });

  it("an engine's error chunk is the engine's failure", () => {
    assert.throws(
      () => new ChunkTranslator().translate({ event: "message", data: '{"error": {"message": "CUDA out of memory"}}' }),
      /The upstream engine failed: CUDA out of memory/,
    );
  });
});
