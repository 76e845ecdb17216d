/**
 * End to end: a model served by upstream replicas. The replicas are real openscope servers (the
 * tiny Qwen3 on the embedded engine) reached over HTTP through their OpenAI-compatible mode; a
 * stand-in HTTP server plays an engine that fails in the ways real ones do (429, 401, dropped
 * connections) — a test double behind the same OpenAI interface.
 */
import assert from "node:assert/strict";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import type { RunningServer } from "../../src/cli/serve.ts";
import { postJson, postSse, startTestServer, type TestServer } from "../helpers/server.ts";
import { startUpstreamFront as startFront } from "../helpers/upstream.ts";

type Json = any;

const compat = (s: TestServer) => `${s.url}/compatible-mode/v1`;
const ask = (parameters: Record<string, unknown>) => ({
  model: "qwen-plus",
  input: { messages: [{ role: "user", content: "What is the weather in Hangzhou?" }] },
  parameters: { seed: 5, result_format: "message", ...parameters },
});
const WEATHER = {
  type: "function",
  function: { name: "get_weather", parameters: { type: "object", properties: { unit: { enum: ["c", "f"] } }, required: ["unit"] } },
};

/** A stand-in engine that answers every request with the given status and body. */
async function failingEngine(
  status: number,
  body = '{"error":{"message":"stand-in failure"}}',
): Promise<{ url: string; hits: () => number; close: () => Promise<void> }> {
  let hits = 0;
  const server: Server = createServer((req, res) => {
    hits++;
    req.resume();
    if (status === 0) {
      res.socket?.destroy();
      return;
    }
    res.writeHead(status, { "Content-Type": "application/json" }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/v1`, hits: () => hits, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("upstream backend over real openscope replicas", () => {
  let a: TestServer;
  let b: TestServer;
  let front: RunningServer;
  before(async () => {
    [a, b] = await Promise.all([startTestServer(), startTestServer()]);
    front = await startFront([compat(a), compat(b)]);
  });
  after(async () => {
    await front?.close();
    await Promise.all([a?.close(), b?.close()]);
  });

  it("native sync and stream through the upstream equal the embedded engine's answer for the same seed", async () => {
    const direct = await postJson(a.url, ask({ max_tokens: 6 }));
    const viaSync = await postJson(front.url, ask({ max_tokens: 6 }));
    assert.equal(viaSync.status, 200, JSON.stringify(viaSync.body));
    assert.equal(viaSync.body.output.choices[0].message.content, direct.body.output.choices[0].message.content);
    assert.equal(viaSync.body.output.choices[0].finish_reason, "length");
    assert.equal(viaSync.body.usage.output_tokens, 6);
    assert.equal(viaSync.body.usage.input_tokens, direct.body.usage.input_tokens);
    const stream = await postSse(front.url, ask({ max_tokens: 6, incremental_output: true }));
    assert.equal(stream.status, 200);
    const choices = stream.data.map((d) => d.output.choices[0]);
    assert.equal(choices.map((c) => c.message.content).join(""), direct.body.output.choices[0].message.content);
    assert.equal(choices[choices.length - 1].finish_reason, "length");
    assert.equal(stream.data[stream.data.length - 1].usage.output_tokens, 6, "exact usage from the engine's continuous stats");
  });

  it("tools, thinking with a budget and n=2 pass through", async () => {
    const tools = await postJson(front.url, ask({ tools: [WEATHER], tool_choice: { type: "function", function: { name: "get_weather" } } }));
    assert.equal(tools.status, 200, JSON.stringify(tools.body));
    const choice = tools.body.output.choices[0];
    assert.equal(choice.finish_reason, "tool_calls");
    assert.ok(["c", "f"].includes(JSON.parse(choice.message.tool_calls[0].function.arguments).unit));
    const thinking = await postSse(front.url, ask({ enable_thinking: true, thinking_budget: 3, max_tokens: 2, incremental_output: true }));
    const last = thinking.data[thinking.data.length - 1];
    assert.equal(last.usage.output_tokens_details.reasoning_tokens, 3);
    assert.ok(thinking.data.map((d) => d.output.choices[0].message.reasoning_content).join("").length > 0);
    const two = await postJson(front.url, ask({ n: 2, max_tokens: 3 }));
    assert.deepEqual(
      two.body.output.choices.map((c: Json) => c.index),
      [0, 1],
    );
  });

  it("what the upstream kind cannot take is refused before any request goes out", async () => {
    const tokenizer = await postJson(front.url, { model: "qwen-plus", input: { prompt: "hi" } }, { path: "/api/v1/tokenizer" });
    assert.equal(tokenizer.status, 400);
    assert.match(tokenizer.body.message, /tokenizer API is not available/);
  });
});

describe("replicas: routing, failover, cooldown", () => {
  let real: TestServer;
  before(async () => {
    real = await startTestServer();
  });
  after(async () => {
    await real?.close();
  });

  it("429, 5xx, 401 and dropped connections before the first byte go to the next replica", async () => {
    for (const status of [429, 500, 503, 401, 0]) {
      const broken = await failingEngine(status);
      const front = await startFront([broken.url, compat(real)]);
      try {
        // Least outstanding requests, ties in order: the broken replica is tried first.
        const reply = await postJson(front.url, ask({ max_tokens: 2 }));
        assert.equal(reply.status, 200, `${status}: ${JSON.stringify(reply.body)}`);
        assert.equal(broken.hits(), 1, `${status}: the broken replica was tried`);
        // It is now cooling down: the next request does not touch it.
        assert.equal((await postJson(front.url, ask({ max_tokens: 2 }))).status, 200);
        assert.equal(broken.hits(), 1, `${status}: cooling down`);
      } finally {
        await front.close();
        await broken.close();
      }
    }
  });

  it("a 400 from the engine is the client's error, passed on, not retried", async () => {
    const picky = await failingEngine(400, '{"error":{"message":"temperature is out of range"}}');
    const front = await startFront([picky.url, compat(real)]);
    try {
      const reply = await postJson(front.url, ask({ max_tokens: 2 }));
      assert.equal(reply.status, 400);
      assert.match(reply.body.message, /temperature is out of range/);
      assert.equal(picky.hits(), 1);
    } finally {
      await front.close();
      await picky.close();
    }
  });

  it("no usable replica: 503 ServiceUnavailable naming each replica's state; a native stream gets an event:error", async () => {
    const down = await failingEngine(503);
    const front = await startFront([down.url]);
    try {
      const reply = await postJson(front.url, ask({ max_tokens: 2 }));
      assert.equal(reply.status, 503);
      assert.equal(reply.body.code, "ServiceUnavailable");
      assert.match(reply.body.message, /cooling down/);
      const stream = await postSse(front.url, ask({ max_tokens: 2 }));
      assert.equal(stream.events.length, 1);
      assert.equal(stream.events[0]!.event, "error");
    } finally {
      await front.close();
      await down.close();
    }
  });

  it("health checks take a dead replica out and bring it back", async () => {
    const flaky = await failingEngine(503);
    const front = await startFront([flaky.url, compat(real)], { timeouts: { health_interval_s: 0, cooldown_s: 0 } });
    try {
      const backend = front.registry.resolve("up").backend as Json;
      await backend.checkHealth();
      assert.deepEqual(
        backend.pool.replicas.map((r: Json) => r.unhealthy),
        [true, false],
      );
      const before = flaky.hits();
      assert.equal((await postJson(front.url, ask({ max_tokens: 2 }))).status, 200);
      assert.equal(flaky.hits(), before, "an unhealthy replica gets no requests");
    } finally {
      await front.close();
      await flaky.close();
    }
  });
});

describe("a replica dies under load", () => {
  it("requests that had not started streaming all succeed on the other replica; started streams end with an error frame, never hang", async () => {
    const [a, b] = await Promise.all([startTestServer({ model: { parallel: 2, max_queue: 8 } }), startTestServer({ model: { parallel: 2, max_queue: 8 } })]);
    const front = await startFront([compat(a), compat(b)]);
    try {
      const started = new Set<number>();
      const requests = Array.from({ length: 8 }, async (_, i) => {
        const response = await fetch(`${front.url}/api/v1/services/aigc/text-generation/generation`, {
          method: "POST",
          headers: { "Content-Type": "application/json", "X-DashScope-SSE": "enable" },
          body: JSON.stringify(ask({ max_tokens: 60, seed: i, incremental_output: true })),
        });
        const reader = response.body!.getReader();
        let text = "";
        const decoder = new TextDecoder();
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          text += decoder.decode(value, { stream: true });
          if (text.includes("event:result")) started.add(i);
        }
        return { i, text };
      });
      // Kill replica a once some streams are flowing.
      while (started.size < 2) await new Promise((resolve) => setTimeout(resolve, 5));
      await a.close();
      const results = await Promise.all(requests);
      let failures = 0;
      for (const { i, text } of results) {
        const error = text.indexOf("event:error");
        if (error === -1) {
          assert.match(text, /"finish_reason":"(stop|length)"/, `request ${i} finished`);
          continue;
        }
        failures++;
        // Only a stream that had already sent events may fail: it cannot move to another replica.
        const firstResult = text.indexOf("event:result");
        assert.ok(firstResult !== -1 && firstResult < error, `request ${i} failed before streaming anything: ${text.slice(-300)}`);
      }
      assert.ok(failures <= 4, "at most the streams replica a was serving (2 slots) or had queued fail");
    } finally {
      await front.close();
      await b.close();
    }
  });
});

describe("an upstream model's concurrency cap (max_concurrency, max_queue)", () => {
  it("holds requests beyond the cap in a bounded queue and answers 503 with Retry-After at once when it is full", async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let hits = 0;
    const engine: Server = createServer((req, res) => {
      hits++;
      req.resume();
      void released.then(() => res.writeHead(400, { "Content-Type": "application/json" }).end('{"error":{"message":"stand-in refusal"}}'));
    });
    await new Promise<void>((resolve) => engine.listen(0, "127.0.0.1", resolve));
    const { port } = engine.address() as AddressInfo;
    const front = await startFront([`http://127.0.0.1:${port}/v1`], { max_concurrency: 1, max_queue: 1 });
    try {
      const first = postJson(front.url, ask({}));
      const second = postJson(front.url, ask({}));
      for (let i = 0; i < 100 && hits < 1; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      const metrics = await (await fetch(`${front.url}/metrics`)).text();
      assert.match(metrics, /openscope_queue_depth\{model="up"\} 1/);
      const third = await postJson(front.url, ask({}));
      assert.equal(third.status, 503);
      assert.equal(third.body.code, "ModelUnavailable");
      assert.equal(third.headers.get("retry-after"), "1");
      assert.equal(hits, 1, "only one request reached the engine");
      release();
      assert.equal((await first).status, 400);
      assert.equal((await second).status, 400);
      assert.equal(hits, 2);
    } finally {
      release();
      await front.close();
      await new Promise((resolve) => engine.close(resolve));
    }
  });
});
