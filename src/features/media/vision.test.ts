import assert from "node:assert/strict";
import { describe, it } from "node:test";
import {
  framePixelBounds,
  imageListFrameCount,
  imageRules,
  imageTokens,
  planVideoFile,
  pyRound,
  smartResize,
  videoFrameCount,
  videoRules,
  videoTokens,
  visionFamily,
  VisionInputError,
} from "./vision.ts";

describe("visionFamily", () => {
  const cases: [string, string, number][] = [
    ["qwen3-vl-plus", "qwen3-vl-large", 32],
    ["qwen3-vl-flash-2025-10-15", "qwen3-vl-large", 32],
    ["qwen3-vl-235b-a22b-instruct", "qwen3-vl-large", 32],
    ["qwen3-vl-8b-instruct", "qwen3-vl", 32],
    ["qwen3.6-plus", "qwen3-vl", 32],
    ["qwen-vl-max", "qwen-vl-current", 32],
    ["qwen-vl-max-latest", "qwen-vl-current", 32],
    ["qwen-vl-plus-2025-08-15", "qwen-vl-current", 32],
    ["qwen-vl-plus-0710", "qwen-vl-current", 32],
    ["qwen-vl-ocr-latest", "qwen-vl-current", 32],
    ["qwen-vl-max-2024-11-19", "qwen2.5-vl", 28],
    ["qwen-vl-plus-2025-01-25", "qwen2.5-vl", 28],
    ["qwen-vl-ocr", "qwen2.5-vl", 28],
    ["qwen2.5-vl-72b-instruct", "qwen2.5-vl", 28],
    ["qvq-max", "qwen2.5-vl", 28],
    ["QVQ-72B-Preview", "qwen2.5-vl", 28],
  ];
  for (const [model, name, patch] of cases) {
    it(`${model} → ${name}`, () => {
      const f = visionFamily(model);
      assert.equal(f.name, name);
      assert.equal(f.patch, patch);
      assert.equal(f.specialTokens, patch === 32 ? 2 : 0);
    });
  }
  it("documented defaults", () => {
    assert.deepEqual(visionFamily("qwen3-vl-plus").defaults, {
      imageMinPixels: 65536,
      imageMaxPixels: 2621440,
      imageMaxPixelsLimit: 16777216,
      videoMinPixels: 65536,
      videoMinPixelsLimit: 4096,
      videoMaxPixels: 655360,
      videoMaxPixelsLimit: 2048000,
      totalPixels: 134217728,
    });
    const cur = visionFamily("qwen-vl-plus").defaults;
    assert.equal(cur.imageMinPixels, 4096);
    assert.equal(cur.imageMaxPixels, 1310720);
    assert.equal(cur.videoMaxPixelsLimit, 786432);
    assert.equal(cur.totalPixels, 67108864);
    const old = visionFamily("qwen2.5-vl-7b-instruct").defaults;
    assert.equal(old.imageMinPixels, 3136);
    assert.equal(old.imageMaxPixels, 1003520);
    assert.equal(old.imageMaxPixelsLimit, 12845056);
    assert.equal(old.videoMinPixels, 50176);
    assert.equal(old.videoMaxPixels, 501760);
    assert.equal(old.videoMaxPixelsLimit, 602112);
    assert.equal(old.totalPixels, 51380224);
  });
});

describe("pyRound (banker’s rounding)", () => {
  it("rounds halves to even", () => {
    assert.equal(pyRound(0.5), 0);
    assert.equal(pyRound(1.5), 2);
    assert.equal(pyRound(2.5), 2);
    assert.equal(pyRound(2.51), 3);
    assert.equal(pyRound(7.14), 7);
  });
});

describe("smartResize matches qwen-vl-utils smart_resize", () => {
  // [h, w, patch, min, max] → [h, w]; expected values produced by the Python reference.
  const table: [number, number, 28 | 32, number, number, number, number][] = [
    [1365, 2048, 28, 3136, 1003520, 812, 1204],
    [1365, 2048, 28, 3136, 12845056, 1372, 2044],
    [1365, 2048, 32, 65536, 2621440, 1312, 1952],
    [1365, 2048, 32, 4096, 16777216, 1376, 2048],
    [1365, 2048, 32, 4096, 1310720, 928, 1376],
    [720, 1280, 28, 3136, 602112, 560, 1008],
    [10, 10, 28, 3136, 1003520, 56, 56],
    [1, 1, 32, 65536, 2621440, 256, 256],
    [5, 1000, 28, 3136, 1003520, 28, 1008],
    [1, 200, 28, 3136, 1003520, 28, 196],
    [4000, 30, 32, 4096, 1310720, 4000, 32],
    [14, 42, 28, 3136, 1003520, 56, 112],
    [42, 14, 28, 3136, 1003520, 112, 56],
    [100, 100, 28, 3136, 1003520, 112, 112],
    [70, 70, 28, 3136, 1003520, 56, 56],
    [4032, 3024, 28, 3136, 1003520, 1148, 840],
    [4032, 3024, 32, 65536, 2621440, 1856, 1376],
    [250, 300, 32, 65536, 2621440, 256, 288],
    [1080, 1920, 32, 65536, 655360, 576, 1056],
  ];
  for (const [h, w, patch, minPixels, maxPixels, eh, ew] of table) {
    it(`${h}x${w} /${patch} [${minPixels}, ${maxPixels}] → ${eh}x${ew}`, () => {
      assert.deepEqual(smartResize(h, w, { patch, minPixels, maxPixels }), { height: eh, width: ew });
    });
  }
  it("rejects aspect ratio over 200", () => {
    assert.throws(() => smartResize(1, 201, { patch: 28, minPixels: 3136, maxPixels: 1003520 }), VisionInputError);
    assert.throws(() => smartResize(10000, 40, { patch: 32, minPixels: 4096, maxPixels: 1310720 }), /aspect ratio/);
  });
  it("rejects zero / non-finite sizes", () => {
    assert.throws(() => smartResize(0, 10, { patch: 28, minPixels: 3136, maxPixels: 1003520 }), VisionInputError);
    assert.throws(() => smartResize(Number.NaN, 10, { patch: 28, minPixels: 3136, maxPixels: 1003520 }), VisionInputError);
  });
  it("keeps results on the patch grid and within bounds for ordinary sizes", () => {
    for (const [h, w] of [
      [480, 640],
      [3000, 200],
      [77, 9999],
      [2160, 3840],
      [33, 33],
    ] as const) {
      for (const patch of [28, 32] as const) {
        const minPixels = 4 * patch * patch;
        const maxPixels = 1280 * patch * patch;
        const r = smartResize(h, w, { patch, minPixels, maxPixels });
        assert.equal(r.height % patch, 0);
        assert.equal(r.width % patch, 0);
        assert.ok(r.height * r.width <= maxPixels, `${h}x${w}`);
        assert.ok(r.height * r.width >= minPixels, `${h}x${w}`);
      }
    }
  });
});

describe("image tokens vs captures (2048x1365 demo image = dog_and_girl.jpeg)", () => {
  it("qwen2.5-era qwen-vl-plus, vl_high_resolution_images → 3577 (= 49×73, no +2)", () => {
    const fam = { ...visionFamily("qwen-vl-plus-2025-01-25") };
    assert.equal(imageTokens(1365, 2048, imageRules(fam, { highResolution: true })).tokens, 3577);
  });
  it("qwen2.5-era qwen-vl-plus default → 1247 (= 29×43)", () => {
    assert.equal(imageTokens(1365, 2048, imageRules("qwen-vl-plus-2025-01-25")).tokens, 1247);
  });
  it("qwen3.6-plus default → 2503 (= 41×61 + 2)", () => {
    const p = imageTokens(1365, 2048, imageRules("qwen3.6-plus"));
    assert.deepEqual(p, { height: 1312, width: 1952, tokens: 2503 });
  });
});

describe("imageRules", () => {
  it("high resolution ignores max_pixels and caps at 16384 tokens", () => {
    assert.equal(imageRules("qwen3-vl-plus", { highResolution: true, maxPixels: 1000 }).maxPixels, 16777216);
    assert.equal(imageRules("qvq-max", { highResolution: true, maxPixels: 1000 }).maxPixels, 12845056);
    const r = imageRules("qwen3-vl-plus", { highResolution: true });
    const p = imageTokens(8000, 8000, r);
    assert.ok(p.tokens - 2 <= 16384);
    assert.deepEqual(p, { height: 4096, width: 4096, tokens: 16386 });
  });
  it("clamps min_pixels up to the documented minimum and max_pixels down to the limit", () => {
    const r = imageRules("qwen-vl-max", { minPixels: 100, maxPixels: 999_999_999 });
    assert.equal(r.minPixels, 4096);
    assert.equal(r.maxPixels, 16777216);
    assert.equal(imageRules("qwen2.5-vl-7b-instruct", { maxPixels: 50_000_000 }).maxPixels, 12845056);
  });
  it("uses given values within range", () => {
    const r = imageRules("qwen-vl-ocr", { minPixels: 3136, maxPixels: 1003520 });
    assert.deepEqual(r, { patch: 28, minPixels: 3136, maxPixels: 1003520, specialTokens: 0 });
  });
  it("rejects invalid values", () => {
    assert.throws(() => imageRules("qwen-vl-max", { minPixels: -5 }), VisionInputError);
    assert.throws(() => imageRules("qwen-vl-max", { maxPixels: 1.5 }), VisionInputError);
    assert.throws(() => imageRules("qwen-vl-max", { minPixels: 2_000_000, maxPixels: 1_000_000 }), VisionInputError);
  });
  it("min_pixels upscales tiny images", () => {
    const p = imageTokens(20, 20, imageRules("qwen3-vl-8b-instruct"));
    assert.deepEqual(p, { height: 256, width: 256, tokens: 64 + 2 });
  });
});

describe("video", () => {
  it("validates fps", () => {
    assert.equal(videoRules("qwen-vl-max").fps, 2);
    assert.equal(videoRules("qwen-vl-max", { fps: 0.1 }).fps, 0.1);
    assert.equal(videoRules("qwen-vl-max", { fps: 10 }).fps, 10);
    assert.throws(() => videoRules("qwen-vl-max", { fps: 0.05 }), /fps/);
    assert.throws(() => videoRules("qwen-vl-max", { fps: 11 }), /fps/);
  });
  it("clamps video pixel options", () => {
    const r = videoRules("qwen2.5-vl-7b-instruct", { minPixels: 10, maxPixels: 10_000_000, totalPixels: 1 });
    assert.equal(r.minPixels, 3136);
    assert.equal(r.maxPixels, 602112);
    assert.equal(r.totalPixels, 51380224);
    assert.equal(videoRules("qwen3-vl-plus", { maxPixels: 5_000_000 }).maxPixels, 2048000);
    assert.equal(videoRules("qwen3-vl-8b-instruct", { maxPixels: 5_000_000 }).maxPixels, 786432);
  });
  it("frame count as smart_nframes", () => {
    // 3 s at 25 fps, fps=2 → 6 frames
    assert.equal(videoFrameCount(75, 25, 2), 6);
    // 10.4 s at 30 fps → 20.8 → 20
    assert.equal(videoFrameCount(312, 30, 2), 20);
    // odd: 3.5 s → 7 → 6
    assert.equal(videoFrameCount(105, 30, 2), 6);
    // at least 4 frames
    assert.equal(videoFrameCount(30, 30, 0.1), 4);
    // never more than total frames (floored to even)
    assert.equal(videoFrameCount(3, 30, 2), 2);
    // at most 768
    assert.equal(videoFrameCount(3600 * 30, 30, 2), 768);
    // server cap
    assert.equal(videoFrameCount(3600 * 30, 30, 2, 101), 100);
    assert.throws(() => videoFrameCount(1, 30, 2), VisionInputError);
  });
  it("per-frame bounds shrink with total_pixels / frames", () => {
    const r = videoRules("qwen-vl-max"); // max 655360, total 67108864
    assert.equal(framePixelBounds(4, r).maxPixels, 655360);
    // 768 frames: 67108864 / 768 × 2 = 174762.67
    assert.ok(Math.abs(framePixelBounds(768, r).maxPixels - 174762.666) < 0.01);
    // never below min_pixels × 1.05
    const tight = { minPixels: 65536, maxPixels: 655360, totalPixels: 67108864 };
    assert.equal(framePixelBounds(100000, tight).maxPixels, Math.trunc(65536 * 1.05));
  });
  it("video tokens = frames/2 × grid (+2 for the 32 px family)", () => {
    const r = videoRules("qwen2.5-vl-7b-instruct", { maxPixels: 602112 });
    // 4 frames of 1280x720 at 768×28² → 20×36 per temporal group; 2 groups = 1440 (the
    // qwen-vl-max image-list capture's video_tokens, if its frames are 1280x720).
    assert.deepEqual(videoTokens(4, 720, 1280, r), { frames: 4, height: 560, width: 1008, tokens: 1440 });
    const q3 = videoRules("qwen3-vl-plus");
    const p = planVideoFile({ totalFrames: 75, fps: 25, width: 640, height: 360 }, q3);
    assert.deepEqual(p, { frames: 6, height: 352, width: 640, tokens: 3 * 11 * 20 + 2 });
  });
  it("long video is scaled down by total_pixels", () => {
    const r = videoRules("qwen3-vl-8b-instruct"); // total 67108864 → 65536 tokens
    const p = planVideoFile({ totalFrames: 3600 * 30, fps: 30, width: 1920, height: 1080 }, r);
    assert.equal(p.frames, 768);
    assert.ok(p.tokens - 2 <= 65536, String(p.tokens));
    assert.ok(p.height * p.width >= r.minPixels);
  });
  it("image list is padded to even", () => {
    assert.equal(imageListFrameCount(1), 2);
    assert.equal(imageListFrameCount(4), 4);
    assert.equal(imageListFrameCount(5), 6);
    assert.throws(() => imageListFrameCount(0), VisionInputError);
    assert.throws(() => videoTokens(3, 100, 100, videoRules("qwen-vl-max")), VisionInputError);
  });
});
