import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { GgufFileInfo, LlamaModel } from "node-llama-cpp";
import { checkContextMemory, checkKvCacheBound, InsufficientMemoryError, KV_CELL_STATE_BYTES, kvCacheLowerBound, kvShape } from "./memory.ts";
import { llamaRuntime } from "./runtime.ts";

const TINY = join(import.meta.dirname, "..", "..", "..", "models", "test", "qwen3-tiny.gguf");
const GiB = 2 ** 30;

/** GGUF metadata as node-llama-cpp reads it, for one architecture. */
const meta = (arch: string, values: Record<string, unknown>) =>
  ({ metadata: { general: { architecture: arch }, [arch]: values } }) as unknown as Pick<GgufFileInfo, "metadata">;

/** Qwen3-0.6B: 28 layers, 8 KV heads of 128 dims. */
const QWEN3_06B = meta("qwen3", {
  block_count: 28,
  embedding_length: 1024,
  context_length: 40960,
  attention: { head_count: 16, head_count_kv: 8, key_length: 128, value_length: 128 },
});

describe("kvShape and the KV cache lower bound (GGUF metadata only)", () => {
  it("keys + values of every layer: Qwen3-0.6B caches 112 KiB per token (llama.cpp: 28 x 8 x 256 x 2 bytes) plus 52 bytes of cell state", () => {
    const shape = kvShape(QWEN3_06B)!;
    assert.deepEqual(shape, { elementsPerToken: 28 * 8 * 256, layers: 28 });
    assert.equal(KV_CELL_STATE_BYTES, 52);
    assert.equal(kvCacheLowerBound(shape, 40960, 1), 40960 * (114688 + 52));
    assert.equal(kvCacheLowerBound(shape, 8192, 4), 4 * 8192 * (114688 + 52));
  });

  it("head dims default to embedding / heads; head_count_kv defaults to head_count; per-layer lists (0 = recurrent layer)", () => {
    assert.equal(kvShape(meta("llama", { block_count: 2, embedding_length: 64, attention: { head_count: 4 } }))!.elementsPerToken, 2 * 4 * 32);
    const hybrid = kvShape(meta("jamba", { block_count: 4, embedding_length: 64, attention: { head_count: 4, head_count_kv: [0, 2, 0, 2] } }))!;
    assert.deepEqual(hybrid, { elementsPerToken: 2 * 2 * 32, layers: 2 });
  });

  it("sliding windows cap the cells; MLA counts the latent; no attention metadata: no bound", () => {
    const swa = kvShape(meta("gemma3", { block_count: 2, embedding_length: 64, attention: { head_count: 4, head_count_kv: 1, sliding_window: 512 } }))!;
    assert.equal(kvCacheLowerBound(swa, 100_000, 2), 512 * 2 * (swa.elementsPerToken * 2 + 52));
    assert.equal(
      kvShape(meta("deepseek2", { block_count: 3, attention: { head_count: 16, head_count_kv: 1, key_length: 576, value_length: 512, kv_lora_rank: 512 } }))!
        .elementsPerToken,
      3 * 512,
    );
    assert.equal(kvShape(meta("mamba", { block_count: 24, embedding_length: 768 })), undefined);
    assert.equal(kvShape({ metadata: {} } as unknown as GgufFileInfo), undefined);
  });

  it("refuses 10^8 x 64 and 10^6 x 64 at once, naming the sizes and what to lower; passes what fits", () => {
    const budget = { available: 20 * GiB, total: 23 * GiB };
    for (const [contextSize, at] of [
      [100_000_000, /at least 667\.9 TiB/],
      [1_000_000, /at least 6\.7 TiB/],
    ] as const) {
      const started = performance.now();
      assert.throws(
        () => checkKvCacheBound(QWEN3_06B, { contextSize, parallel: 64, onGpu: false }, budget),
        (error: unknown) => {
          assert.ok(error instanceof InsufficientMemoryError);
          assert.match(error.message, new RegExp(`^not enough memory for 64 slots x ${contextSize} tokens: the KV cache alone needs`));
          assert.match(error.message, at);
          assert.match(error.message, / cells x 114,740 bytes\), but this machine has 23\.0 GiB \(20\.0 GiB available\)\. Lower context_size or parallel\.$/);
          return true;
        },
      );
      assert.ok(performance.now() - started < 50, "arithmetic, not a simulation");
    }
    assert.equal(checkKvCacheBound(QWEN3_06B, { contextSize: 8192, parallel: 4, onGpu: false }, budget), 4 * 8192 * 114740);
    // On a GPU the KV cache may live in VRAM: only more than the machine has in all is refused here.
    assert.ok(checkKvCacheBound(QWEN3_06B, { contextSize: 40960, parallel: 4, onGpu: true }, { available: 1 * GiB, total: 100 * GiB }));
    assert.throws(
      () => checkKvCacheBound(QWEN3_06B, { contextSize: 40960, parallel: 64, onGpu: true }, { available: 1 * GiB, total: 100 * GiB }),
      InsufficientMemoryError,
    );
  });
});

describe("checkContextMemory", { skip: existsSync(TINY) ? false : "run `npm run models:test` first" }, () => {
  let model: LlamaModel;
  before(async () => {
    model = await (await llamaRuntime(false)).loadModel({ modelPath: TINY });
  });
  after(() => model.dispose());

  it("grows with slots x tokens and passes when memory is there", async () => {
    const small = await checkContextMemory(model, { contextSize: 512, parallel: 1, batchSize: 512 }, 64 * GiB);
    const large = await checkContextMemory(model, { contextSize: 4096, parallel: 8, batchSize: 512 }, 64 * GiB);
    assert.ok(small > 0 && large > small, `${small} < ${large}`);
  });

  it("refuses, naming the sizes and what to lower, when the machine has less available", async () => {
    // The KV cache (8 MiB) would fit in 16 MiB; the buffers on top do not.
    await assert.rejects(checkContextMemory(model, { contextSize: 4096, parallel: 8, batchSize: 512 }, 16 * 2 ** 20, 64 * GiB), (error: unknown) => {
      assert.ok(error instanceof InsufficientMemoryError);
      assert.match(
        error.message,
        /8 slots x 4096 tokens: the KV cache and buffers need about \d+ MiB, but 16 MiB is available\. Lower context_size or parallel/,
      );
      return true;
    });
  });

  it("refuses a KV cache larger than the machine by arithmetic, before the estimator", async () => {
    const started = performance.now();
    await assert.rejects(
      checkContextMemory(model, { contextSize: 100_000_000, parallel: 64, batchSize: 512 }, 20 * GiB, 23 * GiB),
      /the KV cache alone needs at least 1\.8 TiB \(6,400,000,000 cells x 308 bytes\)/,
    );
    assert.ok(performance.now() - started < 200, `${performance.now() - started} ms`);
  });
});
