import assert from "node:assert/strict";
import { describe, it } from "node:test";
import sharp from "sharp";
import { MediaDecodeError, prepareImage } from "./image.ts";
import { imageRules, VisionInputError } from "./vision.ts";

function png(width: number, height: number, alpha = false): Promise<Buffer> {
  return sharp({
    create: { width, height, channels: alpha ? 4 : 3, background: alpha ? { r: 10, g: 200, b: 30, alpha: 0.5 } : "#3366cc" },
  })
    .png()
    .toBuffer();
}

describe("prepareImage", () => {
  it("resizes the 2048x1365 demo size like the qwen3.6-plus capture (2503 tokens)", async () => {
    const src = await sharp({ create: { width: 2048, height: 1365, channels: 3, background: "#808080" } })
      .jpeg()
      .toBuffer();
    const out = await prepareImage(src, imageRules("qwen3.6-plus"));
    assert.equal(out.mimeType, "image/jpeg");
    assert.deepEqual([out.originalWidth, out.originalHeight, out.width, out.height, out.tokens], [2048, 1365, 1952, 1312, 2503]);
    const meta = await sharp(out.bytes).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height], ["jpeg", 1952, 1312]);
  });

  it("keeps PNG with alpha and upsizes tiny images to min_pixels", async () => {
    const out = await prepareImage(await png(10, 10, true), imageRules("qwen2.5-vl-7b-instruct"));
    assert.equal(out.mimeType, "image/png");
    assert.deepEqual([out.width, out.height, out.tokens], [56, 56, 4]);
    const meta = await sharp(out.bytes).metadata();
    assert.deepEqual([meta.format, meta.width, meta.height, meta.hasAlpha], ["png", 56, 56, true]);
  });

  it("honours vl_high_resolution_images", async () => {
    const src = await png(3000, 2000);
    const def = await prepareImage(src, imageRules("qwen-vl-max"));
    const hi = await prepareImage(src, imageRules("qwen-vl-max", { highResolution: true }));
    assert.ok(def.tokens - 2 <= 1280);
    assert.deepEqual([hi.width, hi.height, hi.tokens], [3008, 1984, 94 * 62 + 2]); // round(62.5) = 62 (half to even)
  });

  it("can force the output format", async () => {
    const out = await prepareImage(await png(100, 50), imageRules("qwen-vl-max"), { format: "jpeg" });
    assert.equal(out.mimeType, "image/jpeg");
    assert.equal((await sharp(out.bytes).metadata()).format, "jpeg");
  });

  it("applies EXIF orientation (portrait photo stored landscape)", async () => {
    const src = await sharp({ create: { width: 400, height: 200, channels: 3, background: "#000" } })
      .jpeg()
      .withMetadata({ orientation: 6 })
      .toBuffer();
    const out = await prepareImage(src, imageRules("qwen2.5-vl-7b-instruct"));
    assert.deepEqual([out.originalWidth, out.originalHeight], [200, 400]);
    assert.deepEqual([out.width, out.height], [196, 392]);
    const meta = await sharp(out.bytes).metadata();
    assert.deepEqual([meta.width, meta.height], [196, 392]);
  });

  it("corrupt input → MediaDecodeError (InvalidParameter)", async () => {
    await assert.rejects(prepareImage(Buffer.from("not an image at all"), imageRules("qwen-vl-max")), (e: unknown) => {
      assert.ok(e instanceof MediaDecodeError);
      assert.equal(e.clientError().code, "InvalidParameter");
      assert.match(e.message, /could not be decoded/);
      return true;
    });
    const good = await png(64, 64);
    await assert.rejects(prepareImage(good.subarray(0, 60), imageRules("qwen-vl-max")), MediaDecodeError);
    await assert.rejects(prepareImage(Buffer.alloc(0), imageRules("qwen-vl-max")), MediaDecodeError);
  });

  it("extreme aspect ratio → VisionInputError", async () => {
    await assert.rejects(prepareImage(await png(2010, 10), imageRules("qwen-vl-max")), VisionInputError);
  });
});
