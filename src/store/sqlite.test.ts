import assert from "node:assert/strict";
import { mkdtempSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, describe, it } from "node:test";
import { openStore } from "./index.ts";
import { SqliteStore } from "./sqlite.ts";
import { describeStoreContract, makeKey } from "../../test/helpers/storeContract.ts";

const directory = mkdtempSync(join(tmpdir(), "openscope-store-"));
after(() => rmSync(directory, { recursive: true, force: true }));

/** Nested below the temp dir so opening also has to create the parent directories. */
const contractFile = join(directory, "data", "nested", "contract.db");
describeStoreContract("sqlite", async () => SqliteStore.open(contractFile));

const key = (id: string) => makeKey({ id, hash: `hash-${id}` });

describe("sqlite store specifics", () => {
  it("leaves the file in WAL mode", async () => {
    const file = join(directory, "pragmas.db");
    const store = SqliteStore.open(file);
    await store.close();
    // Read back through a second connection: journal_mode=WAL is persistent in the file.
    const Database = (await import("better-sqlite3")).default;
    const db = new Database(file);
    try {
      assert.equal(db.pragma("journal_mode", { simple: true }), "wal");
    } finally {
      db.close();
    }
  });

  it("creates the database file (and its WAL) with mode 0600", async () => {
    const file = join(directory, "private", "mode.db");
    const store = SqliteStore.open(file);
    try {
      await store.insertKey(key("mode"));
      assert.equal(statSync(file).mode & 0o777, 0o600);
      assert.equal(statSync(`${file}-wal`).mode & 0o777, 0o600);
    } finally {
      await store.close();
    }
  });

  it("migrations run once: reopening applies nothing", async () => {
    const file = join(directory, "migrations.db");
    const first = SqliteStore.open(file);
    await first.close();
    const second = SqliteStore.open(file);
    await second.close();
    assert.deepEqual(first.migrationsApplied, [1, 2]);
    assert.deepEqual(second.migrationsApplied, []);
  });

  it("two stores on one file see each other's writes", async () => {
    const file = join(directory, "shared.db");
    const one = SqliteStore.open(file);
    const two = SqliteStore.open(file);
    try {
      await one.insertKey(key("from-one"));
      assert.equal((await two.findKeyByHash("hash-from-one"))?.id, "from-one");
      await two.revokeKey("from-one", 1_750_000_000_000);
      assert.equal((await one.findKeyByHash("hash-from-one"))?.revokedAt, 1_750_000_000_000);
      await two.appendUsage([
        {
          requestId: "r1",
          time: 1_700_000_000_000,
          keyId: "from-one",
          workspace: null,
          model: "m",
          endpoint: "chat.completions",
          backend: "llama",
          replica: null,
          stream: false,
          inputTokens: 3,
          outputTokens: 4,
          reasoningTokens: 0,
          cachedTokens: 0,
          imageTokens: 0,
          videoTokens: 0,
          audioTokens: 0,
          ttftMs: null,
          durationMs: 5,
          status: 200,
          code: null,
        },
      ]);
      assert.equal((await one.usageTotals({ keyId: "from-one" }))[0]?.inputTokens, 3);
    } finally {
      await one.close();
      await two.close();
    }
  });

  it("accepts :memory:", async () => {
    const store = SqliteStore.open(":memory:");
    try {
      await store.insertKey(key("memory"));
      assert.equal(await store.countKeys(), 1);
    } finally {
      await store.close();
    }
  });

  it('openStore({ type: "sqlite" }) opens a SqliteStore', async () => {
    const store = await openStore({ type: "sqlite", path: join(directory, "configured.db") });
    try {
      assert.ok(store instanceof SqliteStore);
      assert.equal(store.kind, "sqlite");
    } finally {
      await store.close();
    }
  });
});
