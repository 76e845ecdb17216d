import assert from "node:assert/strict";
import { createReadStream, statSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { ensureTestModel } from "../../testmodels/index.ts";
import { isRemoteSource, ModelSourceError, parseHfUri, resolveModelSource } from "./modelSource.ts";

describe("model sources", () => {
  it("parses hf: URIs with a file path or a quantization tag", () => {
    assert.deepEqual(parseHfUri("hf:Qwen/Qwen3-0.6B-GGUF/Qwen3-0.6B-Q8_0.gguf"), {
      owner: "Qwen",
      repo: "Qwen3-0.6B-GGUF",
      file: "Qwen3-0.6B-Q8_0.gguf",
    });
    assert.deepEqual(parseHfUri("hf:unsloth/Qwen3-0.6B-GGUF:Q4_K_M"), { owner: "unsloth", repo: "Qwen3-0.6B-GGUF", tag: "Q4_K_M" });
    assert.equal(parseHfUri("hf:no-repo"), undefined);
    assert.equal(isRemoteSource("hf:a/b/c.gguf"), true);
    assert.equal(isRemoteSource("https://example.com/m.gguf"), true);
    assert.equal(isRemoteSource("./models/m.gguf"), false);
  });

  it("rejects a missing local file with a clear message", async () => {
    await assert.rejects(resolveModelSource("/nonexistent/model.gguf", { cacheDir: tmpdir(), progress: false }), (error: unknown) => {
      assert.ok(error instanceof ModelSourceError);
      assert.match(error.message, /not found/);
      return true;
    });
  });

  it("rejects a malformed hf: URI before touching the network", async () => {
    await assert.rejects(resolveModelSource("hf:just-a-name", { cacheDir: tmpdir(), progress: false }), /Malformed model URI/);
  });
});

describe("hf: download through a stand-in hub on 127.0.0.1 (HF_ENDPOINT)", () => {
  let hub: Server;
  let cacheDir: string;
  let modelPath: string;
  const savedEndpoint = process.env.HF_ENDPOINT;
  const requests: string[] = [];

  before(async () => {
    modelPath = await ensureTestModel("llama-tiny", resolve("models/test"));
    cacheDir = await mkdtemp(join(tmpdir(), "openscope-pull-"));
    hub = createServer((req, res) => {
      requests.push(`${req.method} ${req.url}`);
      if (new URL(req.url ?? "/", "http://hub").pathname !== "/acme/tiny-GGUF/resolve/main/tiny.gguf") {
        res.writeHead(404).end();
        return;
      }
      const size = statSync(modelPath).size;
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": size, "Accept-Ranges": "none" });
      if (req.method === "HEAD") res.end();
      else createReadStream(modelPath).pipe(res);
    });
    await new Promise<void>((done) => hub.listen(0, "127.0.0.1", done));
    process.env.HF_ENDPOINT = `http://127.0.0.1:${(hub.address() as AddressInfo).port}/`;
  });

  after(async () => {
    if (savedEndpoint === undefined) delete process.env.HF_ENDPOINT;
    else process.env.HF_ENDPOINT = savedEndpoint;
    hub.close();
    await rm(cacheDir, { recursive: true, force: true });
  });

  it("downloads into the cache, then finds it there without the network", async () => {
    const path = await resolveModelSource("hf:acme/tiny-GGUF/tiny.gguf", { cacheDir, progress: false });
    assert.ok(path.startsWith(cacheDir));
    assert.deepEqual(await readFile(path), await readFile(modelPath));
    const before = requests.length;
    assert.equal(await resolveModelSource("hf:acme/tiny-GGUF/tiny.gguf", { cacheDir, progress: false }), path);
    assert.equal(requests.length, before, "a cached model must not be fetched again");
  });

  it("reports an unreachable hub quickly and as offline", async () => {
    process.env.HF_ENDPOINT = "http://127.0.0.1:9/";
    const started = Date.now();
    await assert.rejects(resolveModelSource("hf:acme/other-GGUF/other.gguf", { cacheDir, progress: false, probeTimeoutMs: 2000 }), (error: unknown) => {
      assert.ok(error instanceof ModelSourceError);
      assert.equal(error.offline, true);
      assert.match(error.message, /unreachable/);
      return true;
    });
    assert.ok(Date.now() - started < 5000);
  });
});
