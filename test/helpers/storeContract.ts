/**
 * The behaviour every `Store` must have, as node:test cases, so the SQLite and PostgreSQL
 * engines are held to one definition. A test file calls `describeStoreContract` with a way to
 * open its engine.
 *
 * `open` must open the same database on every call (that is how "reopen keeps data" is
 * checked), so the cases never assume an empty store: each uses ids, models and a time window
 * of its own and filters on them.
 */
import assert from "node:assert/strict";
import { randomBytes, randomInt } from "node:crypto";
import { describe, it } from "node:test";
import { AmbiguousKeyPrefixError } from "../../src/store/revokeTarget.ts";
import type { ApiKeyRecord, FileRecord, Store, UsageRecord, UsageTotals } from "../../src/store/types.ts";

/** Distinguishes this run's rows from any left by earlier runs against the same database. */
const RUN_TAG = randomBytes(4).toString("hex");
/** Start of this run's time range; each case takes a window of WINDOW_MS after it. */
const RUN_EPOCH = 1_600_000_000_000 + randomInt(0, 100_000) * 100_000_000;
const WINDOW_MS = 1_000_000;

/** The engines' messages (SQLite's, then PostgreSQL's), to be sure a rejection has the intended cause. */
const UNIQUE_VIOLATION = /UNIQUE constraint failed|duplicate key value/;
const NOT_NULL_VIOLATION = /NOT NULL constraint failed|violates not-null constraint/;

let names = 0;
let windows = 0;

/** A name no other case (or earlier run) uses. */
function unique(label: string): string {
  return `${label}-${RUN_TAG}-${++names}`;
}

/** The start of a time window no other case uses; records at `start + 0 … WINDOW_MS - 1` belong to the caller. */
function timeWindow(): number {
  return RUN_EPOCH + ++windows * WINDOW_MS;
}

function windowFilter(start: number): { since: number; until: number } {
  return { since: start, until: start + WINDOW_MS };
}

/** A key record for store tests (unique id and hash unless given). */
export function makeKey(overrides: Partial<ApiKeyRecord> = {}): ApiKeyRecord {
  const id = overrides.id ?? unique("key");
  return {
    id,
    name: `name of ${id}`,
    prefix: `sk-os-${id}`,
    hash: unique("hash"),
    models: null,
    rpm: null,
    tpm: null,
    concurrency: null,
    workspace: null,
    createdAt: 1_700_000_000_000,
    expiresAt: null,
    revokedAt: null,
    ...overrides,
  };
}

/** A file record for store tests (unique id and owner unless given). */
export function makeFile(overrides: Partial<FileRecord> & { createdAt: number }): FileRecord {
  return {
    id: unique("file-fe"),
    ownerKeyId: unique("owner"),
    filename: "notes.txt",
    bytes: 7,
    purpose: "file-extract",
    status: "processed",
    statusDetails: null,
    description: null,
    md5: "Td5oBnUd0kfuUGMd0zd5Ig==",
    ...overrides,
  };
}

function makeUsage(overrides: Partial<UsageRecord> & { time: number }): UsageRecord {
  return {
    requestId: unique("req"),
    keyId: null,
    workspace: null,
    model: "model",
    endpoint: "chat.completions",
    backend: "llama",
    replica: null,
    stream: false,
    inputTokens: 10,
    outputTokens: 20,
    reasoningTokens: 0,
    cachedTokens: 0,
    imageTokens: 0,
    videoTokens: 0,
    audioTokens: 0,
    ttftMs: null,
    durationMs: 100,
    status: 200,
    code: null,
    ...overrides,
  };
}

function zeroTotals(keyId: string | null, model: string): UsageTotals {
  return {
    keyId,
    model,
    requests: 0,
    errors: 0,
    inputTokens: 0,
    outputTokens: 0,
    reasoningTokens: 0,
    cachedTokens: 0,
    imageTokens: 0,
    videoTokens: 0,
    audioTokens: 0,
  };
}

/** What `usageTotals` should say about `records`, computed the obvious way. */
function expectedTotals(records: readonly UsageRecord[]): UsageTotals[] {
  const groups = new Map<string, UsageTotals>();
  for (const record of records) {
    const groupKey = JSON.stringify([record.keyId, record.model]);
    const totals = groups.get(groupKey) ?? zeroTotals(record.keyId, record.model);
    totals.requests += 1;
    totals.errors += record.code === null ? 0 : 1;
    totals.inputTokens += record.inputTokens;
    totals.outputTokens += record.outputTokens;
    totals.reasoningTokens += record.reasoningTokens;
    totals.cachedTokens += record.cachedTokens;
    totals.imageTokens += record.imageTokens;
    totals.videoTokens += record.videoTokens;
    totals.audioTokens += record.audioTokens;
    groups.set(groupKey, totals);
  }
  const byteOrder = (a: string, b: string): number => Buffer.compare(Buffer.from(a), Buffer.from(b));
  return [...groups.values()].sort((a, b) => {
    if (a.keyId !== b.keyId) {
      if (a.keyId === null) return -1;
      if (b.keyId === null) return 1;
      return byteOrder(a.keyId, b.keyId);
    }
    return byteOrder(a.model, b.model);
  });
}

/** Records spread over a window: two keys plus the null key, two models, some errors, varied token counts. */
function mixedUsage(start: number): UsageRecord[] {
  const keyIds = [null, unique("key_B"), unique("key_a")];
  const models = ["m-b", "m-a"];
  const records: UsageRecord[] = [];
  for (let index = 0; index < 30; index++) {
    records.push(
      makeUsage({
        time: start + index * 1000,
        keyId: keyIds[index % 3] ?? null,
        model: models[index % 2] ?? "m-a",
        inputTokens: index + 1,
        outputTokens: 2 * index,
        reasoningTokens: index % 4,
        cachedTokens: index % 5,
        imageTokens: index % 6,
        videoTokens: index % 7,
        audioTokens: index % 8,
        code: index % 4 === 0 ? "Throttling" : null,
        status: index % 4 === 0 ? 429 : 200,
      }),
    );
  }
  return records;
}

/**
 * Registers the contract's cases under `describe(name)`. With `skipReason`, every case is still
 * registered but marked skipped with that reason, so the runner reports the gap instead of a
 * silent pass.
 */
export function describeStoreContract(name: string, open: () => Promise<Store>, skipReason?: string): void {
  const options = skipReason === undefined ? {} : { skip: skipReason };

  /** A case that gets a freshly opened store and always closes it. */
  function test(title: string, body: (store: Store) => Promise<void>): void {
    it(title, options, async () => {
      const store = await open();
      try {
        await body(store);
      } finally {
        await store.close();
      }
    });
  }

  describe(`store contract: ${name}`, () => {
    describe("keys", () => {
      test("insertKey then findKeyByHash returns the record field for field", async (store) => {
        const full = makeKey({
          models: ["qwen-plus", "qwen-max"],
          rpm: 60,
          tpm: 100_000,
          concurrency: 4,
          workspace: "ws-1",
          createdAt: 1_700_000_000_123,
          expiresAt: 1_800_000_000_456,
        });
        const minimal = makeKey();
        await store.insertKey(full);
        await store.insertKey(minimal);
        assert.deepEqual(await store.findKeyByHash(full.hash), full);
        assert.deepEqual(await store.findKeyByHash(minimal.hash), minimal);
        assert.equal(await store.findKeyByHash(unique("no-such-hash")), undefined);
      });

      test("models: null (every model), [] and a list stay distinct", async (store) => {
        const every = makeKey({ models: null });
        const none = makeKey({ models: [] });
        const some = makeKey({ models: ["a", "b/c", "ünïcode"] });
        for (const key of [every, none, some]) await store.insertKey(key);
        assert.equal((await store.findKeyByHash(every.hash))?.models, null);
        assert.deepEqual((await store.findKeyByHash(none.hash))?.models, []);
        assert.deepEqual((await store.findKeyByHash(some.hash))?.models, ["a", "b/c", "ünïcode"]);
      });

      test("listKeys is oldest first, ties in byte order of id", async (store) => {
        const base = timeWindow();
        const tag = unique("order");
        const newest = makeKey({ id: `${tag}-z`, createdAt: base + 2 });
        const oldest = makeKey({ id: `${tag}-y`, createdAt: base });
        const tieLower = makeKey({ id: `${tag}-a`, createdAt: base + 1 });
        const tieUpper = makeKey({ id: `${tag}-B`, createdAt: base + 1 });
        for (const key of [newest, oldest, tieLower, tieUpper]) await store.insertKey(key);
        const listed = (await store.listKeys()).filter((key) => key.id.startsWith(tag));
        assert.deepEqual(listed, [oldest, tieUpper, tieLower, newest]);
      });

      test("insertKey rejects a duplicate hash or id and changes nothing", async (store) => {
        const key = makeKey();
        await store.insertKey(key);
        const before = await store.countKeys();
        await assert.rejects(store.insertKey(makeKey({ hash: key.hash })), UNIQUE_VIOLATION);
        await assert.rejects(store.insertKey(makeKey({ id: key.id })), UNIQUE_VIOLATION);
        assert.equal(await store.countKeys(), before);
        assert.deepEqual(await store.findKeyByHash(key.hash), key);
      });

      test("countKeys counts every key, revoked ones included", async (store) => {
        const before = await store.countKeys();
        assert.equal(typeof before, "number");
        const first = makeKey();
        await store.insertKey(first);
        await store.insertKey(makeKey());
        await store.revokeKey(first.id, 1_700_000_000_999);
        assert.equal(await store.countKeys(), before + 2);
      });

      test("revokeKey by id sets revokedAt and returns the updated record", async (store) => {
        const key = makeKey();
        await store.insertKey(key);
        const revoked = await store.revokeKey(key.id, 1_750_000_000_000);
        assert.deepEqual(revoked, { ...key, revokedAt: 1_750_000_000_000 });
        assert.deepEqual(await store.findKeyByHash(key.hash), revoked);
      });

      test("revokeKey by exact prefix; a partial prefix matches nothing", async (store) => {
        const key = makeKey();
        await store.insertKey(key);
        assert.equal(await store.revokeKey(key.prefix.slice(0, -1), 1_750_000_000_000), undefined);
        assert.equal((await store.findKeyByHash(key.hash))?.revokedAt, null);
        assert.deepEqual(await store.revokeKey(key.prefix, 1_750_000_000_000), { ...key, revokedAt: 1_750_000_000_000 });
      });

      test("revoking twice keeps the first time", async (store) => {
        const key = makeKey();
        await store.insertKey(key);
        await store.revokeKey(key.id, 1_750_000_000_000);
        const again = await store.revokeKey(key.prefix, 1_760_000_000_000);
        assert.equal(again?.revokedAt, 1_750_000_000_000);
        assert.equal((await store.findKeyByHash(key.hash))?.revokedAt, 1_750_000_000_000);
      });

      test("revokeKey of an unknown id or prefix returns undefined", async (store) => {
        assert.equal(await store.revokeKey(unique("nobody"), 1_750_000_000_000), undefined);
      });

      test("an id wins over another key's equal prefix; a prefix shared by two keys revokes nothing", async (store) => {
        const byId = makeKey();
        const prefixEqualsThatId = makeKey({ prefix: byId.id });
        await store.insertKey(byId);
        await store.insertKey(prefixEqualsThatId);
        assert.equal((await store.revokeKey(byId.id, 1_750_000_000_000))?.id, byId.id);
        assert.equal((await store.findKeyByHash(prefixEqualsThatId.hash))?.revokedAt, null);

        const shared = unique("sk-os-shared");
        const first = makeKey({ prefix: shared });
        const second = makeKey({ prefix: shared });
        await store.insertKey(first);
        await store.insertKey(second);
        await assert.rejects(store.revokeKey(shared, 1_750_000_000_000), AmbiguousKeyPrefixError);
        assert.equal((await store.findKeyByHash(first.hash))?.revokedAt, null);
        assert.equal((await store.findKeyByHash(second.hash))?.revokedAt, null);
      });
    });

    describe("usage", () => {
      test("appendUsage of no records writes nothing", async (store) => {
        const start = timeWindow();
        await store.appendUsage([]);
        assert.deepEqual(await store.usageRecords(windowFilter(start), 10), []);
      });

      test("appendUsage of one record round-trips every field", async (store) => {
        const start = timeWindow();
        const full = makeUsage({
          time: start,
          keyId: unique("key"),
          workspace: "ws-1",
          model: "qwen-plus",
          endpoint: "text-generation",
          backend: "vllm",
          replica: "http://10.0.0.5:8000",
          stream: true,
          inputTokens: 1,
          outputTokens: 2,
          reasoningTokens: 3,
          cachedTokens: 4,
          imageTokens: 5,
          videoTokens: 6,
          audioTokens: 7,
          ttftMs: 12.5,
          durationMs: 345.25,
          status: 200,
          code: "InternalError",
        });
        const sparse = makeUsage({ time: start + 1, model: "", stream: false, ttftMs: null, code: null });
        await store.appendUsage([full]);
        await store.appendUsage([sparse]);
        assert.deepEqual(await store.usageRecords(windowFilter(start), 10), [full, sparse]);
      });

      test("appendUsage of 1200 records (several insert chunks) writes them all, in order", async (store) => {
        const start = timeWindow();
        const records = Array.from({ length: 1200 }, (_, index) => makeUsage({ time: start + index, inputTokens: index, stream: index % 2 === 0 }));
        await store.appendUsage(records);
        assert.deepEqual(await store.usageRecords(windowFilter(start), 5000), records);
        assert.deepEqual(await store.usageTotals(windowFilter(start)), expectedTotals(records));
      });

      test("appendUsage is all or nothing: one bad record leaves the whole batch unwritten", async (store) => {
        // model is NOT NULL in both schemas; the cast gets a null past the type checker.
        const bad = (time: number): UsageRecord => ({ ...makeUsage({ time }), model: null as unknown as string });
        const smallStart = timeWindow();
        const small = [makeUsage({ time: smallStart }), bad(smallStart + 1), makeUsage({ time: smallStart + 2 })];
        await assert.rejects(store.appendUsage(small), NOT_NULL_VIOLATION);
        assert.deepEqual(await store.usageRecords(windowFilter(smallStart), 10), []);

        const largeStart = timeWindow();
        const large = Array.from({ length: 1200 }, (_, index) => makeUsage({ time: largeStart + index }));
        large[1100] = bad(largeStart + 1100);
        await assert.rejects(store.appendUsage(large), NOT_NULL_VIOLATION);
        assert.deepEqual(await store.usageRecords(windowFilter(largeStart), 5000), []);
        assert.deepEqual(await store.usageTotals(windowFilter(largeStart)), []);
      });

      test("duplicate request ids are kept as they come", async (store) => {
        const start = timeWindow();
        const requestId = unique("req");
        const records = [makeUsage({ time: start, requestId }), makeUsage({ time: start + 1, requestId })];
        await store.appendUsage(records);
        assert.deepEqual(await store.usageRecords(windowFilter(start), 10), records);
      });

      test("usageTotals groups by key and model: null key first, then byte order, sums as numbers", async (store) => {
        const start = timeWindow();
        const records = mixedUsage(start);
        await store.appendUsage(records);
        const totals = await store.usageTotals(windowFilter(start));
        assert.deepEqual(totals, expectedTotals(records));
        assert.equal(totals.length, 6);
        assert.equal(totals[0]?.keyId, null);
        for (const group of totals) {
          for (const value of Object.values(group)) assert.notEqual(typeof value, "bigint");
          assert.equal(typeof group.requests, "number");
          assert.equal(typeof group.inputTokens, "number");
        }
      });

      test("usageTotals filters: since inclusive, until exclusive, keyId, model, combined", async (store) => {
        const start = timeWindow();
        const records = mixedUsage(start);
        await store.appendUsage(records);
        const keyId = records[1]?.keyId ?? assert.fail("mixedUsage gives record 1 a key");
        const inWindow = (record: UsageRecord): boolean => record.time >= start && record.time < start + WINDOW_MS;

        const since = start + 10_000;
        assert.deepEqual(await store.usageTotals({ since, until: start + WINDOW_MS }), expectedTotals(records.filter((r) => r.time >= since)));
        const until = start + 20_000;
        assert.deepEqual(await store.usageTotals({ since: start, until }), expectedTotals(records.filter((r) => r.time < until)));
        assert.deepEqual(await store.usageTotals({ keyId }), expectedTotals(records.filter((r) => r.keyId === keyId)));
        assert.deepEqual(
          await store.usageTotals({ ...windowFilter(start), model: "m-a" }),
          expectedTotals(records.filter((r) => inWindow(r) && r.model === "m-a")),
        );
        assert.deepEqual(
          await store.usageTotals({ since, until, keyId, model: "m-b" }),
          expectedTotals(records.filter((r) => r.time >= since && r.time < until && r.keyId === keyId && r.model === "m-b")),
        );
        assert.deepEqual(await store.usageTotals({ keyId: unique("nobody") }), []);
      });

      test("usageRecords: oldest first, equal times in insertion order, at most limit", async (store) => {
        const start = timeWindow();
        const late = makeUsage({ time: start + 50 });
        const early = makeUsage({ time: start + 10 });
        const tieFirst = makeUsage({ time: start + 30, requestId: unique("tie-z") });
        const tieSecond = makeUsage({ time: start + 30, requestId: unique("tie-a") });
        await store.appendUsage([late, early]);
        await store.appendUsage([tieFirst, tieSecond]);
        const filter = windowFilter(start);
        assert.deepEqual(await store.usageRecords(filter, 10), [early, tieFirst, tieSecond, late]);
        assert.deepEqual(await store.usageRecords(filter, 2), [early, tieFirst]);
        assert.deepEqual(await store.usageRecords(filter, 0), []);
        await assert.rejects(store.usageRecords(filter, -1), RangeError);
      });

      test("usageRecords filters: since inclusive, until exclusive, keyId, model", async (store) => {
        const start = timeWindow();
        const records = mixedUsage(start);
        await store.appendUsage(records);
        const keyId = records[2]?.keyId ?? assert.fail("mixedUsage gives record 2 a key");
        assert.deepEqual(await store.usageRecords({ since: start + 5000, until: start + 8000 }, 100), records.slice(5, 8));
        assert.deepEqual(
          await store.usageRecords({ keyId }, 100),
          records.filter((r) => r.keyId === keyId),
        );
        assert.deepEqual(
          await store.usageRecords({ ...windowFilter(start), model: "m-b" }, 100),
          records.filter((r) => r.model === "m-b"),
        );
        assert.deepEqual(
          await store.usageRecords({ ...windowFilter(start), keyId, model: "m-b" }, 100),
          records.filter((r) => r.keyId === keyId && r.model === "m-b"),
        );
      });
    });

    it("reopening keeps keys and usage", options, async () => {
      const key = makeKey({ models: ["m"] });
      const start = timeWindow();
      const record = makeUsage({ time: start, keyId: key.id });
      const first = await open();
      try {
        await first.insertKey(key);
        await first.appendUsage([record]);
      } finally {
        await first.close();
      }
      const second = await open();
      try {
        assert.deepEqual(await second.findKeyByHash(key.hash), key);
        assert.deepEqual(await second.usageRecords(windowFilter(start), 10), [record]);
      } finally {
        await second.close();
      }
    });

    describe("files", () => {
      test("insertFile then getFile returns the record field for field; unknown ids are undefined", async (store) => {
        const start = timeWindow();
        const full = makeFile({
          createdAt: start + 1,
          filename: "报告 final.pdf",
          bytes: 123_456_789_012,
          purpose: "batch",
          status: "error",
          statusDetails: "could not read the PDF",
          description: "quarterly",
        });
        const minimal = makeFile({ createdAt: start + 2, ownerKeyId: null });
        await store.insertFile(full);
        await store.insertFile(minimal);
        assert.deepEqual(await store.getFile(full.id), full);
        assert.deepEqual(await store.getFile(minimal.id), minimal);
        assert.equal(await store.getFile(unique("no-such-file")), undefined);
      });

      test("insertFile rejects a duplicate id and keeps the first", async (store) => {
        const start = timeWindow();
        const file = makeFile({ createdAt: start });
        await store.insertFile(file);
        await assert.rejects(store.insertFile({ ...file, filename: "other.txt" }), UNIQUE_VIOLATION);
        assert.deepEqual(await store.getFile(file.id), file);
      });

      test("deleteFile removes the file once: true, then false", async (store) => {
        const file = makeFile({ createdAt: timeWindow() });
        await store.insertFile(file);
        assert.equal(await store.deleteFile(file.id), true);
        assert.equal(await store.getFile(file.id), undefined);
        assert.equal(await store.deleteFile(file.id), false);
      });

      test("listFiles: newest first, equal times by id descending, limit and hasMore, paging with after", async (store) => {
        const start = timeWindow();
        const owner = unique("owner");
        const tag = unique("f");
        const files = [
          makeFile({ id: `${tag}-a`, ownerKeyId: owner, createdAt: start + 10 }),
          makeFile({ id: `${tag}-c`, ownerKeyId: owner, createdAt: start + 20 }),
          makeFile({ id: `${tag}-b`, ownerKeyId: owner, createdAt: start + 20 }),
          makeFile({ id: `${tag}-d`, ownerKeyId: owner, createdAt: start + 30 }),
        ];
        for (const file of files) await store.insertFile(file);
        const ids = (list: { files: FileRecord[] }) => list.files.map((file) => file.id);
        const all = await store.listFiles({ ownerKeyId: owner, limit: 10 });
        assert.deepEqual(ids(all), [`${tag}-d`, `${tag}-c`, `${tag}-b`, `${tag}-a`]);
        assert.equal(all.hasMore, false);
        assert.deepEqual(all.files[0], files[3]);
        const page1 = await store.listFiles({ ownerKeyId: owner, limit: 2 });
        assert.deepEqual(ids(page1), [`${tag}-d`, `${tag}-c`]);
        assert.equal(page1.hasMore, true);
        const page2 = await store.listFiles({ ownerKeyId: owner, limit: 2, after: `${tag}-c` });
        assert.deepEqual(ids(page2), [`${tag}-b`, `${tag}-a`]);
        assert.equal(page2.hasMore, false);
        const exact = await store.listFiles({ ownerKeyId: owner, limit: 4 });
        assert.equal(exact.hasMore, false);
        assert.deepEqual(await store.listFiles({ ownerKeyId: owner, limit: 2, after: unique("no-such-file") }), { files: [], hasMore: false });
        assert.deepEqual(await store.listFiles({ ownerKeyId: owner, limit: 0 }), { files: [], hasMore: true });
      });

      test("listFiles filters: owner (null = no owner), purpose, createdAfter inclusive, createdBefore exclusive", async (store) => {
        const start = timeWindow();
        const owner = unique("owner");
        const other = unique("owner");
        const a = makeFile({ ownerKeyId: owner, createdAt: start + 1 });
        const b = makeFile({ ownerKeyId: owner, createdAt: start + 2, purpose: "batch" });
        const c = makeFile({ ownerKeyId: owner, createdAt: start + 3 });
        const d = makeFile({ ownerKeyId: other, createdAt: start + 2 });
        const e = makeFile({ ownerKeyId: null, createdAt: start + 2 });
        for (const file of [a, b, c, d, e]) await store.insertFile(file);
        const window = { createdAfter: start, createdBefore: start + WINDOW_MS };
        const ids = async (filter: Parameters<Store["listFiles"]>[0]) => (await store.listFiles(filter)).files.map((file) => file.id);
        assert.deepEqual(await ids({ ownerKeyId: owner, limit: 10 }), [c.id, b.id, a.id]);
        assert.deepEqual(await ids({ ownerKeyId: owner, purpose: "batch", limit: 10 }), [b.id]);
        assert.deepEqual(await ids({ ownerKeyId: owner, purpose: "file-extract", limit: 10 }), [c.id, a.id]);
        assert.deepEqual(await ids({ ownerKeyId: owner, createdAfter: start + 2, createdBefore: start + 3, limit: 10 }), [b.id]);
        const unowned = await ids({ ownerKeyId: null, ...window, limit: 10 });
        assert.deepEqual(unowned, [e.id]);
        const any = new Set(await ids({ ...window, limit: 100 }));
        for (const file of [a, b, c, d, e]) assert.ok(any.has(file.id), `${file.id} listed without an owner filter`);
        await assert.rejects(store.listFiles({ limit: -1 }), RangeError);
      });
    });

    it("close can be called twice", options, async () => {
      const store = await open();
      await store.close();
      await store.close();
    });
  });
}
