/**
 * The one flow end to end, on a model behind an OpenAI-compatible engine (a local stand-in that
 * records what it receives): stages that stand in for the embedded engine leave an engine with its
 * own guided decoding alone, and a key over its RPM is refused before any media is fetched.
 */
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import sharp from "sharp";
import type { RunningServer } from "../../src/cli/serve.ts";
import { gatewayDefaults } from "../../src/config/index.ts";
import { postJson } from "../helpers/server.ts";
import { engineStandIn, startUpstreamFront } from "../helpers/upstream.ts";

const MULTIMODAL = "/api/v1/services/aigc/multimodal-generation/generation";
const ADMIN_KEY = "admin-secret-0123456789";

describe("structured output and tools on a vLLM-kind upstream", () => {
  let engine: Awaited<ReturnType<typeof engineStandIn>>;
  let front: RunningServer;
  before(async () => {
    engine = await engineStandIn();
    front = await startUpstreamFront([engine.url], { kind: "vllm" });
  });
  after(async () => {
    await front?.close();
    await engine?.close();
  });

  const messages = [
    { role: "system", content: "Answer with an airport code." },
    { role: "user", content: "Where do I land in Hangzhou?" },
  ];
  // `pattern` is what the embedded engine's grammar refuses in a strict schema; vLLM's guided decoding enforces it.
  const schema = { type: "object", properties: { code: { type: "string", pattern: "^[A-Z]{3}$" } }, required: ["code"], additionalProperties: false };

  it("a strict json_schema with pattern reaches the engine unchanged, and the system prompt is not rewritten", async () => {
    const format = { type: "json_schema", json_schema: { name: "airport", schema, strict: true } };
    const reply = await postJson(front.url, { model: "qwen-plus", input: { messages }, parameters: { result_format: "message", response_format: format } });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const sent = engine.bodies.at(-1);
    assert.deepEqual(sent.response_format, format);
    assert.deepEqual(sent.messages, messages);
  });

  it("tool parameters reach the engine as the client wrote them", async () => {
    const tool = { type: "function", function: { name: "book", description: "Books a flight.", parameters: { type: "object", properties: { to: schema } } } };
    const reply = await postJson(front.url, { model: "qwen-plus", input: { messages }, parameters: { result_format: "message", tools: [tool] } });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const sent = engine.bodies.at(-1);
    assert.deepEqual(sent.tools, [tool]);
    assert.deepEqual(sent.messages, messages);
  });
});

describe("a key over its RPM is refused before its media is fetched", () => {
  let engine: Awaited<ReturnType<typeof engineStandIn>>;
  let front: RunningServer;
  let imageHost: Server;
  let imageUrl: string;
  let connections = 0;
  before(async () => {
    engine = await engineStandIn();
    const png = await sharp({ create: { width: 64, height: 64, channels: 3, background: { r: 0, g: 90, b: 200 } } })
      .png()
      .toBuffer();
    imageHost = createServer((_req, res) => res.writeHead(200, { "Content-Type": "image/png" }).end(png));
    imageHost.on("connection", () => connections++);
    await new Promise<void>((resolve) => imageHost.listen(0, "127.0.0.1", resolve));
    imageUrl = `http://127.0.0.1:${(imageHost.address() as AddressInfo).port}/photo.png`;
    front = await startUpstreamFront(
      [engine.url],
      { kind: "vllm", aliases: ["qwen-vl-plus"], modalities: ["image"] },
      {
        media: { allowHosts: ["127.0.0.1"], maxBytes: 1 << 20, uploadTtlMs: 60_000 },
        gateway: { ...gatewayDefaults(mkdtempSync(join(tmpdir(), "openscope-pipeline-"))), adminKey: ADMIN_KEY },
      },
    );
  });
  after(async () => {
    await front?.close();
    await engine?.close();
    await new Promise((resolve) => imageHost?.close(resolve));
  });

  async function keyWithRpm(rpm: number): Promise<string> {
    const response = await fetch(`${front.url}/admin/v1/keys`, {
      method: "POST",
      headers: { Authorization: `Bearer ${ADMIN_KEY}`, "Content-Type": "application/json" },
      body: JSON.stringify({ name: `rpm-${rpm}`, rpm }),
    });
    assert.equal(response.status, 201);
    return ((await response.json()) as { secret: string }).secret;
  }

  const ask = (url: string) => ({
    model: "qwen-vl-plus",
    input: { messages: [{ role: "user", content: [{ image: url }, { text: "What is this?" }] }] },
    parameters: {},
  });
  const text = { model: "qwen-vl-plus", input: { messages: [{ role: "user", content: [{ text: "Hello" }] }] }, parameters: {} };

  it("429 Throttling.RateQuota, and the image host never sees a connection", async () => {
    const secret = await keyWithRpm(1);
    const headers = { Authorization: `Bearer ${secret}` };
    assert.equal((await postJson(front.url, text, { path: MULTIMODAL, headers })).status, 200);
    const over = await postJson(front.url, ask(imageUrl), { path: MULTIMODAL, headers });
    assert.equal(over.status, 429, JSON.stringify(over.body));
    assert.equal(over.body.code, "Throttling.RateQuota");
    assert.equal(connections, 0, "no connection to the image host");
  });

  it("the same request within the key's RPM fetches the image (the listener is reachable)", async () => {
    const secret = await keyWithRpm(5);
    const reply = await postJson(front.url, ask(imageUrl), { path: MULTIMODAL, headers: { Authorization: `Bearer ${secret}` } });
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.ok(connections > 0);
    assert.equal(engine.bodies.at(-1).messages.at(-1).content[0].type, "image_url");
  });

  it("an invalid request is not charged: a bad parameter with an image is a 400 and the key's one request still passes", async () => {
    const secret = await keyWithRpm(1);
    const headers = { Authorization: `Bearer ${secret}` };
    const before = connections;
    const invalid = await postJson(front.url, { ...ask(imageUrl), parameters: { temperature: 5 } }, { path: MULTIMODAL, headers });
    assert.equal(invalid.status, 400);
    const thinking = await postJson(front.url, { ...ask(imageUrl), parameters: { enable_thinking: true, thinking_budget: 10 } }, { path: MULTIMODAL, headers });
    assert.equal(thinking.status, 400, "vLLM takes no thinking_budget");
    assert.match(thinking.body.message, /parameters\.thinking_budget/);
    assert.equal(connections, before, "nothing fetched for invalid requests");
    assert.equal((await postJson(front.url, text, { path: MULTIMODAL, headers })).status, 200);
  });
});
