import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { MediaDecodeError } from "./image.ts";
import { prepareAudio, qwen2AudioTokens, qwen3OmniAudioTokens, wavDataSize } from "./audio.ts";
import { ffmpegSkip, testAudio, testVideo } from "../../../test/helpers/media.ts";

const skip = await ffmpegSkip();

describe("audio token rules", () => {
  it("Qwen2-Audio: 25 tokens/s + 2, truncated at 30 s (capture: 752)", () => {
    assert.equal(qwen2AudioTokens(30 * 16000), 752);
    assert.equal(qwen2AudioTokens(120 * 16000), 752);
    assert.equal(qwen2AudioTokens(2 * 16000), 52);
    assert.equal(qwen2AudioTokens(1 * 16000), 27);
    assert.equal(qwen2AudioTokens(160), 2); // (1-1)//2+1 = 1 → (1-2)//2+1 = 0, + 2
    assert.equal(qwen2AudioTokens(0), 0);
  });
  it("Qwen3-Omni: 13 tokens per 100 mel frames + 2", () => {
    assert.equal(qwen3OmniAudioTokens(16000), 15);
    assert.equal(qwen3OmniAudioTokens(10 * 16000), 132);
    assert.equal(qwen3OmniAudioTokens(0), 0);
  });
});

describe("prepareAudio", { skip }, () => {
  it("2 s 44.1 kHz stereo WAV → 16 kHz mono PCM", async () => {
    const out = await prepareAudio(await testAudio({ seconds: 2 }));
    assert.equal(out.samples, 32000);
    assert.equal(out.durationSeconds, 2);
    assert.equal(out.tokens, 52);
    const w = out.wav16kMono;
    assert.equal(w.toString("ascii", 0, 4), "RIFF");
    assert.equal(w.readUInt16LE(20), 1); // PCM
    assert.equal(w.readUInt16LE(22), 1); // mono
    assert.equal(w.readUInt32LE(24), 16000);
    assert.equal(w.readUInt16LE(34), 16);
    assert.equal(wavDataSize(w), 64000);
  });
  it("mp3 input and 30 s cap", async () => {
    const out = await prepareAudio(await testAudio({ seconds: 31, ext: "mp3", channels: 1, rate: 22050 }));
    assert.ok(Math.abs(out.durationSeconds - 31) < 0.2, String(out.durationSeconds));
    assert.equal(out.tokens, 752);
  });
  it("qwen3-omni rule and max duration", async () => {
    const a = await testAudio({ seconds: 1 });
    assert.equal((await prepareAudio(a, { tokenRule: "qwen3-omni" })).tokens, 15);
    await assert.rejects(prepareAudio(a, { maxDurationSeconds: 0.5 }), /at most 0.5 s/);
  });
  it("corrupt input / no audio stream → MediaDecodeError", async () => {
    await assert.rejects(prepareAudio(Buffer.from("nope nope nope")), MediaDecodeError);
    const silentVideo = await testVideo({ seconds: 1, width: 64, height: 64, rate: 5 });
    await assert.rejects(prepareAudio(silentVideo), MediaDecodeError);
    await assert.rejects(prepareAudio(Buffer.alloc(0)), MediaDecodeError);
  });
});
