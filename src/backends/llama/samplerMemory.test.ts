import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SamplerMemory } from "./samplerMemory.ts";

describe("SamplerMemory", () => {
  it("collects once per budget of sampler buffers on an engine that keeps them until collected", () => {
    let collections = 0;
    // 1,000 tokens x 12 B = 12,000 B a sampler; a 50,000 B budget is reached at the 5th.
    const memory = new SamplerMemory({ vocabularySize: 1000, freesOnDispose: false, budgetBytes: 50_000, collect: () => collections++ });
    assert.equal(memory.active, true);
    for (let i = 0; i < 4; i++) memory.samplerDone();
    assert.equal(collections, 0);
    memory.samplerDone();
    assert.equal(collections, 1);
    for (let i = 0; i < 10; i++) memory.samplerDone();
    assert.equal(collections, 3);
    assert.equal(memory.collections, 3);
  });

  it("does nothing on an engine whose samplers free their buffers on dispose", () => {
    let collections = 0;
    const memory = new SamplerMemory({ vocabularySize: 1000, freesOnDispose: true, budgetBytes: 1, collect: () => collections++ });
    assert.equal(memory.active, false);
    for (let i = 0; i < 100; i++) memory.samplerDone();
    assert.equal(collections, 0);
  });

  it("runs V8's full collection when none is given", () => {
    const memory = new SamplerMemory({ vocabularySize: 1, freesOnDispose: false, budgetBytes: 12 });
    memory.samplerDone();
    assert.equal(memory.collections, 1);
  });
});
