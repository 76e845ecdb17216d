import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EngineEvent, SearchInfo, SearchOutcome, Usage } from "../../core/types.ts";
import { NativeResponseCollector, NativeStreamEncoder, resultFrame, type ResponseShape } from "./index.ts";
import { parseSseBody } from "../../../test/helpers/sse.ts";
import { CAPTURES_SKIP, readCapture, readCaptureJson, warnIfCapturesAbsent } from "../../../test/helpers/captures.ts";

warnIfCapturesAbsent("encodeSearch.test.ts");

type Json = Record<string, any>;

const MESSAGE: ResponseShape = { resultFormat: "message", incrementalOutput: true, reasoning: false, logprobs: false };

/** Deep copy without the `index` keys of choices (we always number choices; old captures do not). */
function withoutChoiceIndex(data: Json): Json {
  const copy = JSON.parse(JSON.stringify(data)) as Json;
  for (const choice of copy.output?.choices ?? []) delete choice.index;
  return copy;
}

const fromWire = (u: Json): Usage => ({ inputTokens: u.input_tokens, outputTokens: u.output_tokens, cachedTokens: u.prompt_tokens_details?.cached_tokens });

function infoFromWire(info: Json): SearchInfo {
  return {
    results: info.search_results.map((r: Json) => ({ index: r.index, title: r.title, url: r.url, siteName: r.site_name, icon: r.icon })),
    extraToolInfo: (info.extra_tool_info ?? []).map((t: Json) => ({ tool: t.tool, result: t.result })),
  };
}

describe("DashScope encoders with web search vs the real captures", () => {
  it("sync (single-generation-message-search-nosse): output.search_info and usage.plugins, same values and key order", { skip: CAPTURES_SKIP }, () => {
    const captured = readCaptureJson("single-generation-message-search-nosse", "response.body.txt") as Json;
    const choice = captured.output.choices[0];
    const usage = fromWire(captured.usage);
    const search: SearchOutcome = { info: infoFromWire(captured.output.search_info), usage: captured.usage.plugins.search, prepended: false };
    const collector = new NativeResponseCollector(MESSAGE, captured.request_id);
    collector.add({ type: "delta", index: 0, content: choice.message.content, usage, search });
    collector.add({ type: "finish", index: 0, reason: "stop", usage });
    const ours = collector.body() as Json;
    assert.deepEqual(withoutChoiceIndex(ours), captured);
    // Byte for byte where we control the order: search_info (and its entries), plugins.
    assert.equal(JSON.stringify(ours.output.search_info), JSON.stringify(captured.output.search_info));
    assert.deepEqual(Object.keys(ours.output), ["choices", "search_info"]);
    assert.equal(JSON.stringify(ours.usage.plugins), JSON.stringify(captured.usage.plugins));
    const keys = Object.keys(ours.usage);
    assert.equal(keys.indexOf("plugins") + 1, keys.indexOf("prompt_tokens_details"), "plugins right before prompt_tokens_details, as captured");
  });

  it(
    "stream (single-generation-message-search-sse, prepend_search_result): sources-only first event with usage {}, then empty search_info and plugins on every event",
    { skip: CAPTURES_SKIP },
    () => {
      const request = readCaptureJson("single-generation-message-search-sse", "request.body.json") as Json;
      assert.equal(request.parameters.search_options.prepend_search_result, true);
      const datas = parseSseBody(readCapture("single-generation-message-search-sse", "response.body.txt")).map((e) => JSON.parse(e.data) as Json);
      const rid = datas[0]!.request_id as string;
      const plugins = datas[1]!.usage.plugins.search;
      const events: EngineEvent[] = datas.map((data, i) => {
        const c = data.output.choices[0];
        if (i === 0) {
          return {
            type: "delta",
            index: 0,
            content: "",
            usage: { inputTokens: 0, outputTokens: 0 },
            search: { info: infoFromWire(data.output.search_info), usage: plugins, prepended: true },
          };
        }
        if (c.finish_reason !== "null") return { type: "finish", index: 0, reason: c.finish_reason, usage: fromWire(data.usage) };
        return { type: "delta", index: 0, content: c.message.content, usage: fromWire(data.usage) };
      });
      const encoder = new NativeStreamEncoder(MESSAGE, rid);
      const frames = events.map((e, i) => resultFrame(i + 1, encoder.encode(e)));
      assert.equal(frames.length, datas.length);
      const capturedLines = readCapture("single-generation-message-search-sse", "response.body.txt")
        .split("\n")
        .filter((l) => l.startsWith("data:"));
      for (const [i, frame] of frames.entries()) {
        const ours = JSON.parse(parseSseBody(frame)[0]!.data) as Json;
        assert.deepEqual(withoutChoiceIndex(ours), datas[i], `event ${i + 1}`);
        assert.equal(JSON.stringify(ours.output.search_info), JSON.stringify(datas[i]!.output.search_info), `event ${i + 1} search_info bytes`);
        assert.deepEqual(Object.keys(ours), ["output", "usage", "request_id"]);
        assert.deepEqual(Object.keys(ours.output), ["choices", "search_info"]);
        if (i === 0) {
          // The whole first data line byte for byte, but for our choice index and the message's key
          // order (role before content: the encoder's order for every message, not search-specific).
          const normalized = withoutChoiceIndex(ours);
          const m = normalized.output.choices[0].message;
          normalized.output.choices[0].message = { content: m.content, role: m.role };
          assert.equal(JSON.stringify(normalized), capturedLines[0]!.slice(5));
          assert.equal(JSON.stringify(ours.usage), "{}");
        } else {
          assert.equal(JSON.stringify(ours.usage.plugins), JSON.stringify(datas[i]!.usage.plugins));
        }
      }
    },
  );

  it("stream without prepend: the event that brings the sources carries them in full, with content and usage", () => {
    const info: SearchInfo = { results: [{ index: 1, title: "T", url: "https://t.example/", siteName: "t.example", icon: "" }], extraToolInfo: [] };
    const encoder = new NativeStreamEncoder(MESSAGE, "rid");
    const first = encoder.encode({
      type: "delta",
      index: 0,
      content: "Hi",
      usage: { inputTokens: 5, outputTokens: 1 },
      search: { info, usage: { count: 1, strategy: "turbo" }, prepended: false },
    }) as Json;
    assert.equal(
      JSON.stringify(first),
      '{"output":{"choices":[{"message":{"role":"assistant","content":"Hi"},"index":0,"finish_reason":"null"}],"search_info":{"extra_tool_info":[],"search_results":[{"icon":"","site_name":"t.example","index":1,"title":"T","url":"https://t.example/"}]}},"usage":{"input_tokens":5,"output_tokens":1,"total_tokens":6,"plugins":{"search":{"count":1,"strategy":"turbo"}}},"request_id":"rid"}',
    );
    const next = encoder.encode({ type: "finish", index: 0, reason: "stop", usage: { inputTokens: 5, outputTokens: 1 } }) as Json;
    assert.deepEqual(next.output.search_info, { extra_tool_info: [], search_results: [] });
    assert.deepEqual(next.usage.plugins, { search: { count: 1, strategy: "turbo" } });
  });

  it("enable_source false: no search_info anywhere, plugins still reported; text format carries search_info too", () => {
    const encoder = new NativeStreamEncoder(MESSAGE, "rid");
    const a = encoder.encode({
      type: "delta",
      index: 0,
      content: "x",
      usage: { inputTokens: 1, outputTokens: 1 },
      search: { usage: { count: 1, strategy: "max" }, prepended: false },
    }) as Json;
    assert.equal(a.output.search_info, undefined);
    assert.deepEqual(a.usage.plugins, { search: { count: 1, strategy: "max" } });
    const collector = new NativeResponseCollector({ ...MESSAGE, resultFormat: "text" }, "rid");
    const info: SearchInfo = { results: [], extraToolInfo: [] };
    collector.add({
      type: "delta",
      index: 0,
      content: "x",
      usage: { inputTokens: 1, outputTokens: 1 },
      search: { info, usage: { count: 1, strategy: "standard" }, prepended: false },
    });
    collector.add({ type: "finish", index: 0, reason: "stop", usage: { inputTokens: 1, outputTokens: 1 } });
    const body = collector.body() as Json;
    assert.deepEqual(body.output, { finish_reason: "stop", text: "x", search_info: { extra_tool_info: [], search_results: [] } });
    assert.deepEqual(body.usage, { input_tokens: 1, output_tokens: 1, total_tokens: 2, plugins: { search: { count: 1, strategy: "standard" } } });
  });

  it("no search: bodies exactly as before (no search_info, no plugins)", () => {
    const collector = new NativeResponseCollector(MESSAGE, "rid");
    collector.add({ type: "finish", index: 0, reason: "stop", usage: { inputTokens: 1, outputTokens: 0 } });
    const body = collector.body() as Json;
    assert.deepEqual(Object.keys(body.output), ["choices"]);
    assert.equal(body.usage.plugins, undefined);
  });
});
