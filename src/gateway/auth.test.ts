import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../core/errors.ts";
import { SqliteStore } from "../store/index.ts";
import { assertModelAllowed, Authenticator } from "./auth.ts";
import { KeyService } from "./keys.ts";

const status = (code: number) => (error: unknown) => error instanceof ApiError && error.status === code;

describe("Authenticator", () => {
  it("an open server takes requests with or without a key", async () => {
    const auth = new Authenticator({ staticKeys: [] });
    assert.deepEqual(await auth.authenticate(undefined, undefined), { kind: "open" });
    assert.deepEqual(await auth.authenticate("Bearer anything", undefined), { kind: "open" });
  });

  it("static and admin keys; anything else is 401", async () => {
    const auth = new Authenticator({ staticKeys: ["s1"], adminKey: "admin-key-0123456789" });
    assert.equal((await auth.authenticate("Bearer s1", undefined)).kind, "static");
    assert.equal((await auth.authenticate("bearer admin-key-0123456789", undefined)).kind, "admin");
    await assert.rejects(auth.authenticate(undefined, undefined), status(401));
    await assert.rejects(auth.authenticate("Bearer s2", undefined), status(401));
    await assert.rejects(auth.authenticate("Basic s1", undefined), status(401));
    assert.doesNotThrow(() => auth.authenticateAdmin("Bearer admin-key-0123456789"));
    assert.throws(() => auth.authenticateAdmin("Bearer s1"), status(401));
  });

  it("managed keys: creation turns auth on; workspace binding; model allow-list", async () => {
    const store = SqliteStore.open(":memory:");
    const keys = new KeyService(store);
    const auth = new Authenticator({ staticKeys: [], keys });
    assert.equal(await auth.required(), false);
    const { secret } = await keys.create({ name: "ws", workspace: "ws-1", models: ["qwen-plus"] });
    assert.equal(await auth.required(), true);
    await assert.rejects(auth.authenticate(undefined, undefined), status(401));
    await assert.rejects(auth.authenticate(`Bearer ${secret}`, undefined), status(403));
    await assert.rejects(auth.authenticate(`Bearer ${secret}`, "ws-2"), status(403));
    const caller = await auth.authenticate(`Bearer ${secret}`, "ws-1");
    assert.equal(caller.kind, "managed");
    assert.doesNotThrow(() => assertModelAllowed(caller, "tiny", "qwen-plus"));
    assert.doesNotThrow(() => assertModelAllowed(caller, "qwen-plus", "qp"));
    assert.throws(() => assertModelAllowed(caller, "tiny", "tiny"), status(403));
    assert.doesNotThrow(() => assertModelAllowed({ kind: "static" }, "tiny", "tiny"));
    await store.close();
  });
});
