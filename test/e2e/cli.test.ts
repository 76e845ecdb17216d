import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { promisify } from "node:util";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { CLI_FROM_SOURCE, GENERATION_PATH, REPO_ROOT } from "../helpers/server.ts";

/** Starts `openscope serve` as a user would, and resolves with its base URL once it says "ready". */
function serve(env: NodeJS.ProcessEnv, args: string[] = []) {
  const child = spawn(process.execPath, [...CLI_FROM_SOURCE, "serve", "--port", "0", ...args], {
    env: { ...process.env, ...(env.OPENSCOPE_CACHE_DIR ? { OPENSCOPE_DATA_DIR: join(env.OPENSCOPE_CACHE_DIR, "data") } : {}), ...env },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  const ready = new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      // A server that never gets ready must not outlive the test (the runner would wait for it).
      child.kill("SIGKILL");
      reject(new Error(`no "ready" within 60 s:\n${stderr}`));
    }, 60_000);
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
      const url = /listening on (http:\/\/\S+)/.exec(stderr)?.[1];
      if (url && stderr.includes("openscope: ready")) {
        clearTimeout(timer);
        resolve(url);
      }
    });
    child.on("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code}:\n${stderr}`));
    });
  });
  const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
  return { child, ready, exited, stderr: () => stderr };
}

describe("openscope serve (the CLI, as a subprocess)", () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it("with no model and no network: warns loudly and serves the tiny test model under the DashScope names", async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), "openscope-cli-"));
    dirs.push(cacheDir);
    // A hub address that refuses connections stands in for a machine without network.
    const server = serve({ OPENSCOPE_CACHE_DIR: cacheDir, HF_ENDPOINT: "http://127.0.0.1:9/", OPENSCOPE_MODEL: "" });
    const url = await server.ready;
    try {
      assert.match(server.stderr(), /unreachable/);
      assert.match(server.stderr(), /openscope-tiny-random/);
      assert.match(server.stderr(), /NOISE/);
      assert.match(server.stderr(), /openscope pull hf:/);
      const health = await fetch(`${url}/health`);
      assert.equal(health.status, 200);
      const response = await fetch(url + GENERATION_PATH, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({
          model: "qwen-plus",
          input: { messages: [{ role: "user", content: "你好" }] },
          parameters: { result_format: "message", max_tokens: 5 },
        }),
      });
      assert.equal(response.status, 200);
      const body = (await response.json()) as { output: { choices: { message: { role: string } }[] } };
      assert.equal(body.output.choices[0]!.message.role, "assistant");
    } finally {
      server.child.kill("SIGTERM");
    }
    assert.equal(await server.exited, 0);
  });

  it("serves a model without a chat template (ChatML fallback) and exits cleanly on SIGTERM", async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), "openscope-cli-"));
    dirs.push(cacheDir);
    const server = serve({ OPENSCOPE_CACHE_DIR: cacheDir }, [
      "--model",
      join(REPO_ROOT, "models", "test", "llama-tiny.gguf"),
      "--parallel",
      "1",
      "--context-size",
      "256",
    ]);
    const url = await server.ready;
    try {
      assert.match(server.stderr(), /using ChatML/);
      const tokenized = await fetch(`${url}/api/v1/tokenizer`, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ model: "llama-tiny", input: { messages: [{ role: "user", content: "hello" }] } }),
      });
      const body = (await tokenized.json()) as { output: { prompt: string; token_ids: number[] } };
      assert.equal(body.output.prompt, "<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n");
      assert.ok(body.output.token_ids.length > 0);
      const response = await fetch(url + GENERATION_PATH, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ model: "qwen-max", input: { prompt: "hello" }, parameters: { max_tokens: 4 } }),
      });
      assert.equal(response.status, 200);
      const generated = (await response.json()) as { output: { text: string; finish_reason: string }; usage: { output_tokens: number } };
      assert.ok(generated.usage.output_tokens <= 4);
    } finally {
      server.child.kill("SIGTERM");
    }
    assert.equal(await server.exited, 0);
  });
});

/** Runs `openscope <args>` to its end; resolves with stdout, rejects with stderr on a non-zero exit. */
async function openscope(env: NodeJS.ProcessEnv, ...args: string[]): Promise<string> {
  const { stdout } = await promisify(execFile)(process.execPath, [...CLI_FROM_SOURCE, ...args], { env: { ...process.env, ...env } });
  return stdout;
}

describe("openscope keys / usage (the CLI, as subprocesses)", () => {
  it("creates a key that a server on the same data dir enforces, revokes it, and reports usage after a clean shutdown", async () => {
    const cacheDir = await mkdtemp(join(tmpdir(), "openscope-cli-keys-"));
    const env = { OPENSCOPE_CACHE_DIR: cacheDir, OPENSCOPE_DATA_DIR: join(cacheDir, "data") };
    try {
      const created = await openscope(env, "keys", "create", "--name", "ci", "--models", "llama-tiny", "--rpm", "10", "--expires", "7d");
      const secret = /^(sk-os-\S+)$/m.exec(created)?.[1];
      assert.ok(secret, created);
      const id = /created key (key_\w+)/.exec(created)![1]!;
      const listed = await openscope(env, "keys", "list");
      assert.match(listed, new RegExp(`${id}\\s+ci\\s+${secret.slice(0, 14)}…\\s+active\\s+llama-tiny\\s+10`));
      assert.ok(!listed.includes(secret));

      const server = serve(env, ["--model", join(REPO_ROOT, "models", "test", "llama-tiny.gguf"), "--parallel", "1", "--context-size", "256"]);
      const url = await server.ready;
      try {
        const call = (headers: Record<string, string>) =>
          fetch(url + GENERATION_PATH, {
            method: "POST",
            headers: { "Content-Type": "application/json", ...headers },
            body: JSON.stringify({ model: "llama-tiny", input: { prompt: "hello" }, parameters: { max_tokens: 3 } }),
          });
        assert.equal((await call({})).status, 401);
        const ok = await call({ Authorization: `Bearer ${secret}` });
        assert.equal(ok.status, 200);
      } finally {
        server.child.kill("SIGTERM");
      }
      assert.equal(await server.exited, 0);
      // Written on shutdown, well inside the ledger's 1 s batch window.
      const usage = await openscope(env, "usage", "--since", "1h", "--key", id);
      assert.match(usage, new RegExp(`${id}\\s+llama-tiny\\s+1\\s+0\\s+\\d+\\s+3`));
      const revoked = await openscope(env, "keys", "revoke", id);
      assert.match(revoked, new RegExp(`revoked ${id}`));
      assert.match(await openscope(env, "keys", "list"), /revoked/);
      await assert.rejects(openscope(env, "keys", "create", "--name", "bad", "--rpm", "0"), /rpm must be a positive integer/);
    } finally {
      await rm(cacheDir, { recursive: true, force: true });
    }
  });
});
