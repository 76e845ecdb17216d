/**
 * Prefix reuse on the embedded engine: a request reuses the cached prefix its slot shares with it
 * (reported exactly as usage.prompt_tokens_details.cached_tokens), and `cache_control: ephemeral`
 * keeps a marked prefix resident while unrelated requests come and go.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { postJson, startTestServer, type TestServer } from "../helpers/server.ts";

const SYSTEM = (topic: string) =>
  `You are an expert on ${topic}. ${Array.from({ length: 25 }, (_, i) => `Rule ${i + 1}: be precise about ${topic}.`).join(" ")}`;

function ask(system: string, question: string, marked: boolean): object {
  const systemContent = marked ? [{ type: "text", text: system, cache_control: { type: "ephemeral" } }] : system;
  return {
    model: "qwen-plus",
    input: {
      messages: [
        { role: "system", content: systemContent },
        { role: "user", content: question },
      ],
    },
    parameters: { max_tokens: 2, seed: 1, result_format: "message" },
  };
}

const cached = async (server: TestServer, body: object): Promise<{ cached: number; input: number }> => {
  const reply = await postJson(server.url, body);
  assert.equal(reply.status, 200, JSON.stringify(reply.body));
  return { cached: reply.body.usage.prompt_tokens_details.cached_tokens, input: reply.body.usage.input_tokens };
};

describe("prefix reuse and cache_control", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ model: { parallel: 2 } });
  });
  after(() => server.close());

  it("a follow-up sharing the system prompt reuses exactly the shared tokens", async () => {
    const first = await cached(server, ask(SYSTEM("tea"), "What is oolong?", false));
    assert.equal(first.cached, 0);
    const second = await cached(server, ask(SYSTEM("tea"), "And pu-erh?", false));
    assert.ok(second.cached > 150 && second.cached < second.input, `cached ${second.cached} of ${second.input}`);
  });

  it("without a mark, unrelated traffic takes the first free slot and evicts the prefix", async () => {
    await cached(server, ask(SYSTEM("rivers"), "Longest river?", false));
    await cached(server, ask(SYSTEM("mountains"), "Highest peak?", false));
    await cached(server, ask(SYSTEM("deserts"), "Largest desert?", false));
    const again = await cached(server, ask(SYSTEM("rivers"), "Shortest river?", false));
    assert.ok(again.cached < 50, `rivers prefix was evicted (cached ${again.cached})`);
  });

  it("a prefix marked ephemeral stays resident while other requests use the other slot", async () => {
    const marked = await cached(server, ask(SYSTEM("clouds"), "What is a cumulus?", true));
    assert.ok(marked.input > 150);
    for (const topic of ["volcanoes", "glaciers", "tides"]) await cached(server, ask(SYSTEM(topic), "Tell me one fact.", false));
    const again = await cached(server, ask(SYSTEM("clouds"), "What is a cirrus?", false));
    assert.ok(again.cached > 150, `the marked prefix was kept (cached ${again.cached} of ${again.input})`);
  });
});
