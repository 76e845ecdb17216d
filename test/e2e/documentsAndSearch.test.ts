/**
 * Content services through the whole server on the tiny model: a qwen-long style request over an
 * uploaded PDF (fileid://), and web search with sources and citations — against a local HTTP
 * server that stands in for SearXNG (its documented JSON format), and the real local-corpus
 * provider. The model has random weights, so what it "says" is noise; these tests check what it
 * was given (the document's exact text, the sources) and what the client gets back.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { extractText } from "../../src/features/documents/extract.ts";
import { makePdf } from "../helpers/documents.ts";
import { postJson, postSse, startTestServer, type TestServer } from "../helpers/server.ts";

const ask = (system: string | undefined, question: string, parameters: Record<string, unknown> = {}) => ({
  model: "qwen-plus",
  input: { messages: [...(system === undefined ? [] : [{ role: "system", content: system }]), { role: "user", content: question }] },
  parameters: { result_format: "message", max_tokens: 4, seed: 3, ...parameters },
});

describe("qwen-long style: a question over an uploaded PDF (fileid://)", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer();
  });
  after(() => server?.close());

  async function upload(name: string, bytes: Buffer): Promise<{ id: string; status: string }> {
    const form = new FormData();
    form.append("file", new Blob([new Uint8Array(bytes)]), name);
    form.append("purpose", "file-extract");
    const response = await fetch(`${server.url}/compatible-mode/v1/files`, { method: "POST", body: form });
    assert.equal(response.status, 200);
    return (await response.json()) as { id: string; status: string };
  }

  it("the model is given exactly the PDF's text in place of the reference", async () => {
    const pdf = await makePdf(["Quarterly report. Revenue grew 12 percent to 4.2 million yuan.", "Costs fell in Hangzhou."]);
    const file = await upload("report.pdf", pdf);
    assert.equal(file.status, "processed");
    assert.match(file.id, /^file-fe-/);
    const viaFile = await postJson(server.url, ask(`fileid://${file.id}`, "How much did revenue grow?"));
    assert.equal(viaFile.status, 200, JSON.stringify(viaFile.body));
    const extracted = await extractText("report.pdf", pdf);
    assert.ok(extracted.ok);
    const pasted = await postJson(server.url, ask(`[Document: report.pdf]\n${extracted.text}`, "How much did revenue grow?"));
    assert.equal(viaFile.body.usage.input_tokens, pasted.body.usage.input_tokens, "same prompt as the text pasted in");
    const bare = await postJson(server.url, ask(undefined, "How much did revenue grow?"));
    assert.ok(viaFile.body.usage.input_tokens > bare.body.usage.input_tokens + 15);
  });

  it("several documents in one reference; an unknown id is a 400 naming it; too long a document is the input-length error", async () => {
    const a = await upload("a.txt", Buffer.from("alpha document"));
    const b = await upload("b.md", Buffer.from("# beta\n\ndocument"));
    const both = await postJson(server.url, ask(`fileid://${a.id},fileid://${b.id}`, "Compare."));
    assert.equal(both.status, 200);
    const unknown = await postJson(server.url, ask("fileid://file-fe-000000000000000000000000", "?"));
    assert.equal(unknown.status, 400);
    assert.equal(unknown.body.code, "InvalidParameter");
    assert.match(unknown.body.message, /file-fe-000000000000000000000000/);
    const long = await upload("long.txt", Buffer.from(Array.from({ length: 400 }, (_, i) => `sentence ${i} of a long document.`).join(" ")));
    const tooLong = await postJson(server.url, ask(`fileid://${long.id}`, "Summarize."));
    assert.equal(tooLong.status, 400);
    assert.match(tooLong.body.message, /^Range of input length should be \[1, \d+\]$/);
  });
});

/** A local HTTP server that stands in for SearXNG: answers its documented JSON format and records the queries. */
async function searxngStandIn(): Promise<{ url: string; queries: string[]; close: () => Promise<void> }> {
  const queries: string[] = [];
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    queries.push(url.searchParams.get("q") ?? "");
    assert.equal(url.searchParams.get("format"), "json");
    res.writeHead(200, { "Content-Type": "application/json" }).end(
      JSON.stringify({
        query: url.searchParams.get("q"),
        number_of_results: 2,
        results: [
          { title: "杭州天气预报", url: "https://weather.example.com/hangzhou", content: "明天多云，18到25度。", engine: "bing", score: 1 },
          { title: "Hangzhou forecast", url: "https://www.forecast.example.org/hz", content: "Cloudy tomorrow, 18-25 C.", engine: "duckduckgo", score: 0.5 },
        ],
        answers: [],
        suggestions: [],
      }),
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, queries, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe("web search through a local stand-in for SearXNG", () => {
  let searx: Awaited<ReturnType<typeof searxngStandIn>>;
  let server: TestServer;
  before(async () => {
    searx = await searxngStandIn();
    server = await startTestServer({ search: { provider: "searxng", url: searx.url, timeoutMs: 5000 } });
  });
  after(async () => {
    await server?.close();
    await searx?.close();
  });

  const searching = (options: Record<string, unknown>) =>
    ask(undefined, "杭州明天的天气", { enable_search: true, search_options: { forced_search: true, enable_source: true, ...options } });

  it("sync: the sources as search_info.search_results, the search in usage.plugins, the query sent to SearXNG", async () => {
    const reply = await postJson(server.url, searching({ enable_citation: true, citation_format: "[ref_<number>]" }));
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    assert.equal(searx.queries.at(-1), "杭州明天的天气");
    assert.deepEqual(reply.body.output.search_info.search_results, [
      { icon: "", site_name: "weather.example.com", index: 1, title: "杭州天气预报", url: "https://weather.example.com/hangzhou" },
      { icon: "", site_name: "forecast.example.org", index: 2, title: "Hangzhou forecast", url: "https://www.forecast.example.org/hz" },
    ]);
    assert.deepEqual(reply.body.usage.plugins, { search: { count: 1, strategy: "turbo" } });
    // The sources and the citation instruction are in the prompt: more input than without them.
    const withoutCitation = await postJson(server.url, searching({}));
    const plain = await postJson(server.url, ask(undefined, "杭州明天的天气"));
    assert.ok(withoutCitation.body.usage.input_tokens > plain.body.usage.input_tokens + 20);
    assert.ok(reply.body.usage.input_tokens > withoutCitation.body.usage.input_tokens);
  });

  it("stream with prepend_search_result: the first event carries only the sources and empty usage", async () => {
    const reply = await postSse(server.url, {
      ...searching({ prepend_search_result: true }),
      parameters: { ...searching({ prepend_search_result: true }).parameters, incremental_output: true },
    });
    const first = reply.data[0];
    assert.equal(first.output.choices[0].message.content, "");
    assert.equal(first.output.search_info.search_results.length, 2);
    assert.deepEqual(first.usage, {});
    const later = reply.data[1];
    assert.deepEqual(later.output.search_info, { extra_tool_info: [], search_results: [] });
    assert.deepEqual(reply.data.at(-1).usage.plugins, { search: { count: 1, strategy: "turbo" } });
  });

  it("a SearXNG that fails is a DashScope error, not a hang", async () => {
    await searx.close();
    const reply = await postJson(server.url, searching({}));
    assert.equal(reply.status, 503);
    assert.equal(reply.body.code, "ServiceUnavailable");
  });
});

describe("web search over the local corpus (SQLite FTS5)", () => {
  let folder: string;
  let server: TestServer;
  before(async () => {
    folder = await mkdtemp(join(tmpdir(), "openscope-corpus-"));
    await writeFile(join(folder, "tea.md"), "# Longjing tea\n\nLongjing is a green tea from Hangzhou, pan-fired by hand.");
    await writeFile(join(folder, "rivers.txt"), "The Qiantang river flows through Hangzhou into the East China Sea.");
    server = await startTestServer({ search: { provider: "local", folder } });
  });
  after(async () => {
    await server?.close();
    await rm(folder, { recursive: true, force: true });
  });

  it("finds the matching document and returns it as a source", async () => {
    const reply = await postJson(
      server.url,
      ask(undefined, "Longjing green tea", { enable_search: true, search_options: { forced_search: true, enable_source: true } }),
    );
    assert.equal(reply.status, 200, JSON.stringify(reply.body));
    const results = reply.body.output.search_info.search_results;
    assert.ok(results.length >= 1);
    assert.equal(results[0].index, 1);
    assert.match(results[0].title, /Longjing/);
  });
});
