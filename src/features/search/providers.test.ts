import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ftsQuery, htmlToText, LocalCorpusProvider, SearchProviderError, SearxngProvider } from "./index.ts";

const signal = () => new AbortController().signal;

describe("SearxngProvider (a local stand-in for SearXNG)", () => {
  let server: Server;
  let base = "";
  const seen: URL[] = [];
  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://x");
      seen.push(url);
      const q = url.searchParams.get("q") ?? "";
      if (url.pathname !== "/search") return void res.writeHead(404).end();
      if (q === "forbidden") return void res.writeHead(403).end("format not allowed");
      if (q === "slow") return void setTimeout(() => res.writeHead(200, { "Content-Type": "application/json" }).end("{}"), 2000);
      if (q === "garbage") return void res.writeHead(200, { "Content-Type": "text/html" }).end("<html>");
      // SearXNG's documented JSON format: query, number_of_results, results[] with url/title/content/engine/…
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end(
        JSON.stringify({
          query: q,
          number_of_results: 3,
          results: [
            {
              url: "https://www.example.com/a",
              title: "Alpha",
              content: "About alpha",
              engine: "duckduckgo",
              parsed_url: ["https", "www.example.com", "/a"],
              engines: ["duckduckgo"],
              positions: [1],
              score: 1,
              category: "general",
            },
            { url: "https://www.example.com/a", title: "Alpha again", content: "dup", engine: "bing" },
            { url: "javascript:alert(1)", title: "bad", content: "" },
            { url: "https://news.example.org/b", title: "", content: "  Beta  ", engine: "bing" },
            { url: "https://c.example.net/c", title: "Gamma", engine: "brave" },
          ],
          answers: [],
          corrections: [],
          infoboxes: [],
          suggestions: [],
          unresponsive_engines: [],
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("GET /search?q=…&format=json; results mapped, duplicates and non-http URLs dropped, count respected", async () => {
    const provider = new SearxngProvider(base, { language: "zh-CN", categories: ["general", "news"] });
    const hits = await provider.search("杭州 天气", { count: 10, signal: signal() });
    const url = seen[seen.length - 1]!;
    assert.equal(url.searchParams.get("q"), "杭州 天气");
    assert.equal(url.searchParams.get("format"), "json");
    assert.equal(url.searchParams.get("language"), "zh-CN");
    assert.equal(url.searchParams.get("categories"), "general,news");
    assert.deepEqual(hits, [
      { title: "Alpha", url: "https://www.example.com/a", snippet: "About alpha", siteName: "example.com", icon: "" },
      { title: "https://news.example.org/b", url: "https://news.example.org/b", snippet: "Beta", siteName: "news.example.org", icon: "" },
      { title: "Gamma", url: "https://c.example.net/c", snippet: "", siteName: "c.example.net", icon: "" },
    ]);
    assert.equal((await provider.search("x", { count: 1, signal: signal() })).length, 1);
  });

  it("HTTP errors, non-JSON answers and timeouts are SearchProviderErrors (no hang)", async () => {
    const provider = new SearxngProvider(base, { timeoutMs: 200 });
    await assert.rejects(
      provider.search("forbidden", { count: 5, signal: signal() }),
      (e: unknown) => e instanceof SearchProviderError && /HTTP 403.*json format/.test(e.message),
    );
    await assert.rejects(provider.search("garbage", { count: 5, signal: signal() }), SearchProviderError);
    const started = Date.now();
    await assert.rejects(
      provider.search("slow", { count: 5, signal: signal() }),
      (e: unknown) => e instanceof SearchProviderError && /within 200 ms/.test(e.message),
    );
    assert.ok(Date.now() - started < 1500);
    const dead = new SearxngProvider("http://127.0.0.1:1", { timeoutMs: 1000 });
    await assert.rejects(dead.search("x", { count: 5, signal: signal() }), SearchProviderError);
  });

  it("the caller's abort wins over the timeout", async () => {
    const provider = new SearxngProvider(base, { timeoutMs: 5000 });
    const ac = new AbortController();
    setTimeout(() => ac.abort(new Error("client gone")), 50);
    await assert.rejects(provider.search("slow", { count: 5, signal: ac.signal }), /client gone/);
  });
});

describe("LocalCorpusProvider (real SQLite FTS5 on a temp folder)", () => {
  const dir = mkdtempSync(join(tmpdir(), "openscope-corpus-"));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it("indexes txt, md and html (tags stripped), ranks with bm25, snippets the match", async () => {
    writeFileSync(join(dir, "weather.txt"), "Hangzhou weather tomorrow: cloudy, 18 to 24 degrees. Light wind.");
    writeFileSync(join(dir, "notes.md"), "# Alibaba stock\n\nThe Alibaba share price rose 1.19% on Friday.");
    mkdirSync(join(dir, "sub"));
    writeFileSync(
      join(dir, "sub", "page.html"),
      "<html><head><title>Tea &amp; Hangzhou</title><style>.x{color:red}</style></head><body><script>var hangzhou=1</script><p>Longjing tea grows near Hangzhou&#39;s West Lake.</p></body></html>",
    );
    writeFileSync(join(dir, "skip.json"), '{"hangzhou": true}');
    mkdirSync(join(dir, ".hidden"));
    writeFileSync(join(dir, ".hidden", "x.txt"), "hangzhou hangzhou");
    const corpus = LocalCorpusProvider.open(join(dir, "index.sqlite"));
    assert.equal(corpus.indexFolder(dir), 3);
    assert.equal(corpus.size, 3);

    const hits = await corpus.search("Hangzhou weather?", { count: 5, signal: signal() });
    assert.equal(hits.length, 2);
    assert.equal(hits[0]!.title, "weather");
    assert.match(hits[0]!.url, /^file:\/\/.*weather\.txt$/);
    assert.match(hits[0]!.snippet, /Hangzhou weather tomorrow/);
    assert.equal(hits[0]!.siteName, "local");
    assert.equal(hits[1]!.title, "Tea & Hangzhou");
    assert.doesNotMatch(hits[1]!.snippet, /<|var hangzhou|color/);
    assert.match(hits[1]!.snippet, /Hangzhou's West Lake/);

    const stock = await corpus.search("alibaba share", { count: 5, signal: signal() });
    assert.equal(stock[0]!.title, "Alibaba stock");
    assert.equal((await corpus.search("hangzhou", { count: 1, signal: signal() })).length, 1);
    // Re-indexing replaces instead of duplicating.
    corpus.indexFolder(dir);
    assert.equal(corpus.size, 3);
    corpus.close();
  });

  it("addDocument adds or replaces one document; FTS5 syntax in queries is inert", async () => {
    const corpus = LocalCorpusProvider.open(":memory:");
    corpus.addDocument("f1", "Upload", "fileid://f1", "quarterly revenue report for NEAR OR AND tests");
    assert.equal((await corpus.search("revenue", { count: 5, signal: signal() }))[0]?.url, "fileid://f1");
    corpus.addDocument("f1", "Upload v2", "fileid://f1", "completely different");
    assert.equal(corpus.size, 1);
    assert.deepEqual(await corpus.search("revenue", { count: 5, signal: signal() }), []);
    for (const nasty of ['"', "title:x", "a* OR (b", "NEAR(a b)", "^start", "-x", "AND", "'; DROP TABLE documents; --", ""]) {
      await corpus.search(nasty, { count: 5, signal: signal() });
    }
    assert.equal((await corpus.search('different" OR "x', { count: 5, signal: signal() }))[0]?.title, "Upload v2");
    assert.equal(corpus.size, 1);
    corpus.removeDocument("f1");
    assert.equal(corpus.size, 0);
    corpus.close();
  });

  it("ftsQuery quotes every word; htmlToText decodes entities", () => {
    assert.equal(ftsQuery('a "b" title:c*'), '"a" OR "b" OR "title" OR "c"');
    assert.equal(ftsQuery("  ?! "), "");
    assert.deepEqual(htmlToText("<title>T&lt;1&gt;</title><p>x&nbsp;y&#x41;</p>"), { title: "T<1>", text: "x yA" });
  });
});
