import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { UsageRecord, UsageStore } from "../store/index.ts";
import { LedgerWriter } from "./ledger.ts";

function record(i: number): UsageRecord {
  return {
    requestId: `r${i}`,
    time: i,
    keyId: null,
    workspace: null,
    model: "m",
    endpoint: "text-generation",
    backend: "llama",
    replica: null,
    stream: false,
    inputTokens: 1,
    outputTokens: 1,
    reasoningTokens: 0,
    cachedTokens: 0,
    imageTokens: 0,
    videoTokens: 0,
    audioTokens: 0,
    ttftMs: 1,
    durationMs: 2,
    status: 200,
    code: null,
  };
}

/** A UsageStore that keeps batches in memory and can be told to fail. */
class RecordingStore implements Pick<UsageStore, "appendUsage"> {
  batches: UsageRecord[][] = [];
  failing = false;
  async appendUsage(records: readonly UsageRecord[]): Promise<void> {
    if (this.failing) throw new Error("store down");
    this.batches.push([...records]);
  }
}

const asStore = (store: RecordingStore) => store as unknown as UsageStore;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("LedgerWriter", () => {
  it("batches records written within the window into one transaction", async () => {
    const store = new RecordingStore();
    const ledger = new LedgerWriter(asStore(store), { flushMs: 30 });
    for (let i = 0; i < 5; i++) ledger.add(record(i));
    assert.equal(store.batches.length, 0);
    assert.equal(ledger.pending, 5);
    await sleep(80);
    assert.deepEqual(
      store.batches.map((b) => b.length),
      [5],
    );
    assert.equal(ledger.pending, 0);
    assert.equal(ledger.written, 5);
    assert.equal(ledger.lagMs(), 0);
  });

  it("a full batch is written at once; close writes the rest", async () => {
    const store = new RecordingStore();
    const ledger = new LedgerWriter(asStore(store), { flushMs: 60_000, maxBatch: 3 });
    for (let i = 0; i < 7; i++) ledger.add(record(i));
    await sleep(10);
    assert.ok(store.batches.length >= 2);
    await ledger.close();
    assert.equal(store.batches.flat().length, 7);
    assert.deepEqual(
      store.batches.flat().map((r) => r.requestId),
      ["r0", "r1", "r2", "r3", "r4", "r5", "r6"],
    );
  });

  it("a failing store keeps records and retries; beyond maxBuffered the oldest are dropped and counted", async () => {
    const store = new RecordingStore();
    const errors: unknown[] = [];
    const ledger = new LedgerWriter(asStore(store), { flushMs: 20, maxBuffered: 4, onError: (e) => errors.push(e) });
    store.failing = true;
    for (let i = 0; i < 6; i++) ledger.add(record(i));
    await sleep(50);
    assert.ok(errors.length >= 1);
    assert.equal(ledger.pending, 4);
    assert.equal(ledger.dropped, 2);
    assert.ok(ledger.lagMs() >= 20);
    store.failing = false;
    await sleep(60);
    assert.deepEqual(
      store.batches.flat().map((r) => r.requestId),
      ["r2", "r3", "r4", "r5"],
    );
    await ledger.close();
  });
});
