import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { EngineEvent } from "../../core/types.ts";
import { decodeGeneration } from "./decode.ts";
import { NativeResponseCollector, NativeStreamEncoder } from "./encode.ts";
import { finalizeShape } from "./shape.ts";
import { CAPTURES_SKIP, captureNames, readCapture, readCaptureJson, warnIfCapturesAbsent } from "../../../test/helpers/captures.ts";

warnIfCapturesAbsent("multimodal.test.ts");

const MULTIMODAL_CAPTURES = captureNames().filter((name) => name.startsWith("multimodal-generation-"));
/** Captures whose requests use what the multimodal decoder does not take (and why). */
const NOT_MEDIA_ITEMS: Record<string, string> = {};

describe("multimodal decode: the captured request bodies", () => {
  it("finds the multimodal captures", { skip: CAPTURES_SKIP }, () => {
    assert.ok(MULTIMODAL_CAPTURES.length >= 10, MULTIMODAL_CAPTURES.join(", "));
  });
  for (const name of MULTIMODAL_CAPTURES) {
    const body = (() => {
      try {
        return readCaptureJson(name, "request.body.json");
      } catch {
        return undefined;
      }
    })();
    if (body === undefined) continue;
    it(`${name}: decodes with its media items`, NOT_MEDIA_ITEMS[name] ? { todo: NOT_MEDIA_ITEMS[name] } : {}, () => {
      const { request, shape } = decodeGeneration(body, "r", "multimodal");
      assert.equal(shape.multimodal, true);
      const raw = JSON.stringify(body);
      const kinds = request.messages.flatMap((m) => m.content.map((p) => p.type));
      if (raw.includes('"image"')) assert.ok(kinds.includes("image") || kinds.includes("video"), kinds.join(","));
      if (raw.includes('"audio"')) assert.ok(kinds.includes("audio"), kinds.join(","));
      if (/"video"\s*:/.test(raw)) assert.ok(kinds.includes("video"), kinds.join(","));
    });
  }

  it("per-item options and parameters", () => {
    const { request } = decodeGeneration(
      {
        model: "qwen-vl-max",
        input: {
          messages: [
            { role: "system", content: [{ text: "be brief" }] },
            {
              role: "user",
              content: [{ image: "https://x/a.png", min_pixels: 3136, max_pixels: 1003520 }, { video: ["a", "b", "c", "d"], fps: 1 }, { text: "?" }],
            },
          ],
        },
        parameters: { vl_high_resolution_images: true, vl_enable_image_hw_output: true },
      },
      "r",
      "multimodal",
    );
    assert.deepEqual(request.messages[1]!.content[0], { type: "image", source: "https://x/a.png", options: { minPixels: 3136, maxPixels: 1003520 } });
    assert.deepEqual(request.messages[1]!.content[1], { type: "video", source: ["a", "b", "c", "d"], options: { fps: 1 } });
    assert.deepEqual(request.features.media, { highResolution: true, returnImageSize: true });
  });

  it("bad items are 400s naming the field", () => {
    const bad = (part: object) => () =>
      decodeGeneration({ model: "m", input: { messages: [{ role: "user", content: [part, { text: "?" }] }] } }, "r", "multimodal");
    assert.throws(bad({ video: "https://x/v.mp4", fps: 20 }), /input\.messages\[0\]\.content\[0\]\.fps must be a number in \[0\.1, 10\]/);
    assert.throws(bad({ image: "" }), /input\.messages\[0\]\.content\[0\]\.image must be a non-empty URL string/);
    assert.throws(bad({ image: "https://x", max_pixels: -1 }), /max_pixels must be a positive integer/);
    assert.throws(bad({ video: ["a", "b"] }), /at least 4 frames/);
  });
});

describe("multimodal encode: content arrays and media usage, as the captures", () => {
  const usage = { inputTokens: 1283, outputTokens: 2, imageTokens: 1247 };
  const events: EngineEvent[] = [
    { type: "delta", index: 0, content: "海滩", usage },
    { type: "finish", index: 0, reason: "stop", usage },
  ];

  it("stream events carry [{text}] (or []) and image_tokens like multimodal-generation-vl-sse", { skip: CAPTURES_SKIP }, () => {
    const { request, shape: requested } = decodeGeneration(readCaptureJson("multimodal-generation-vl-sse", "request.body.json"), "r", "multimodal");
    const shape = finalizeShape(requested, request, { stream: true, strict: false });
    const encoder = new NativeStreamEncoder(shape, "r");
    const [first, last] = events.map((e) => encoder.encode(e)) as Json[];
    const captured = JSON.parse(
      readCapture("multimodal-generation-vl-sse", "response.body.txt")
        .split("\n")
        .find((l) => l.startsWith("data:"))!
        .slice(5),
    );
    assert.deepEqual(Object.keys(first.output.choices[0].message).sort(), Object.keys(captured.output.choices[0].message).sort());
    assert.deepEqual(first.output.choices[0].message.content, [{ text: "海滩" }]);
    assert.deepEqual(last.output.choices[0].message.content, []);
    assert.equal(first.usage.image_tokens, 1247);
    for (const key of Object.keys(captured.usage)) assert.ok(key in first.usage, key);
  });

  it("sync answers too (multimodal-generation-vl-nosse shape)", { skip: CAPTURES_SKIP }, () => {
    const { request, shape: requested } = decodeGeneration(readCaptureJson("multimodal-generation-vl-nosse", "request.body.json"), "r", "multimodal");
    const collector = new NativeResponseCollector(finalizeShape(requested, request, { stream: false, strict: false }), "r");
    for (const event of events) collector.add(event);
    const body = collector.body() as Json;
    assert.deepEqual(body.output.choices[0].message.content, [{ text: "海滩" }]);
    assert.equal(body.usage.image_tokens, 1247);
  });
});

type Json = any;
