/**
 * X-DashScope-DataInspection end to end on the tiny model with the term-list moderator: flagged
 * input is refused before generation, flagged output ends the answer with DataInspectionFailed
 * (a stream's last frame; the sync answer's error), and nothing changes without the header.
 */
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { generation, postJson, postSse, startTestServer, type TestServer } from "../helpers/server.ts";

const ENABLE = { "X-DashScope-DataInspection": "enable" };
const INPUT_FAILED = "Input data may contain inappropriate content.";
const OUTPUT_FAILED = "Output data may contain inappropriate content.";
const ask = (prompt: string) => generation(prompt, { max_tokens: 24, seed: 7, temperature: 1 });

describe("DataInspection", () => {
  let plain: TestServer;
  let guarded: TestServer;
  /** A piece of what the model answers for ask("tell me a story"), made a refused term on the guarded server. */
  let term: string;
  let answer: string;

  before(async () => {
    plain = await startTestServer();
    const reply = await postJson(plain.url, ask("tell me a story"));
    answer = reply.body.output.text;
    const start = Math.floor(answer.length / 2);
    term = answer.slice(start, start + 3);
    assert.ok(term.trim().length >= 2, `a usable term from ${JSON.stringify(answer)}`);
    guarded = await startTestServer({ dataInspection: { terms: ["forbidden-word", term], patterns: ["secret\\s+code\\s*\\d+"], always: false } });
  });
  after(async () => {
    await plain?.close();
    await guarded?.close();
  });

  it("flagged input: 400 DataInspectionFailed before anything is generated; SSE gets the error frame", async () => {
    const sync = await postJson(guarded.url, ask("please say the FORBIDDEN-WORD"), { headers: ENABLE });
    assert.equal(sync.status, 400);
    assert.equal(sync.body.code, "DataInspectionFailed");
    assert.equal(sync.body.message, INPUT_FAILED);
    assert.equal(sync.body.request_id, sync.headers.get("x-request-id"));
    const stream = await postSse(guarded.url, ask("my secret code 1234"), { headers: { "X-DashScope-DataInspection": '{"input":"cip","output":"cip"}' } });
    assert.equal(stream.events.length, 1);
    assert.equal(stream.events[0]!.event, "error");
    assert.equal(stream.data[0].code, "DataInspectionFailed");
    assert.equal(stream.data[0].message, INPUT_FAILED);
  });

  it("flagged output: the stream ends with DataInspectionFailed and never sends the term; sync answers the error", async () => {
    const stream = await postSse(guarded.url, ask("tell me a story"), { headers: { ...ENABLE }, stream: true });
    const last = stream.events.at(-1)!;
    assert.equal(last.event, "error");
    assert.equal(stream.data.at(-1).code, "DataInspectionFailed");
    assert.equal(stream.data.at(-1).message, OUTPUT_FAILED);
    const sent =
      stream.data
        .slice(0, -1)
        .map((d) => d.output.text)
        .at(-1) ?? "";
    assert.ok(!sent.includes(term), `the flagged term was withheld (sent ${JSON.stringify(sent)})`);
    const sync = await postJson(guarded.url, ask("tell me a story"), { headers: { "X-DashScope-DataInspection": '{"output":"cip"}' } });
    assert.equal(sync.status, 400);
    assert.equal(sync.body.message, OUTPUT_FAILED);
  });

  it("only the sides asked for are inspected; without the header nothing is", async () => {
    const inputOnly = await postJson(guarded.url, ask("tell me a story"), { headers: { "X-DashScope-DataInspection": '{"input":"cip"}' } });
    assert.equal(inputOnly.status, 200);
    assert.equal(inputOnly.body.output.text, answer);
    const none = await postJson(guarded.url, ask("the forbidden-word, tell me a story"));
    assert.equal(none.status, 200);
  });

  it("the OpenAI-compatible path refuses the same way, in its shape", async () => {
    const response = await fetch(`${guarded.url}/compatible-mode/v1/chat/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...ENABLE },
      body: JSON.stringify({ model: "qwen-plus", messages: [{ role: "user", content: "forbidden-word" }], max_tokens: 4 }),
    });
    assert.equal(response.status, 400);
    const body = (await response.json()) as { error: { code: string; message: string } };
    assert.equal(body.error.code, "data_inspection_failed");
    assert.equal(body.error.message, INPUT_FAILED);
  });

  it("a server without moderation configured refuses the header rather than ignore it; a bad header is a 400", async () => {
    const refused = await postJson(plain.url, ask("hi"), { headers: ENABLE });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.code, "InvalidParameter");
    assert.match(refused.body.message, /no moderation configured/);
    const bad = await postJson(guarded.url, ask("hi"), { headers: { "X-DashScope-DataInspection": "maybe" } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, "InvalidParameter");
  });
});

describe("DataInspection always on", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ dataInspection: { terms: ["forbidden-word"], patterns: [], always: true } });
  });
  after(() => server?.close());

  it("inspects requests that did not ask", async () => {
    const reply = await postJson(server.url, ask("forbidden-word"));
    assert.equal(reply.status, 400);
    assert.equal(reply.body.code, "DataInspectionFailed");
  });
});
