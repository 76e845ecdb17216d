import assert from "node:assert/strict";
import { readdir } from "node:fs/promises";
import { tmpdir } from "node:os";
import { describe, it } from "node:test";
import sharp from "sharp";
import { MediaDecodeError } from "./image.ts";
import { ffmpegSkip, testVideo } from "../../../test/helpers/media.ts";
import { prepareVideoFrames, probeVideo, sampleVideo } from "./video.ts";
import { videoRules, VisionInputError } from "./vision.ts";

const skip = await ffmpegSkip();

async function tempLeftovers(): Promise<string[]> {
  return (await readdir(tmpdir())).filter((n) => n.startsWith("openscope-media-"));
}

describe("probeVideo", { skip }, () => {
  it("reads duration, fps, size and frame count", async () => {
    const v = await testVideo({ seconds: 3, width: 640, height: 360, rate: 25 });
    const info = await probeVideo(v);
    assert.equal(info.width, 640);
    assert.equal(info.height, 360);
    assert.equal(info.fps, 25);
    assert.equal(info.totalFrames, 75);
    assert.ok(Math.abs(info.duration - 3) < 0.1, String(info.duration));
    assert.equal(info.codec, "h264");
  });
  it("corrupt input → MediaDecodeError", async () => {
    await assert.rejects(probeVideo(Buffer.from("definitely not a video file")), MediaDecodeError);
    await assert.rejects(probeVideo(Buffer.alloc(0)), MediaDecodeError);
  });
});

describe("sampleVideo", { skip }, () => {
  it("3 s 640x360 @25 fps, fps=2 → 6 frames of 640x352 (Qwen3-VL)", async () => {
    const before = await tempLeftovers();
    const v = await testVideo({ seconds: 3, width: 640, height: 360, rate: 25 });
    const out = await sampleVideo(v, videoRules("qwen3-vl-plus"));
    assert.equal(out.frames.length, 6);
    assert.deepEqual([out.width, out.height, out.tokens], [640, 352, 3 * 20 * 11 + 2]);
    for (const f of out.frames) {
      const m = await sharp(f).metadata();
      assert.deepEqual([m.format, m.width, m.height], ["jpeg", 640, 352]);
    }
    // distinct frames (testsrc changes over time)
    assert.notDeepEqual(out.frames[0], out.frames[5]);
    assert.deepEqual(await tempLeftovers(), before);
  });
  it("fps option and the 28 px family; webm without nb_frames", async () => {
    const v = await testVideo({ seconds: 4, width: 320, height: 240, rate: 10, ext: "webm" });
    const out = await sampleVideo(v, videoRules("qwen2.5-vl-7b-instruct", { fps: 1 }), { format: "png" });
    assert.equal(out.info.totalFrames, 40);
    assert.equal(out.frames.length, 4);
    assert.equal(out.mimeType, "image/png");
    // 320x240 → 308x252 (round(11.43)=11, round(8.57)=9 patches of 28); 77616 px ≥ min 50176
    assert.deepEqual([out.width, out.height, out.tokens], [308, 252, 2 * 11 * 9]);
  });
  it("short video hits the 4-frame minimum; maxFrames caps long ones", async () => {
    const v = await testVideo({ seconds: 1, width: 160, height: 120, rate: 30 });
    const a = await sampleVideo(v, videoRules("qwen-vl-max", { fps: 0.5 }));
    assert.equal(a.frames.length, 4);
    const long = await testVideo({ seconds: 10, width: 160, height: 120, rate: 10 });
    const b = await sampleVideo(long, videoRules("qwen-vl-max", { fps: 10, maxFrames: 8 }));
    assert.equal(b.frames.length, 8);
  });
  it("corrupt input → MediaDecodeError, temp dir removed", async () => {
    const before = await tempLeftovers();
    await assert.rejects(sampleVideo(Buffer.from("garbage".repeat(100)), videoRules("qwen-vl-max")), MediaDecodeError);
    assert.deepEqual(await tempLeftovers(), before);
  });
  it("time limit is enforced", async () => {
    const v = await testVideo({ seconds: 2, width: 640, height: 360, rate: 25 });
    await assert.rejects(sampleVideo(v, videoRules("qwen-vl-max"), { timeoutMs: 1 }), /timed out/);
  });
});

describe("prepareVideoFrames (image list)", () => {
  const img = (w: number, h: number, c: string) =>
    sharp({ create: { width: w, height: h, channels: 3, background: c } })
      .jpeg()
      .toBuffer();
  it("pads to even and resizes every frame to the first frame plan", async () => {
    const frames = [await img(1280, 720, "#f00"), await img(1280, 720, "#0f0"), await img(640, 480, "#00f")];
    const out = await prepareVideoFrames(frames, videoRules("qwen2.5-vl-7b-instruct", { maxPixels: 602112 }));
    assert.equal(out.frames.length, 4);
    assert.deepEqual([out.width, out.height, out.tokens], [1008, 560, 2 * 20 * 36]);
    for (const f of out.frames) {
      const m = await sharp(f).metadata();
      assert.deepEqual([m.width, m.height], [1008, 560]);
    }
  });
  it("rejects empty / too many / corrupt", async () => {
    await assert.rejects(prepareVideoFrames([], videoRules("qwen-vl-max")), VisionInputError);
    const one = await img(64, 64, "#fff");
    await assert.rejects(prepareVideoFrames([one, one, one], videoRules("qwen-vl-max", { maxFrames: 2 })), VisionInputError);
    await assert.rejects(prepareVideoFrames([one, Buffer.from("x")], videoRules("qwen-vl-max")), MediaDecodeError);
  });
});
