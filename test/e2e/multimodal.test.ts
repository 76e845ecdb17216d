/**
 * The multimodal endpoint end to end. The embedded engine cannot see (node-llama-cpp has no image
 * input): clear 400s. A vision model behind an OpenAI-compatible engine — here a local HTTP server
 * standing in for vLLM, recording what it receives — gets the media fetched, resized with the
 * Qwen-VL rules and forwarded intact; the answer is DashScope's multimodal shape. Media are made in
 * the tests (sharp, ffmpeg); nothing leaves 127.0.0.1.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import type { RunningServer } from "../../src/cli/serve.ts";
import { imageRules, imageTokens } from "../../src/features/media/vision.ts";
import { ffmpegSkip, testAudio, testVideo } from "../helpers/media.ts";
import { postJson, postSse, startTestServer, type TestServer } from "../helpers/server.ts";
import { engineStandIn, startUpstreamFront } from "../helpers/upstream.ts";

const MULTIMODAL = "/api/v1/services/aigc/multimodal-generation/generation";
type Json = any;

const png = (width: number, height: number) =>
  sharp({ create: { width, height, channels: 3, background: { r: 200, g: 80, b: 20 } } })
    .png()
    .toBuffer();
const dataUri = (mime: string, bytes: Buffer) => `data:${mime};base64,${bytes.toString("base64")}`;

function ask(content: Json[], parameters: Json = {}, model = "qwen-vl-plus") {
  return { model, input: { messages: [{ role: "user", content }] }, parameters };
}

/** The media parts of the last request the stand-in engine received. */
const forwarded = (engine: { bodies: Json[] }) => (engine.bodies.at(-1)!.messages.at(-1).content as Json[]).filter((p) => p.type !== "text");

describe("multimodal on the embedded engine (no vision)", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.close());

  it("an image or audio item is a 400 naming the model and the media kind; text-only works", async () => {
    const image = await postJson(server.url, ask([{ image: dataUri("image/png", await png(64, 64)) }, { text: "what is this?" }], {}, "qwen-plus"), {
      path: MULTIMODAL,
    });
    assert.equal(image.status, 400);
    assert.equal(image.body.code, "InvalidParameter");
    assert.equal(image.body.message, 'Image input is not supported by model "tiny" on this server.');
    const audio = await postJson(server.url, ask([{ audio: "https://example.com/a.mp3" }, { text: "?" }], {}, "qwen-plus"), { path: MULTIMODAL });
    assert.equal(audio.body.message, 'Audio input is not supported by model "tiny" on this server.');
    const text = await postJson(server.url, ask([{ text: "hello" }], { max_tokens: 3 }, "qwen-plus"), { path: MULTIMODAL });
    assert.equal(text.status, 200);
    assert.ok(Array.isArray(text.body.output.choices[0].message.content), "content is always an array");
  });
});

describe("multimodal through an OpenAI-compatible vision engine (a local stand-in for vLLM)", () => {
  let engine: Awaited<ReturnType<typeof engineStandIn>>;
  let front: RunningServer;
  let media: Server;
  let mediaUrl: string;
  before(async () => {
    engine = await engineStandIn();
    media = createServer(async (_req, res) => res.writeHead(200, { "Content-Type": "image/png" }).end(await png(300, 200)));
    await new Promise<void>((resolve) => media.listen(0, "127.0.0.1", resolve));
    mediaUrl = `http://127.0.0.1:${(media.address() as AddressInfo).port}/photo.png`;
    front = await startUpstreamFront([engine.url], { aliases: ["qwen-vl-plus", "qwen-audio-turbo"], modalities: ["image", "video", "audio"] });
  });
  after(async () => {
    await front?.close();
    await engine?.close();
    await new Promise((resolve) => media?.close(resolve));
  });

  it("an image (data: URI) is resized with the Qwen-VL rules and forwarded as image_url; usage.image_tokens; content arrays", async () => {
    const reply = await postJson(front.url, ask([{ image: dataUri("image/png", await png(1000, 600)) }, { text: "where is this?" }]), { path: MULTIMODAL });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const [part] = forwarded(engine);
    assert.equal(part.type, "image_url");
    const bytes = Buffer.from(part.image_url.url.replace(/^data:image\/png;base64,/, ""), "base64");
    const meta = await sharp(bytes).metadata();
    const expected = imageTokens(600, 1000, imageRules("qwen-vl-plus"));
    assert.deepEqual([meta.width, meta.height], [expected.width, expected.height]);
    assert.equal(expected.width % 32, 0);
    assert.deepEqual(reply.body.output.choices[0].message.content, [{ text: "beach" }]);
    assert.equal(reply.body.usage.image_tokens, expected.tokens);
    assert.equal(reply.body.output.image_hw, undefined, "sizes only when asked");
    const streamed = await postSse(
      front.url,
      ask([{ image: dataUri("image/png", await png(1000, 600)) }, { text: "where?" }], { incremental_output: true, vl_enable_image_hw_output: true }),
      { path: MULTIMODAL },
    );
    assert.deepEqual(streamed.data[0].output.choices[0].message.content, [{ text: "beach" }]);
    assert.equal(streamed.data.at(-1).usage.image_tokens, expected.tokens);
    assert.deepEqual(
      streamed.data.at(-1).output.image_hw,
      [[expected.height, expected.width]],
      "vl_enable_image_hw_output: the resized size in the last chunk",
    );
    const sized = await postJson(front.url, ask([{ image: dataUri("image/png", await png(1000, 600)) }, { text: "?" }], { vl_enable_image_hw_output: true }), {
      path: MULTIMODAL,
    });
    assert.deepEqual(sized.body.output.image_hw, [[expected.height, expected.width]]);
  });

  it("URLs to private addresses are refused (InvalidURL) unless allow-listed", async () => {
    const refused = await postJson(front.url, ask([{ image: mediaUrl }, { text: "?" }]), { path: MULTIMODAL });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, "InvalidURL");
    assert.match(refused.body.message, /127\.0\.0\.1/);
    const local = await postJson(front.url, ask([{ image: "file:///etc/passwd" }, { text: "?" }]), { path: MULTIMODAL });
    assert.equal(local.status, 400);
    assert.equal(local.body.code, "InvalidURL");
    const allowing = await startUpstreamFront(
      [engine.url],
      { aliases: ["qwen-vl-plus"], modalities: ["image"] },
      { media: { allowHosts: ["127.0.0.1"], maxBytes: 1 << 20, uploadTtlMs: 60_000 } },
    );
    try {
      const ok = await postJson(allowing.url, ask([{ image: mediaUrl }, { text: "?" }]), { path: MULTIMODAL });
      assert.equal(ok.status, 200, JSON.stringify(ok.body));
      assert.equal(forwarded(engine)[0].type, "image_url");
    } finally {
      await allowing.close();
    }
  });

  it("the SDK upload flow: getPolicy, the OSS-style multipart POST, then oss:// with X-DashScope-OssResourceResolve", async () => {
    const policy = (await (await fetch(`${front.url}/api/v1/uploads?action=getPolicy&model=qwen-vl-plus`)).json()) as Json;
    const data = policy.data;
    const key = `${data.upload_dir}/photo.png`;
    const form = new FormData();
    for (const [name, value] of [
      ["OSSAccessKeyId", data.oss_access_key_id],
      ["Signature", data.signature],
      ["policy", data.policy],
      ["key", key],
      ["x-oss-object-acl", data.x_oss_object_acl],
      ["x-oss-forbid-overwrite", data.x_oss_forbid_overwrite],
      ["success_action_status", "200"],
      ["x-oss-content-type", "image/png"],
    ]) {
      form.append(name!, value!);
    }
    form.append("file", new Blob([new Uint8Array(await png(400, 400))]), "photo.png");
    const uploaded = await fetch(data.upload_host, { method: "POST", body: form });
    assert.equal(uploaded.status, 200);
    const withoutHeader = await postJson(front.url, ask([{ image: `oss://${key}` }, { text: "?" }]), { path: MULTIMODAL });
    assert.equal(withoutHeader.status, 400);
    const reply = await postJson(front.url, ask([{ image: `oss://${key}` }, { text: "?" }]), {
      path: MULTIMODAL,
      headers: { "X-DashScope-OssResourceResolve": "enable" },
    });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(forwarded(engine)[0].type, "image_url");
  });

  it("a video as a list of frames: frames resized and forwarded; usage.video_tokens", async () => {
    const frame = dataUri("image/png", await png(640, 360));
    const reply = await postJson(front.url, ask([{ video: [frame, frame, frame, frame] }, { text: "what happens?" }]), { path: MULTIMODAL });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const parts = forwarded(engine);
    assert.equal(parts.length, 4);
    assert.ok(reply.body.usage.video_tokens > 0);
  });

  it("a video file: sampled with ffmpeg for the token count, forwarded whole as video_url; usage.video_tokens and input_tokens_details", async (t) => {
    const skip = await ffmpegSkip();
    if (skip) return t.skip(skip);
    const video = await testVideo({ seconds: 3, width: 320, height: 240, rate: 25 });
    const reply = await postJson(front.url, ask([{ video: dataUri("video/mp4", video), fps: 2 }, { text: "what happens?" }]), { path: MULTIMODAL });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const [part] = forwarded(engine);
    assert.equal(part.type, "video_url");
    assert.match(part.video_url.url, /^data:video\/mp4;base64,/);
    assert.ok(reply.body.usage.video_tokens > 0);
    assert.equal(reply.body.usage.input_tokens_details.video_tokens, reply.body.usage.video_tokens);
  });

  it("audio: resampled to 16 kHz mono WAV and forwarded as input_audio; usage.audio_tokens", async (t) => {
    const skip = await ffmpegSkip();
    if (skip) return t.skip(skip);
    const wav = await testAudio({ seconds: 2 });
    const reply = await postJson(front.url, ask([{ audio: dataUri("audio/wav", wav) }, { text: "transcribe" }], {}, "qwen-audio-turbo"), { path: MULTIMODAL });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const [part] = forwarded(engine);
    assert.equal(part.type, "input_audio");
    assert.equal(part.input_audio.format, "wav");
    assert.ok(reply.body.usage.audio_tokens > 0);
  });

  it("bad media items are 400s, never 500s", async () => {
    const badFps = await postJson(front.url, ask([{ video: "https://example.com/v.mp4", fps: 50 }, { text: "?" }]), { path: MULTIMODAL });
    assert.equal(badFps.status, 400);
    const corrupt = await postJson(front.url, ask([{ image: "data:image/png;base64,AAAA" }, { text: "?" }]), { path: MULTIMODAL });
    assert.equal(corrupt.status, 400);
  });
});

/** A local HTTP server standing in for DashScope's native multimodal endpoint: records each request, answers one SSE frame. */
async function dashscopeStandIn(): Promise<{ url: string; requests: { path: string; body: Json }[]; close: () => Promise<void> }> {
  const requests: { path: string; body: Json }[] = [];
  const server: Server = createServer((req, res) => {
    let text = "";
    req.on("data", (chunk) => (text += chunk));
    req.on("end", () => {
      requests.push({ path: req.url ?? "", body: JSON.parse(text) });
      res.writeHead(200, { "Content-Type": "text/event-stream;charset=UTF-8" });
      const frame = {
        output: { choices: [{ message: { content: [{ text: "海滩" }], role: "assistant" }, finish_reason: "stop" }] },
        usage: { input_tokens: 1283, output_tokens: 1, image_tokens: 1247 },
        request_id: "up",
      };
      res.end(`id:1\nevent:result\n:HTTP_STATUS/200\ndata:${JSON.stringify(frame)}\n\n`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/api/v1`, requests, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("multimodal through the dashscope kind (a local stand-in for DashScope's native API)", () => {
  it("goes to the multimodal endpoint with native items: prepared media as data: URIs, options and parameters kept", async () => {
    const upstream = await dashscopeStandIn();
    const front = await startUpstreamFront([upstream.url], { kind: "dashscope", aliases: ["qwen-vl-plus"], modalities: ["image"] });
    try {
      const reply = await postJson(
        front.url,
        ask([{ image: dataUri("image/png", await png(500, 300)), max_pixels: 200_000 }, { text: "where?" }], { vl_high_resolution_images: true }),
        { path: MULTIMODAL },
      );
      assert.equal(reply.status, 200, JSON.stringify(reply.body));
      const sent = upstream.requests.at(-1)!;
      assert.equal(sent.path, "/api/v1/services/aigc/multimodal-generation/generation");
      const [image, text] = sent.body.input.messages.at(-1).content;
      assert.match(image.image, /^data:image\/png;base64,/);
      assert.equal(image.max_pixels, 200_000);
      assert.deepEqual(text, { text: "where?" });
      assert.equal(sent.body.parameters.vl_high_resolution_images, true);
      assert.deepEqual(reply.body.output.choices[0].message.content, [{ text: "海滩" }]);
    } finally {
      await front.close();
      await upstream.close();
    }
  });
});
