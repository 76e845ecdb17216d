/**
 * `openscope serve` as a process, when something is wrong: every configuration or environment
 * problem is one line on stderr naming the setting (exit 2), run-time failures one line (exit 1),
 * no stack trace unless OPENSCOPE_LOG_LEVEL=debug; models that cannot load say which file and why;
 * impossible context sizes are refused at once; SIGTERM ends the process within seconds.
 */
import assert from "node:assert/strict";
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { startServer } from "../../src/cli/serve.ts";
import { GENERATION_PATH, REPO_ROOT, testConfig } from "../helpers/server.ts";

const MAIN = join(REPO_ROOT, "src", "cli", "main.ts");
const LLAMA_TINY = join(REPO_ROOT, "models", "test", "llama-tiny.gguf");
const QWEN_TINY = join(REPO_ROOT, "models", "test", "qwen3-tiny.gguf");
const SKIP = existsSync(LLAMA_TINY) && existsSync(QWEN_TINY) ? false : "run `npm run models:test` first";

interface Run {
  child: ChildProcess;
  stderr(): string;
  /** Lines of stderr, as printed. */
  lines(): string[];
  /** Milliseconds since start when a line matching the pattern appeared. */
  when(pattern: RegExp): Promise<number>;
  exited: Promise<{ code: number | null; ms: number }>;
}

let dir: string;

/** `node --import tsx src/cli/main.ts <args>` with its own data and cache dirs. */
function openscope(args: string[], env: NodeJS.ProcessEnv = {}): Run {
  const started = performance.now();
  const child = spawn(process.execPath, ["--import", "tsx", MAIN, ...args], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      OPENSCOPE_LOG_LEVEL: "",
      OPENSCOPE_DATA_DIR: join(dir, "data"),
      OPENSCOPE_CACHE_DIR: join(dir, "cache"),
      HF_ENDPOINT: "http://127.0.0.1:9/",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const waiting: { pattern: RegExp; resolve: (ms: number) => void }[] = [];
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const w of [...waiting]) {
      if (w.pattern.test(stderr)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve(performance.now() - started);
      }
    }
  });
  const exited = new Promise<{ code: number | null; ms: number }>((resolve) => child.on("exit", (code) => resolve({ code, ms: performance.now() - started })));
  const timer = setTimeout(() => child.kill("SIGKILL"), 90_000);
  void exited.then(() => clearTimeout(timer));
  return {
    child,
    stderr: () => stderr,
    lines: () => stderr.split("\n").filter((line) => line !== ""),
    when: (pattern) =>
      pattern.test(stderr)
        ? Promise.resolve(performance.now() - started)
        : new Promise<number>((resolve, reject) => {
            waiting.push({ pattern, resolve });
            void exited.then(() => reject(new Error(`exited before ${pattern}:\n${stderr}`)));
          }),
    exited,
  };
}

/** The lines that are not the usual startup report. */
const problemLines = (run: Run) => run.lines().filter((line) => !/^openscope: (gateway: |listening on )/.test(line));

/** Runs to its end and checks: this exit code, exactly one problem line matching, no stack trace. */
async function expectOneLine(args: string[], env: NodeJS.ProcessEnv, exitCode: number, pattern: RegExp): Promise<string> {
  const run = openscope(args, env);
  const { code } = await run.exited;
  const lines = problemLines(run);
  assert.equal(lines.length, 1, `one line expected for ${args.join(" ")}:\n${run.stderr()}`);
  assert.match(lines[0]!, /^openscope: /);
  assert.match(lines[0]!, pattern);
  assert.doesNotMatch(run.stderr(), /^\s+at /m, "no stack trace");
  assert.equal(code, exitCode, `${args.join(" ")}:\n${run.stderr()}`);
  return lines[0]!;
}

/** Runs the cases a few at a time (each is its own Node process). */
async function inBatches<T>(items: T[], each: (item: T) => Promise<unknown>, size = 3): Promise<void> {
  for (let i = 0; i < items.length; i += size) await Promise.all(items.slice(i, i + size).map(each));
}

/** A copy of a GGUF with bytes of its header replaced (same length, so every offset holds). */
async function patchedGguf(name: string, edit: (bytes: Buffer) => void): Promise<string> {
  const bytes = await readFile(LLAMA_TINY);
  edit(bytes);
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

/** Where a metadata key's value starts: after the key, its type (u32) and, for strings, its length (u64). */
function valueOffset(bytes: Buffer, key: string, type: "u32" | "string"): number {
  const at = bytes.indexOf(Buffer.from(key, "latin1"));
  assert.ok(at > 0, key);
  return at + key.length + 4 + (type === "string" ? 8 : 0);
}

describe("openscope serve: startup problems are one line", { skip: SKIP }, () => {
  let blocker: Server;
  let busyPort: number;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "openscope-startup-"));
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, "127.0.0.1", resolve));
    busyPort = (blocker.address() as { port: number }).port;
  });
  after(async () => {
    blocker.close();
    await rm(dir, { recursive: true, force: true });
  });

  it("configuration: exit 2, one line naming the setting as given (flag, variable or key) and what to do", async () => {
    const file = join(dir, "file");
    await writeFile(file, "");
    const yaml = async (name: string, text: string) => {
      const path = join(dir, name);
      await writeFile(path, text);
      return path;
    };
    const model = ["--model", LLAMA_TINY];
    const cases: [string[], NodeJS.ProcessEnv, RegExp][] = [
      [[...model, "--port", "70000"], {}, /--port: must be an integer from 0 to 65535 \(0 picks a free port\), got "70000"$/],
      [[...model, "--port", "-1"], {}, /--port needs a value; one starting with "-" is written --port=-/],
      [[...model, "--host", "999.999.1.1"], {}, /--host: "999\.999\.1\.1" is not a valid IPv4 address: use e\.g\. 127\.0\.0\.1/],
      [
        [...model, "--config", await yaml("cidr.yaml", "media:\n  allow_hosts: ['10.0.0.0/99']\n")],
        {},
        /media\.allow_hosts\[0\]: "10\.0\.0\.0\/99" is not a valid CIDR range/,
      ],
      [
        model,
        { OPENSCOPE_DATA_DIR: join(file, "data") },
        /OPENSCOPE_DATA_DIR .*\/file\/data cannot hold the server's data: .*\/file is a file, not a directory\. Set OPENSCOPE_DATA_DIR to a directory/,
      ],
      [[...model, "--config", await yaml("typo.yaml", "prot: 8000\n")], {}, /: prot: unknown key — did you mean port\?$/],
      [
        ["--port", "0", "--config", await yaml("contxt.yaml", `models:\n  - source: ${LLAMA_TINY}\n    contxt_size: 512\n`)],
        {},
        /: models\[0\]\.contxt_size: unknown key — did you mean context_size\?$/,
      ],
      [[...model, "--config", await yaml("api-key.yaml", "api_key: [sk-1]\n")], {}, /: api_key: unknown key — did you mean api_keys\?$/],
      [[...model, "--config", await yaml("bad.yaml", "models: [\n")], {}, /config file .*bad\.yaml is not valid YAML: .* at line \d+, column \d+$/],
      [[...model, "--config", await yaml("timeout.yaml", "request_timeout_s: 1e9\n")], {}, /request_timeout_s: must be a number from 1 to 2147483/],
      [model, { OPENSCOPE_PORT: "eighty" }, /OPENSCOPE_PORT: must be an integer from 0 to 65535 .*, got "eighty"$/],
      [[...model, "--store-url", "postgres://[::1"], {}, /--store-url: "postgres:\/\/\[::1" is not a valid URL/],
      [[...model, "--parallel", "1000"], {}, /--parallel: must be an integer from 1 to 256/],
      [["serve", "--model", join(dir, "missing.gguf")], {}, /Model file not found or not readable: .*missing\.gguf \(check --model/],
      [["frobnicate"], {}, /unknown command "frobnicate": the commands are serve, pull, keys, usage, models and config/],
    ];
    await inBatches(cases, ([args, env, pattern]) =>
      expectOneLine(
        args[0] === "serve" || args[0] === "frobnicate" ? args : ["serve", ...(env.OPENSCOPE_PORT || args.includes("--port") ? [] : ["--port", "0"]), ...args],
        env,
        2,
        pattern,
      ),
    );
  });

  it("config check validates without starting (exit 0 and one line, or a line per problem and exit 2); config schema prints the JSON Schema", async () => {
    const good = join(dir, "good.yaml");
    await writeFile(good, `port: 0\nmodels:\n  - { source: ${LLAMA_TINY}, context_size: 512 }\n`);
    const ok = openscope(["config", "check", good]);
    assert.equal((await ok.exited).code, 0, ok.stderr());
    const bad = join(dir, "two-typos.yaml");
    await writeFile(bad, "prot: 8000\nmodels:\n  - { source: m.gguf, paralel: 2 }\n");
    const checked = openscope(["config", "check", bad]);
    assert.equal((await checked.exited).code, 2);
    assert.deepEqual(checked.lines(), [
      "openscope: models[0].paralel: unknown key — did you mean parallel?",
      "openscope: prot: unknown key — did you mean port?",
    ]);
    const schema = spawn(process.execPath, ["--import", "tsx", MAIN, "config", "schema"], { cwd: REPO_ROOT, stdio: ["ignore", "pipe", "inherit"] });
    let text = "";
    schema.stdout.on("data", (chunk: Buffer) => {
      text += chunk.toString();
    });
    await new Promise((resolve) => schema.on("exit", resolve));
    const parsed = JSON.parse(text) as { $schema: string; additionalProperties: boolean };
    assert.match(parsed.$schema, /json-schema\.org/);
    assert.equal(parsed.additionalProperties, false);
  });

  it("a port in use: exit 1, one line; the stack trace only at OPENSCOPE_LOG_LEVEL=debug", async () => {
    await expectOneLine(
      ["serve", "--model", LLAMA_TINY, "--port", String(busyPort)],
      {},
      1,
      new RegExp(`port ${busyPort} on 127\\.0\\.0\\.1 is already in use by another process: stop it, or choose another port with --port$`),
    );
    const debug = openscope(["serve", "--model", LLAMA_TINY, "--port", String(busyPort)], { OPENSCOPE_LOG_LEVEL: "debug" });
    assert.equal((await debug.exited).code, 1);
    assert.match(debug.stderr(), /already in use/);
    assert.match(debug.stderr(), /^\s+at /m);
  });

  it("a model that cannot load: exit 1, one line with the file and the reason in plain words", async () => {
    const empty = join(dir, "empty.gguf");
    await writeFile(empty, "");
    const folder = join(dir, "folder.gguf");
    await mkdir(folder);
    const text = join(dir, "text.gguf");
    await writeFile(text, "hello, not a model\n");
    const truncated = join(dir, "truncated.gguf");
    await writeFile(truncated, (await readFile(LLAMA_TINY)).subarray(0, 3_000_000));
    const unknown = await patchedGguf("unknown-arch.gguf", (bytes) => bytes.write("zzzzz", valueOffset(bytes, "general.architecture", "string"), "latin1"));
    const noArch = await patchedGguf("no-arch.gguf", (bytes) => bytes.write("general.architecturX", bytes.indexOf("general.architecture"), "latin1"));
    const cases: [string, RegExp][] = [
      [empty, /the file is empty \(0 bytes\)/],
      [folder, /it is a directory, not a GGUF file/],
      [text, /it is not a GGUF model file \(it starts with "hell"; a GGUF file starts with "GGUF"\)/],
      [truncated, /the file is truncated: 3,000,000 bytes, its tensors need at least [\d,]+\. Download it again/],
      [unknown, /its architecture "zzzzz" is not one this engine \(node-llama-cpp's llama\.cpp\) supports/],
      [noArch, /its metadata names no model architecture \(general\.architecture is missing\)/],
    ];
    await inBatches(cases, async ([path, reason]) => {
      const line = await expectOneLine(["serve", "--port", "0", "--model", path], {}, 1, reason);
      assert.ok(line.startsWith(`openscope: model file ${path} cannot be loaded: `), line);
    });
  });

  it("/health says failed, with the reason, while the process is still up (503)", async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), "openscope-startup-health-"));
    const config = testConfig({ model: { source: join(dir, "empty.gguf") } }, cacheDir);
    const server = await startServer(config, { info: () => undefined, warn: () => undefined });
    try {
      await assert.rejects(server.loaded, /the file is empty/);
      const health = await fetch(`${server.url}/health`);
      assert.equal(health.status, 503);
      const body = (await health.json()) as { status: string; reason: string; models: { name: string; ready: boolean; error?: string }[] };
      assert.equal(body.status, "failed");
      assert.match(body.reason, /^model "tiny": model file .*empty\.gguf cannot be loaded: the file is empty \(0 bytes\)/);
      assert.equal(body.models[0]!.ready, false);
      const generation = await fetch(server.url + GENERATION_PATH, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ model: "tiny", input: { prompt: "hi" } }),
      });
      assert.equal(generation.status, 503);
      assert.match(((await generation.json()) as { message: string }).message, /failed to load: model file .*the file is empty/);
      const listing = (await (await fetch(`${server.url}/api/v1/models`)).json()) as {
        output: { models: { name: string; status: string; reason?: string }[] };
      };
      assert.equal(listing.output.models[0]!.status, "failed");
      assert.match(listing.output.models[0]!.reason ?? "", /the file is empty/);
    } finally {
      await server.close();
      await rm(cacheDir, { recursive: true, force: true });
    }
  });

  it("context_size x parallel whose KV cache cannot fit: refused by arithmetic, at once, without loading the weights (exit 2)", async () => {
    // llama-tiny claiming a 2^31-token trained context: nothing caps 10^8 x 64 before the memory check.
    const huge = await patchedGguf("huge-context.gguf", (bytes) => bytes.writeUInt32LE(2 ** 31 - 1, valueOffset(bytes, "llama.context_length", "u32")));
    const run = openscope(["serve", "--port", "0", "--model", huge, "--context-size", "100000000", "--parallel", "64"]);
    const listening = await run.when(/listening on/);
    const { code, ms } = await run.exited;
    assert.equal(code, 2, run.stderr());
    const lines = problemLines(run);
    assert.equal(lines.length, 1, run.stderr());
    assert.match(
      lines[0]!,
      /^openscope: model "huge-context": not enough memory for 64 slots x 100000000 tokens: the KV cache alone needs at least 1\.8 TiB \(6,400,000,000 cells x 308 bytes\), but this machine has .*\. Lower context_size or parallel\.$/,
    );
    assert.ok(ms - listening < 3000, `refused ${Math.round(ms - listening)} ms after listening`);
  });

  it("context_size above the trained context is capped to it with a warning, as llama-server does", async () => {
    const run = openscope(["serve", "--port", "0", "--model", QWEN_TINY, "--context-size", "100000000", "--parallel", "2"]);
    await run.when(/openscope: ready/);
    assert.match(
      run.stderr(),
      /WARNING: model "qwen3-tiny": context_size 100000000 is above the 4096 tokens it was trained for: each slot holds 4096 tokens \(capped, as llama-server does\)/,
    );
    assert.match(run.stderr(), /2 slots x 4096 tokens/);
    run.child.kill("SIGTERM");
    assert.equal((await run.exited).code, 0);
  });

  it("SIGTERM while the model loads ends the process within seconds (it used to wait for the load)", async () => {
    // 64 slots: node-llama-cpp's estimate and the context take seconds here.
    const run = openscope(["serve", "--port", "0", "--model", QWEN_TINY, "--context-size", "4096", "--parallel", "64"]);
    await run.when(/listening on/);
    const sent = performance.now();
    run.child.kill("SIGTERM");
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr());
    assert.ok(performance.now() - sent < 5000, `exited ${Math.round(performance.now() - sent)} ms after SIGTERM`);
    assert.match(run.stderr(), /SIGTERM: shutting down/);
    assert.doesNotMatch(run.stderr(), /^\s+at /m);
  });

  it("SIGTERM under load: streams end, the process exits within seconds", async () => {
    const run = openscope(["serve", "--port", "0", "--model", QWEN_TINY, "--context-size", "2048", "--parallel", "4"]);
    await run.when(/openscope: ready/);
    const url = /listening on (http:\/\/\S+)/.exec(run.stderr())![1]!;
    const streams = Array.from({ length: 6 }, () =>
      fetch(url + GENERATION_PATH, {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-DashScope-SSE": "enable" },
        body: JSON.stringify({ model: "qwen3-tiny", input: { prompt: "tell me a long story" }, parameters: { max_tokens: 2000, incremental_output: true } }),
      }).then(async (response) => {
        const reader = response.body!.getReader();
        await reader.read();
        return reader;
      }),
    );
    const readers = await Promise.race([
      Promise.all(streams.slice(0, 4)),
      new Promise<never>((_, reject) => setTimeout(() => reject(new Error("no first bytes")), 30_000)),
    ]);
    const sent = performance.now();
    run.child.kill("SIGTERM");
    const { code } = await run.exited;
    assert.equal(code, 0, run.stderr());
    assert.ok(performance.now() - sent < 8000, `exited ${Math.round(performance.now() - sent)} ms after SIGTERM`);
    for (const reader of readers) await reader.cancel().catch(() => undefined);
    await Promise.allSettled(streams);
  });

  it("a model taking video or audio without ffmpeg installed: one loud warning saying what to install", async () => {
    const config = join(dir, "video.yaml");
    await writeFile(config, "models:\n  - { name: vl, backend: openai, kind: vllm, modalities: [image, video], replicas: ['http://127.0.0.1:9/v1'] }\n");
    // A PATH holding node alone: ffmpeg usually sits beside node in /usr/bin.
    const bin = join(dir, "node-only-bin");
    await mkdir(bin, { recursive: true });
    await symlink(process.execPath, join(bin, "node"));
    const run = openscope(["serve", "--port", "0", "--config", config], { PATH: bin });
    await run.when(/openscope: ready/);
    await run.when(/ffmpeg/);
    const warnings = run.lines().filter((line) => /ffmpeg/.test(line));
    assert.equal(warnings.length, 1, run.stderr());
    assert.match(
      warnings[0]!,
      /^openscope: WARNING: model "vl" takes video\/audio input but ffmpeg\/ffprobe are not installed: every video or audio request to it will fail \(503\)\. Install ffmpeg \(Debian\/Ubuntu: apt-get install ffmpeg/,
    );
    run.child.kill("SIGTERM");
    assert.equal((await run.exited).code, 0);
  });
});
