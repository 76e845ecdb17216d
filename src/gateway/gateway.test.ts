import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../core/errors.ts";
import type { Backend, GenerationRequest, ModelRoute } from "../core/types.ts";
import type { ApiKeyRecord } from "../store/index.ts";
import { RequestAccount } from "./account.ts";
import { Authenticator } from "./auth.ts";
import { Gateway } from "./gateway.ts";
import { MemoryLimitCounters } from "./limits/index.ts";

const NOW = 1_700_000_010_000;

function key(limits: Pick<ApiKeyRecord, "rpm" | "tpm" | "concurrency">): ApiKeyRecord {
  return { id: "key_1", name: "k", prefix: "sk-os-k", hash: "", models: null, workspace: null, createdAt: 0, expiresAt: null, revokedAt: null, ...limits };
}

/** A route whose backend counts every prompt as 10 tokens. */
const ROUTE = {
  name: "m",
  backend: { countInputTokens: async () => 10 } as unknown as Backend,
  defaults: { maxOutputTokens: 100 },
} satisfies ModelRoute;

const REQUEST: GenerationRequest = {
  requestId: "r",
  model: "m",
  messages: [{ role: "user", content: [{ type: "text", text: "hi" }] }],
  sampling: { stop: { strings: [], tokenIds: [] }, n: 1, maxTokens: 20 },
  features: {},
};

let requests = 0;
function account(limits: Pick<ApiKeyRecord, "rpm" | "tpm" | "concurrency">): RequestAccount {
  const a = new RequestAccount(`req-${++requests}`, "text-generation", () => NOW);
  a.caller = { kind: "managed", key: key(limits) };
  return a;
}

function gateway(counters: MemoryLimitCounters): Gateway {
  return new Gateway({ auth: new Authenticator({ staticKeys: [] }), limits: counters, leaseTtlMs: 60_000 });
}

const throttled = (code: string) => (error: unknown) => {
  assert.ok(error instanceof ApiError);
  assert.equal(error.status, 429);
  assert.equal(error.code, code);
  return true;
};

/** Lets the settlements (fire and forget at the end of a request) run. */
const settled = () => new Promise((resolve) => setImmediate(resolve));

describe("Gateway: admission in two steps", () => {
  it("cheap admission counts the request against RPM before any token is counted", async () => {
    const counters = new MemoryLimitCounters({ now: () => NOW });
    const g = gateway(counters);
    const first = account({ rpm: 1, tpm: null, concurrency: null });
    await g.admitRequest(first, ROUTE);
    await assert.rejects(g.admitRequest(account({ rpm: 1, tpm: null, concurrency: null }), ROUTE), throttled("Throttling.RateQuota"));
  });

  it("token admission charges input + max_tokens against TPM; the end settles to the real usage", async () => {
    const counters = new MemoryLimitCounters({ now: () => NOW });
    const g = gateway(counters);
    const limits = { rpm: null, tpm: 70, concurrency: null };
    const a = account(limits);
    const admitTokens = await g.admitRequest(a, ROUTE);
    await admitTokens(REQUEST); // 10 + 20 charged
    await (await g.admitRequest(account(limits), ROUTE))(REQUEST); // 60 charged: no room for 30 more
    await assert.rejects(
      g.admitRequest(account(limits), ROUTE).then((next) => next(REQUEST)),
      throttled("Throttling.AllocationQuota"),
    );
    a.noteUsage({ inputTokens: 1, outputTokens: 1 });
    g.complete(a, 200);
    await settled();
    // 28 tokens given back: one more 30-token request fits.
    await (await g.admitRequest(account(limits), ROUTE))(REQUEST);
  });

  it("the concurrency lease of a request refused at token admission is freed when it ends", async () => {
    const counters = new MemoryLimitCounters({ now: () => NOW });
    const g = gateway(counters);
    const limits = { rpm: null, tpm: 10, concurrency: 1 };
    const a = account(limits);
    const admitTokens = await g.admitRequest(a, ROUTE);
    await assert.rejects(admitTokens(REQUEST), throttled("Throttling.AllocationQuota"));
    await assert.rejects(g.admitRequest(account(limits), ROUTE), throttled("Throttling.RateQuota"), "the lease is held until the request ends");
    g.complete(a, 429);
    await settled();
    await g.admitRequest(account(limits), ROUTE);
  });

  it("keys without limits, and callers that are not managed keys, are not counted", async () => {
    const counters = new MemoryLimitCounters({ now: () => NOW });
    const g = gateway(counters);
    const open = new RequestAccount("open", "text-generation");
    await (await g.admitRequest(open, ROUTE))(REQUEST);
    await (await g.admitRequest(account({ rpm: null, tpm: null, concurrency: null }), ROUTE))(REQUEST);
  });
});
