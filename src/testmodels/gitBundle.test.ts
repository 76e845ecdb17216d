import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, mkdir, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { bundleHead, readBundleFiles } from "./gitBundle.ts";

// The reader is checked against git itself (a test-time tool only): a small repository whose
// history makes git store later versions of a file as deltas, bundled and read back.
let dir: string;
let bundle: string;
const git = (...args: string[]) => execFileSync("git", ["-C", join(dir, "repo"), ...args], { encoding: "utf8" });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "openscope-gitbundle-"));
  await mkdir(join(dir, "repo", "a", "b"), { recursive: true });
  git("init", "--quiet");
  const lines = Array.from({ length: 2000 }, (_, i) => `line ${i}: ${"x".repeat(i % 50)}`);
  for (let version = 0; version < 4; version++) {
    lines[version * 500] = `changed in version ${version}`;
    await writeFile(join(dir, "repo", "a", "b", "big.txt"), lines.join("\n"));
    await writeFile(join(dir, "repo", "top.txt"), `version ${version}\n`);
    git("add", "-A");
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", `v${version}`);
  }
  bundle = join(dir, "repo.bundle");
  git("bundle", "create", bundle, "--all", "HEAD");
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("git bundle reader", () => {
  test("the head is the bundled HEAD commit", async () => {
    assert.equal(await bundleHead(bundle), git("rev-parse", "HEAD").trim());
  });

  test("files at the head equal git's, nested and delta-compressed ones included", async () => {
    const files = await readBundleFiles(bundle, ["a/b/big.txt", "top.txt"]);
    assert.equal(files.get("a/b/big.txt")?.toString("utf8"), git("show", "HEAD:a/b/big.txt"));
    assert.equal(files.get("top.txt")?.toString("utf8"), "version 3\n");
  });

  test("a missing path and a non-bundle are errors", async () => {
    await assert.rejects(readBundleFiles(bundle, ["a/nope.txt"]), /a\/nope\.txt not found/);
    const notBundle = join(dir, "not.bundle");
    await writeFile(notBundle, "hello\n\nworld");
    await assert.rejects(bundleHead(notBundle), /not a v2\/v3 git bundle/);
  });

  test("node-llama-cpp's llama.cpp bundle yields the tokenizer and template files", async () => {
    const path = join(process.cwd(), "node_modules", "node-llama-cpp", "llama", "gitRelease.bundle");
    const files = await readBundleFiles(path, ["models/templates/Qwen-Qwen3-0.6B.jinja"]);
    assert.match(files.get("models/templates/Qwen-Qwen3-0.6B.jinja")?.toString("utf8") ?? "", /<\|im_start\|>/);
  });
});
