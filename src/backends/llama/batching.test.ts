import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { BatchItem } from "node-llama-cpp";
import { chunkedPrefillStrategy } from "./batching.ts";

const item = (tokens: number): BatchItem => ({ tokens: Array.from({ length: tokens }, (_, i) => i) as never, logits: [], evaluationPriority: 5 });
const amounts = (chosen: { item: BatchItem; processAmount: number }[], items: BatchItem[]) =>
  items.map((i) => chosen.find((c) => c.item === i)?.processAmount ?? 0);

describe("chunkedPrefillStrategy", () => {
  it("a lone prompt takes the whole batch", () => {
    const prompt = item(2000);
    assert.deepEqual(amounts(chunkedPrefillStrategy(128)({ items: [prompt], size: 512 }), [prompt]), [512]);
  });

  it("while others generate, every generating sequence gets its token and a prompt at most the chunk", () => {
    const items = [item(1), item(1000), item(1), item(1)];
    assert.deepEqual(amounts(chunkedPrefillStrategy(128)({ items, size: 512 }), items), [1, 128, 1, 1]);
  });

  it("prompts share the batch fairly and short ones leave room to the long ones", () => {
    const items = [item(1000), item(10), item(1000)];
    const chosen = chunkedPrefillStrategy(128)({ items, size: 512 });
    assert.deepEqual(amounts(chosen, items), [251, 10, 251]);
    assert.equal(
      chosen.reduce((sum, c) => sum + c.processAmount, 0),
      512,
    );
  });

  it("never exceeds the batch size, even with more generating sequences than room", () => {
    const items = Array.from({ length: 10 }, () => item(1));
    const chosen = chunkedPrefillStrategy(128)({ items, size: 4 });
    assert.equal(chosen.length, 4);
  });
});
