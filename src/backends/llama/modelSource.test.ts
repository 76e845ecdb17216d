import assert from "node:assert/strict";
import { createReadStream, statSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { after, before, describe, it } from "node:test";
import { ensureTestModel } from "../../testmodels/index.ts";
import {
  checkModelFile,
  explainModelLoadFailure,
  isRemoteSource,
  ModelLoadError,
  ModelSourceError,
  parseGgufMetadata,
  parseHfUri,
  readGgufMetadata,
  resolveModelSource,
} from "./modelSource.ts";

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

describe("model files that cannot be loaded, in plain words", () => {
  let dir: string;
  let tiny: Buffer;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "openscope-modelfile-"));
    tiny = await readFile(await ensureTestModel("llama-tiny", resolve("models/test")));
  });
  after(() => rm(dir, { recursive: true, force: true }));
  const file = async (name: string, bytes: Buffer | string) => {
    const path = join(dir, name);
    await writeFile(path, bytes);
    return path;
  };
  const refuses = async (path: string, reason: RegExp) =>
    assert.rejects(checkModelFile(path), (error: unknown) => {
      assert.ok(error instanceof ModelLoadError);
      assert.equal(error.path, path);
      assert.match(error.reason, reason);
      return true;
    });

  it("checkModelFile: missing, a directory, empty, not a GGUF (HTML page, Git LFS pointer), a header cut short", async () => {
    await refuses(join(dir, "missing.gguf"), /^the file does not exist$/);
    await mkdir(join(dir, "folder.gguf"));
    await refuses(join(dir, "folder.gguf"), /^it is a directory, not a GGUF file/);
    await refuses(await file("empty.gguf", ""), /^the file is empty \(0 bytes\)/);
    await refuses(await file("page.gguf", "<!DOCTYPE html><html>Not Found</html>"), /^it is an HTML page, not a GGUF model/);
    await refuses(await file("lfs.gguf", "version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 1\n"), /^it is a Git LFS pointer, not the model/);
    await refuses(
      await file("text.gguf", "\u0000\u0001binary"),
      /^it is not a GGUF model file \(it starts with "\\u0000\\u0001bi"; a GGUF file starts with "GGUF"\)$/,
    );
    await refuses(await file("short.gguf", "GGUF\u0003"), /^the file is truncated: 5 bytes is shorter than a GGUF header/);
    await checkModelFile(await file("ok.gguf", tiny));
  });

  it("explainModelLoadFailure: truncated header, no or unknown architecture, llama.cpp's reason otherwise", async () => {
    assert.match(
      await explainModelLoadFailure(await file("cut.gguf", tiny.subarray(0, 40)), new Error("Failed to load model")),
      /^its GGUF header is truncated or corrupt: download the file again$/,
    );
    const noArch = Buffer.from(tiny);
    noArch.write("general.architecturX", noArch.indexOf("general.architecture"), "latin1");
    assert.match(
      await explainModelLoadFailure(await file("noarch.gguf", noArch), new Error("Failed to load model")),
      /names no model architecture \(general\.architecture is missing\)/,
    );
    const unknown = Buffer.from(tiny);
    unknown.write("zzzzz", unknown.indexOf("general.architecture") + "general.architecture".length + 12, "latin1");
    assert.match(
      await explainModelLoadFailure(await file("zzzzz.gguf", unknown), new Error("Failed to load model")),
      /architecture "zzzzz" is not one this engine/,
    );
    assert.equal(
      await explainModelLoadFailure(await file("other.gguf", tiny), new Error("Failed to load model"), undefined, [
        "llama_model_load: error loading model: missing tensor 'output_norm.weight'",
      ]),
      "llama.cpp could not load it: missing tensor 'output_norm.weight'",
    );
  });

  it("readGgufMetadata: the scalars and short numeric lists, nested by key, the vocabulary skipped", async () => {
    const metadata = (await readGgufMetadata(await file("meta.gguf", tiny))) as {
      general: { architecture: string };
      llama: Record<string, unknown>;
      tokenizer: { ggml: Record<string, unknown> };
    };
    assert.equal(metadata.general.architecture, "llama");
    assert.equal(metadata.llama.block_count, 2);
    assert.equal(metadata.llama.context_length, 4096);
    assert.deepEqual(metadata.llama.attention, {
      head_count: 4,
      head_count_kv: 2,
      key_length: 16,
      value_length: 16,
      layer_norm_rms_epsilon: (metadata.llama.attention as { layer_norm_rms_epsilon: number }).layer_norm_rms_epsilon,
    });
    assert.equal(metadata.tokenizer.ggml.tokens, undefined, "string arrays are skipped");
    assert.equal(await readGgufMetadata(await file("cut2.gguf", tiny.subarray(0, 200))), undefined);
    assert.equal(parseGgufMetadata(Buffer.from("not a gguf at all, really")), undefined);
  });
});
