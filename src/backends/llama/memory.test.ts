import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { LlamaModel } from "node-llama-cpp";
import { checkContextMemory, InsufficientMemoryError } from "./memory.ts";
import { llamaRuntime } from "./runtime.ts";

const TINY = join(import.meta.dirname, "..", "..", "..", "models", "test", "qwen3-tiny.gguf");

describe("checkContextMemory", { skip: existsSync(TINY) ? false : "run `npm run models:test` first" }, () => {
  let model: LlamaModel;
  before(async () => {
    model = await (await llamaRuntime(false)).loadModel({ modelPath: TINY });
  });
  after(() => model.dispose());

  it("grows with slots x tokens and passes when memory is there", async () => {
    const small = await checkContextMemory(model, { contextSize: 512, parallel: 1, batchSize: 512 }, 64 * 2 ** 30);
    const large = await checkContextMemory(model, { contextSize: 4096, parallel: 8, batchSize: 512 }, 64 * 2 ** 30);
    assert.ok(small > 0 && large > small, `${small} < ${large}`);
  });

  it("refuses, naming the sizes and what to lower, when the machine has less available", async () => {
    await assert.rejects(checkContextMemory(model, { contextSize: 4096, parallel: 8, batchSize: 512 }, 8 * 2 ** 20), (error: unknown) => {
      assert.ok(error instanceof InsufficientMemoryError);
      assert.match(error.message, /8 slots x 4096 tokens: the KV cache and buffers need about \d+ MiB, but 8 MiB is available\. Lower context_size or parallel/);
      return true;
    });
  });
});
