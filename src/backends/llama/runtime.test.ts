import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { describe, it } from "node:test";
import { getLlama } from "node-llama-cpp";
import { ENGINE_CMAKE_OPTIONS } from "./runtime.ts";

const ROOT = join(import.meta.dirname, "..", "..", "..");
const TINY = join(ROOT, "models", "test", "qwen3-tiny.gguf");
const PROBE = join(ROOT, "test", "helpers", "engineProbe.ts");

/** The probe in its own process (the runtime is process-wide; a native crash must fail one case, not the runner). */
function probe(env: Record<string, string>): { engine: string; generated: number[] } {
  const result = spawnSync(process.execPath, ["--import", "tsx", PROBE, TINY], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    encoding: "utf8",
    timeout: 120_000,
  });
  assert.equal(result.status, 0, `probe exited with ${String(result.status ?? result.signal)}:\n${result.stderr}`);
  const line = result.stdout.trim().split("\n").at(-1) ?? "";
  return JSON.parse(line) as { engine: string; generated: number[] };
}

/** Whether `npm run build:engine` has built the native engine here (what the runtime would load). */
async function nativeBuildPresent(): Promise<boolean> {
  const llama = await getLlama({ gpu: false, build: "never", cmakeOptions: { ...ENGINE_CMAKE_OPTIONS }, skipDownload: true, dryRun: true } as never);
  return llama.buildType === "localBuild";
}

describe("llama runtime: native engine build and prebuilt fallback", { skip: existsSync(TINY) ? false : "run `npm run models:test` first" }, () => {
  it("OPENSCOPE_ENGINE=prebuilt loads node-llama-cpp's prebuilt binaries, which decode", () => {
    const result = probe({ OPENSCOPE_ENGINE: "prebuilt" });
    assert.equal(result.engine, "prebuilt binaries");
    assert.deepEqual(result.generated, [24, 24, 24, 24]);
  });

  it("the native build (npm run build:engine) is loaded when present; its thread pool survives thread changes and disposal", async (t) => {
    if (!(await nativeBuildPresent())) {
      t.skip("no native engine build here: run `npm run build:engine` (CI does) to test it");
      return;
    }
    const result = probe({});
    assert.equal(result.engine, "native build");
    assert.deepEqual(result.generated, [24, 24, 24, 24]);
  });
});
