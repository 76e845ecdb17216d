import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../../core/errors.ts";
import type { EngineEvent, GenerationRequest, SearchRequest, Usage } from "../../core/types.ts";
import { SearchProviderError, searchingGeneration, searchQueries, searchSystemText, WEB_SEARCH_TOOL, type SearchHit, type SearchProvider } from "./index.ts";

const search = (over: Partial<SearchRequest> = {}): SearchRequest => ({
  forced: true,
  enableSource: true,
  enableCitation: false,
  citationFormat: "[<number>]",
  strategy: "turbo",
  prependSearchResult: false,
  enableSearchExtension: false,
  ...over,
});

const request = (s: SearchRequest | undefined, extra: Partial<GenerationRequest> = {}): GenerationRequest => ({
  requestId: "r1",
  model: "m",
  messages: [
    { role: "user", content: [{ type: "text", text: "What is Alibaba?" }] },
    { role: "assistant", content: [{ type: "text", text: "A company." }] },
    { role: "user", content: [{ type: "text", text: "Its stock price today?" }] },
  ],
  sampling: { n: 1, stop: { strings: [], tokenIds: [] } },
  features: s ? { search: s } : {},
  ...extra,
});

const u = (inputTokens: number, outputTokens: number): Usage => ({ inputTokens, outputTokens });

class FakeProvider implements SearchProvider {
  readonly name = "fake";
  readonly queries: { query: string; count: number }[] = [];
  constructor(readonly fail = false) {}
  async search(query: string, options: { count: number; signal: AbortSignal }): Promise<SearchHit[]> {
    this.queries.push({ query, count: options.count });
    if (this.fail) throw new SearchProviderError("the search engine answered HTTP 500");
    const n = this.queries.length;
    return [
      { title: `T${n}a`, url: `https://a.example/${n}`, snippet: `snippet ${n}a`, siteName: "a.example", icon: "" },
      { title: "Shared", url: "https://shared.example/", snippet: "same everywhere", siteName: "", icon: "https://shared.example/i.png" },
    ];
  }
}

/** A test double backend: answers each call from a script, recording the requests it got. */
function scriptedBackend(scripts: EngineEvent[][]) {
  const requests: GenerationRequest[] = [];
  const generate = async function* (req: GenerationRequest, _signal: AbortSignal): AsyncGenerator<EngineEvent> {
    requests.push(req);
    const script = scripts[requests.length - 1];
    assert.ok(script, `backend called more often than scripted (${requests.length})`);
    yield* script;
  };
  return { requests, generate };
}

const answer = (text: string, usage: Usage): EngineEvent[] => [
  { type: "delta", index: 0, content: text, usage },
  { type: "finish", index: 0, reason: "stop", usage },
];
const searchCall = (query: string, usage: Usage): EngineEvent[] => [
  { type: "delta", index: 0, reasoning: "I should look it up.", usage: u(usage.inputTokens, 1) },
  { type: "delta", index: 0, content: "\n", usage: u(usage.inputTokens, 2) },
  { type: "delta", index: 0, toolCalls: [{ index: 0, id: "call_1", name: WEB_SEARCH_TOOL, arguments: '{"query": "' }], usage: u(usage.inputTokens, 3) },
  { type: "delta", index: 0, toolCalls: [{ index: 0, arguments: `${query}"}` }], usage },
  { type: "finish", index: 0, reason: "tool_calls", usage },
];

async function collect(events: AsyncIterable<EngineEvent>): Promise<EngineEvent[]> {
  const out: EngineEvent[] = [];
  for await (const e of events) out.push(e);
  return out;
}

const systemText = (req: GenerationRequest) =>
  req.messages[0]?.role === "system" ? req.messages[0].content.map((p) => (p.type === "text" ? p.text : "")).join("") : "";

describe("searchingGeneration", () => {
  it("without features.search it is the backend's stream unchanged", async () => {
    const backend = scriptedBackend([answer("hi", u(3, 1))]);
    const provider = new FakeProvider();
    const events = await collect(searchingGeneration(request(undefined), backend.generate, provider, new AbortController().signal));
    assert.deepEqual(events, answer("hi", u(3, 1)));
    assert.equal(provider.queries.length, 0);
  });

  it("forced turbo: 1 query (the last user message) × 5; sources in the system prompt; outcome on the first event", async () => {
    const backend = scriptedBackend([answer("Price is X [1].", u(50, 5))]);
    const provider = new FakeProvider();
    const events = await collect(searchingGeneration(request(search({ enableCitation: true })), backend.generate, provider, new AbortController().signal));
    assert.deepEqual(provider.queries, [{ query: "Its stock price today?", count: 5 }]);
    const req = backend.requests[0]!;
    assert.equal(req.features.search, undefined, "the backend never sees features.search");
    assert.equal(req.features.tools, undefined, "forced turbo offers no tool");
    const sys = systemText(req);
    assert.match(sys, /\[1\] T1a\nURL: https:\/\/a\.example\/1\nsnippet 1a/);
    assert.match(sys, /\[2\] Shared/);
    assert.match(sys, /Cite the sources you use as \[<n>\].*e\.g\. \[1\]/);
    assert.equal(events.length, 2);
    const first = events[0]!;
    assert.equal(first.type, "delta");
    assert.deepEqual(first.type === "delta" && first.search, {
      info: {
        results: [
          { index: 1, title: "T1a", url: "https://a.example/1", siteName: "a.example", icon: "" },
          { index: 2, title: "Shared", url: "https://shared.example/", siteName: "无", icon: "https://shared.example/i.png" },
        ],
        extraToolInfo: [],
      },
      usage: { count: 1, strategy: "turbo" },
      prepended: false,
    });
    assert.equal(first.type === "delta" && first.content, "Price is X [1].");
    assert.deepEqual(events[1], answer("", u(50, 5))[1]);
  });

  it("forced max: 2 queries × 10 merged without duplicate URLs; prepend_search_result gives a separate sources-only first event", async () => {
    const backend = scriptedBackend([answer("ok", u(80, 2))]);
    const provider = new FakeProvider();
    const s = search({ strategy: "max", prependSearchResult: true, citationFormat: "[ref_<number>]", enableCitation: true });
    const events = await collect(searchingGeneration(request(s), backend.generate, provider, new AbortController().signal));
    assert.deepEqual(provider.queries, [
      { query: "Its stock price today?", count: 10 },
      { query: "What is Alibaba? Its stock price today?", count: 10 },
    ]);
    assert.equal(events.length, 3);
    const first = events[0]!;
    assert.ok(first.type === "delta" && first.search?.prepended && first.content === "");
    assert.deepEqual(
      first.search.info?.results.map((r) => r.index),
      [1, 2, 3],
    );
    assert.deepEqual(first.search.usage, { count: 2, strategy: "max" });
    assert.ok(events[1]!.type === "delta" && events[1]!.search === undefined);
    assert.match(systemText(backend.requests[0]!), /as \[ref_<n>\].*\[ref_1\]/);
  });

  it("enable_source false: the outcome carries usage only; citation instruction needs enable_source", async () => {
    const backend = scriptedBackend([answer("ok", u(8, 2))]);
    const s = search({ enableSource: false, enableCitation: true, prependSearchResult: true });
    const events = await collect(searchingGeneration(request(s), backend.generate, new FakeProvider(), new AbortController().signal));
    assert.equal(events.length, 2);
    assert.deepEqual(events[0]!.type === "delta" && events[0]!.search, { usage: { count: 1, strategy: "turbo" }, prepended: false });
    assert.doesNotMatch(systemText(backend.requests[0]!), /Cite/);
  });

  it("an existing system message gets the sources appended", async () => {
    const backend = scriptedBackend([answer("ok", u(8, 2))]);
    const req = request(search());
    req.messages.unshift({ role: "system", content: [{ type: "text", text: "Be brief." }] });
    await collect(searchingGeneration(req, backend.generate, new FakeProvider(), new AbortController().signal));
    const sent = backend.requests[0]!;
    assert.equal(sent.messages.filter((m) => m.role === "system").length, 1);
    assert.match(systemText(sent), /^Be brief\.\n\n# Web search results/);
  });

  it("model decides (test double backend) — it calls web_search: its query runs, then the answer uses the results; usage adds up", async () => {
    const backend = scriptedBackend([searchCall("BABA price", u(40, 6)), answer("BABA is 167 USD [1].", u(90, 7))]);
    const provider = new FakeProvider();
    const events = await collect(
      searchingGeneration(request(search({ forced: false, strategy: "standard" })), backend.generate, provider, new AbortController().signal),
    );
    // The first generation was offered the web_search tool.
    assert.deepEqual(
      backend.requests[0]!.features.tools?.map((t) => t.name),
      [WEB_SEARCH_TOOL],
    );
    assert.deepEqual(provider.queries, [{ query: "BABA price", count: 10 }]);
    assert.equal(backend.requests[1]!.features.tools, undefined);
    assert.match(systemText(backend.requests[1]!), /\[1\] T1a/);
    // The thinking before the call passed through; the call itself never reaches the client.
    assert.deepEqual(
      events.map((e) => (e.type === "delta" ? { r: e.reasoning, c: e.content, t: e.toolCalls, s: e.search?.usage } : { f: e.reason })),
      [
        { r: "I should look it up.", c: undefined, t: undefined, s: undefined },
        { r: undefined, c: "BABA is 167 USD [1].", t: undefined, s: { count: 1, strategy: "standard" } },
        { f: "stop" },
      ],
    );
    assert.deepEqual(events[2]!.usage, u(130, 13));
  });

  it("model decides (test double backend) — it answers directly: its answer passes through, no search runs", async () => {
    const direct: EngineEvent[] = [
      { type: "delta", index: 0, content: " ", usage: u(20, 1) },
      { type: "delta", index: 0, content: "Hello!", usage: u(20, 2) },
      { type: "finish", index: 0, reason: "stop", usage: u(20, 2) },
    ];
    const backend = scriptedBackend([direct]);
    const provider = new FakeProvider();
    const events = await collect(searchingGeneration(request(search({ forced: false })), backend.generate, provider, new AbortController().signal));
    assert.deepEqual(events, direct);
    assert.equal(provider.queries.length, 0);
    assert.equal(backend.requests.length, 1);
  });

  it("model decides, but the backend cannot call tools: search runs up front", async () => {
    const backend = scriptedBackend([answer("ok", u(8, 2))]);
    const provider = new FakeProvider();
    await collect(searchingGeneration(request(search({ forced: false })), backend.generate, provider, new AbortController().signal, { toolCalling: false }));
    assert.equal(provider.queries.length, 1);
    assert.equal(backend.requests[0]!.features.tools, undefined);
  });

  it("agent (test double backend): forced search, then the model searches once more before answering", async () => {
    const backend = scriptedBackend([searchCall("more", u(60, 4)), answer("done", u(100, 3))]);
    const provider = new FakeProvider();
    const events = await collect(searchingGeneration(request(search({ strategy: "agent" })), backend.generate, provider, new AbortController().signal));
    assert.deepEqual(
      provider.queries.map((q) => q.query),
      ["Its stock price today?", "What is Alibaba? Its stock price today?", "more"],
    );
    assert.deepEqual(
      backend.requests[0]!.features.tools?.map((t) => t.name),
      [WEB_SEARCH_TOOL],
    );
    // After the third search one more offer remains, so the answer generation still had the tool; it answered directly.
    assert.equal(backend.requests.length, 2);
    const first = events.find((e) => e.type === "delta" && e.search);
    assert.ok(first?.type === "delta" && first.search);
    assert.deepEqual(first.search.usage, { count: 3, strategy: "agent" });
    assert.deepEqual(
      first.search.info?.results.map((r) => r.url),
      ["https://a.example/1", "https://shared.example/", "https://a.example/2", "https://a.example/3"],
    );
  });

  it("provider failure: 503 ServiceUnavailable ApiError; the backend is not called", async () => {
    const backend = scriptedBackend([]);
    await assert.rejects(
      collect(searchingGeneration(request(search()), backend.generate, new FakeProvider(true), new AbortController().signal)),
      (e: unknown) => e instanceof ApiError && e.status === 503 && e.code === "ServiceUnavailable" && /HTTP 500/.test(e.message),
    );
    assert.equal(backend.requests.length, 0);
  });

  it("searchQueries / searchSystemText helpers", () => {
    assert.deepEqual(searchQueries(request(undefined).messages, "standard"), ["Its stock price today?"]);
    assert.deepEqual(searchQueries([], "max"), []);
    assert.match(searchSystemText([], search()), /found nothing/);
  });
});
