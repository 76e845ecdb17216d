import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { SqliteStore } from "../store/index.ts";
import { toApiError } from "../core/errors.ts";
import { generateSecret, hashSecret, KeyService } from "./keys.ts";

describe("KeyService", () => {
  it("secrets: sk-os- + 40 base62 characters, all different", () => {
    const secrets = new Set(Array.from({ length: 200 }, generateSecret));
    assert.equal(secrets.size, 200);
    for (const secret of secrets) assert.match(secret, /^sk-os-[0-9A-Za-z]{40}$/);
  });

  it("stores only the hash and a short prefix; the secret finds the key", async () => {
    const store = SqliteStore.open(":memory:");
    const keys = new KeyService(store);
    const { record, secret } = await keys.create({ name: "a", models: ["qwen-plus"], rpm: 3 }, 1000);
    assert.equal(record.hash, hashSecret(secret));
    assert.equal(record.prefix, secret.slice(0, 14));
    assert.ok(!JSON.stringify(await store.listKeys()).includes(secret));
    const found = await keys.lookup(secret, 2000);
    assert.equal(typeof found === "object" && found.id, record.id);
    assert.equal(await keys.lookup(`${secret}x`, 2000), "unknown");
    await store.close();
  });

  it("revoked and expired keys are refused, revocation at once on this instance", async () => {
    const store = SqliteStore.open(":memory:");
    const keys = new KeyService(store, { cacheMs: 60_000 });
    const now = Date.now();
    const a = await keys.create({ name: "a" });
    const b = await keys.create({ name: "b", expiresAt: now + 1000 });
    assert.equal(typeof (await keys.lookup(a.secret)), "object");
    await keys.revoke(a.record.id);
    assert.equal(await keys.lookup(a.secret), "revoked");
    assert.equal(typeof (await keys.lookup(b.secret, now)), "object");
    assert.equal(await keys.lookup(b.secret, now + 1000), "expired");
    await store.close();
  });

  it("another instance's revocation is seen once the cache entry ages out", async () => {
    const store = SqliteStore.open(":memory:");
    const here = new KeyService(store, { cacheMs: 100 });
    const there = new KeyService(store, { cacheMs: 100 });
    const { record, secret } = await here.create({ name: "a" });
    const t = Date.now();
    assert.equal(typeof (await here.lookup(secret, t)), "object");
    await there.revoke(record.id);
    assert.equal(typeof (await here.lookup(secret, t + 50)), "object", "cached");
    assert.equal(await here.lookup(secret, t + 1_000_000), "revoked");
    await store.close();
  });

  it("a prefix shared by two keys is a 400, not a guess", async () => {
    const store = SqliteStore.open(":memory:");
    const keys = new KeyService(store);
    const base = { name: "x", models: null, rpm: null, tpm: null, concurrency: null, workspace: null, createdAt: 1, expiresAt: null, revokedAt: null };
    await store.insertKey({ ...base, id: "key_1", prefix: "sk-os-same", hash: "a".repeat(64) });
    await store.insertKey({ ...base, id: "key_2", prefix: "sk-os-same", hash: "b".repeat(64) });
    await assert.rejects(keys.revoke("sk-os-same"), (error: unknown) => toApiError(error).status === 400 && toApiError(error).code === "InvalidParameter");
    assert.equal((await keys.revoke("key_1"))?.id, "key_1");
    await store.close();
  });

  it("anyKeys turns true on the first key", async () => {
    const store = SqliteStore.open(":memory:");
    const keys = new KeyService(store);
    assert.equal(await keys.anyKeys(), false);
    await keys.create({ name: "a" });
    assert.equal(await keys.anyKeys(), true);
    await store.close();
  });
});
