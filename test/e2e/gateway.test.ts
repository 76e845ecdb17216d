/**
 * The gateway end to end on the tiny model: managed keys (admin API), model allow-lists,
 * workspaces, revocation and expiry, per-key RPM/TPM/concurrency with Retry-After, the usage
 * ledger, /metrics — and two instances sharing Redis holding one RPM limit together.
 */
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import pg from "pg";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Store, UsageFilter, UsageRecord } from "../../src/store/index.ts";
import { generation, postJson, postSse, startTestServer, type TestServer } from "../helpers/server.ts";

const ADMIN_KEY = "admin-secret-0123456789";
const admin = { Authorization: `Bearer ${ADMIN_KEY}` };

async function adminCall(server: TestServer, method: string, path: string, body?: unknown) {
  const response = await fetch(server.url + path, {
    method,
    headers: { ...admin, ...(body !== undefined ? { "Content-Type": "application/json" } : {}) },
    ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
  });
  return { status: response.status, body: (await response.json()) as any };
}

async function createKey(server: TestServer, spec: Record<string, unknown>): Promise<{ id: string; secret: string; prefix: string }> {
  const created = await adminCall(server, "POST", "/admin/v1/keys", spec);
  assert.equal(created.status, 201, JSON.stringify(created.body));
  return { id: created.body.key.id, secret: created.body.secret, prefix: created.body.key.prefix };
}

/** The ledger's records matching `filter` once `count` of them are written (a record is added when its response has closed). */
async function ledgerRecords(server: TestServer, filter: UsageFilter, count: number): Promise<UsageRecord[]> {
  const ledger = server.server.gateway.ledger!;
  for (let attempt = 0; ; attempt++) {
    await ledger.flush();
    const records = await ledger.store.usageRecords(filter, 1000);
    if (records.length >= count || attempt > 40) return records;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const bearer = (secret: string) => ({ Authorization: `Bearer ${secret}` });
const short = (model = "qwen-plus") => generation("hi", { max_tokens: 4, seed: 1 }, model);

describe("gateway: managed keys", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ gateway: { adminKey: ADMIN_KEY } });
  });
  after(() => server.close());

  it("the admin API needs the admin key", async () => {
    const none = await fetch(`${server.url}/admin/v1/keys`);
    assert.equal(none.status, 401);
    const wrong = await fetch(`${server.url}/admin/v1/keys`, { headers: { Authorization: "Bearer nope" } });
    assert.equal(wrong.status, 401);
    assert.equal(((await wrong.json()) as any).code, "InvalidApiKey");
  });

  it("creates a key, shows its secret once, lists it by prefix without the hash", async () => {
    const key = await createKey(server, { name: "team-a", models: ["qwen-plus"], rpm: 100 });
    assert.match(key.secret, /^sk-os-[0-9A-Za-z]{40}$/);
    assert.ok(key.secret.startsWith(key.prefix));
    const list = await adminCall(server, "GET", "/admin/v1/keys");
    const listed = list.body.keys.find((k: any) => k.id === key.id);
    assert.equal(listed.name, "team-a");
    assert.deepEqual(listed.models, ["qwen-plus"]);
    assert.equal(listed.hash, undefined);
    assert.ok(!JSON.stringify(list.body).includes(key.secret));
  });

  it("once a key exists, requests need one (401 InvalidApiKey otherwise)", async () => {
    const anonymous = await postJson(server.url, short());
    assert.equal(anonymous.status, 401);
    assert.equal(anonymous.body.code, "InvalidApiKey");
    assert.equal(anonymous.body.message, "Invalid API-key provided.");
    const unknown = await postJson(server.url, short(), { headers: bearer("sk-os-unknown") });
    assert.equal(unknown.status, 401);
  });

  it("a key serves its models and is refused others with 403 AccessDenied", async () => {
    const key = await createKey(server, { name: "only-qwen-plus", models: "qwen-plus" });
    const ok = await postJson(server.url, short("qwen-plus"), { headers: bearer(key.secret) });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const denied = await postJson(server.url, short("tiny"), { headers: bearer(key.secret) });
    assert.equal(denied.status, 403);
    assert.equal(denied.body.code, "AccessDenied");
    assert.match(denied.body.message, /may not use model "tiny"/);
    const openai = await fetch(`${server.url}/compatible-mode/v1/chat/completions`, {
      method: "POST",
      headers: { "Content-Type": "application/json", ...bearer(key.secret) },
      body: JSON.stringify({ model: "tiny", messages: [{ role: "user", content: "hi" }], max_tokens: 2 }),
    });
    assert.equal(openai.status, 403);
    assert.equal(((await openai.json()) as any).error.code, "access_denied");
  });

  it("a workspace-bound key needs the matching X-DashScope-WorkSpace", async () => {
    const key = await createKey(server, { name: "ws", workspace: "ws-123" });
    const without = await postJson(server.url, short(), { headers: bearer(key.secret) });
    assert.equal(without.status, 403);
    assert.equal(without.body.code, "AccessDenied");
    const other = await postJson(server.url, short(), { headers: { ...bearer(key.secret), "X-DashScope-WorkSpace": "ws-999" } });
    assert.equal(other.status, 403);
    const matching = await postJson(server.url, short(), { headers: { ...bearer(key.secret), "X-DashScope-WorkSpace": "ws-123" } });
    assert.equal(matching.status, 200);
  });

  it("a revoked key is refused at once with 401; revoking by prefix works", async () => {
    const key = await createKey(server, { name: "to-revoke" });
    assert.equal((await postJson(server.url, short(), { headers: bearer(key.secret) })).status, 200);
    const revoked = await adminCall(server, "DELETE", `/admin/v1/keys/${key.prefix}`);
    assert.equal(revoked.status, 200);
    assert.equal(typeof revoked.body.key.revokedAt, "number");
    const after = await postJson(server.url, short(), { headers: bearer(key.secret) });
    assert.equal(after.status, 401);
    assert.equal(after.body.code, "InvalidApiKey");
    assert.equal((await adminCall(server, "DELETE", "/admin/v1/keys/key_nope")).status, 404);
  });

  it("a prefix shared by two keys: DELETE is 400 InvalidParameter and revokes neither", async () => {
    const store = server.server.gateway.ledger!.store as Store;
    const base = { name: "twin", models: null, rpm: null, tpm: null, concurrency: null, workspace: null, createdAt: 1, expiresAt: null, revokedAt: null };
    await store.insertKey({ ...base, id: "key_twin_1", prefix: "sk-os-twin", hash: "c".repeat(64) });
    await store.insertKey({ ...base, id: "key_twin_2", prefix: "sk-os-twin", hash: "d".repeat(64) });
    const reply = await adminCall(server, "DELETE", "/admin/v1/keys/sk-os-twin");
    assert.equal(reply.status, 400);
    assert.equal(reply.body.code, "InvalidParameter");
    assert.match(reply.body.message, /matches 2 keys/);
    const twins = (await adminCall(server, "GET", "/admin/v1/keys")).body.keys.filter((k: { prefix: string }) => k.prefix === "sk-os-twin");
    assert.deepEqual(
      twins.map((k: { revokedAt: number | null }) => k.revokedAt),
      [null, null],
    );
  });

  it("an expired key is refused with 401", async () => {
    const created = await server.server.gateway.keys!.create({ name: "short-lived", expiresAt: Date.now() + 300 });
    assert.equal((await postJson(server.url, short(), { headers: bearer(created.secret) })).status, 200);
    await new Promise((resolve) => setTimeout(resolve, 350));
    const late = await postJson(server.url, short(), { headers: bearer(created.secret) });
    assert.equal(late.status, 401);
  });

  it("bad key specs are 400 InvalidParameter", async () => {
    for (const spec of [{}, { name: "x", rpm: 0 }, { name: "x", rpm: "many" }, { name: "x", expires: "yesterday" }, { name: "x", expires: "2001-01-01" }]) {
      const reply = await adminCall(server, "POST", "/admin/v1/keys", spec);
      assert.equal(reply.status, 400, JSON.stringify(spec));
      assert.equal(reply.body.code, "InvalidParameter");
    }
  });

  it("static keys from the config keep working beside managed keys", async () => {
    const admin = await postJson(server.url, short(), { headers: { Authorization: `Bearer ${ADMIN_KEY}` } });
    assert.equal(admin.status, 200);
  });
});

describe("gateway: per-key limits", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ gateway: { adminKey: ADMIN_KEY } });
  });
  after(() => server.close());

  it("RPM: the request over the limit is 429 Throttling.RateQuota with Retry-After", async () => {
    const key = await createKey(server, { name: "rpm", rpm: 2 });
    for (let i = 0; i < 2; i++) assert.equal((await postJson(server.url, short(), { headers: bearer(key.secret) })).status, 200);
    const over = await postJson(server.url, short(), { headers: bearer(key.secret) });
    assert.equal(over.status, 429);
    assert.equal(over.body.code, "Throttling.RateQuota");
    assert.equal(over.body.message, "Requests rate limit exceeded, please try again later.");
    assert.equal(over.body.request_id, over.headers.get("x-request-id"));
    const retryAfter = Number(over.headers.get("retry-after"));
    // Sliding window: at most the rest of this minute plus the next one.
    assert.ok(retryAfter >= 1 && retryAfter <= 120, `Retry-After ${retryAfter}`);
    // A stream request over the limit: the SSE error frame (and the header).
    const streamed = await postSse(server.url, short(), { headers: bearer(key.secret) });
    assert.equal(streamed.events.at(-1)?.event, "error");
    assert.equal(streamed.data.at(-1).code, "Throttling.RateQuota");
    assert.ok(Number(streamed.headers.get("retry-after")) >= 1);
  });

  it("invalid requests are not charged against the limit", async () => {
    const key = await createKey(server, { name: "rpm-invalid", rpm: 1 });
    const bad = await postJson(server.url, generation("hi", { temperature: 5 }), { headers: bearer(key.secret) });
    assert.equal(bad.status, 400);
    assert.equal((await postJson(server.url, short(), { headers: bearer(key.secret) })).status, 200);
  });

  it("TPM: input + max_tokens are charged up front (429 Throttling.AllocationQuota), the unused part is given back", async () => {
    const key = await createKey(server, { name: "tpm", tpm: 300 });
    // ~10 prompt tokens + 200 max_tokens fits once, not twice.
    const big = generation("hi", { max_tokens: 200, seed: 1, stop: ["\u0000"] });
    const first = await postJson(server.url, generation("hi", { max_tokens: 200, seed: 1 }), { headers: bearer(key.secret) });
    assert.equal(first.status, 200);
    const used = first.body.usage.input_tokens + first.body.usage.output_tokens;
    const second = await postJson(server.url, big, { headers: bearer(key.secret) });
    if (used + 210 > 300) {
      assert.equal(second.status, 429);
      assert.equal(second.body.code, "Throttling.AllocationQuota");
      assert.equal(second.body.message, "Allocated quota exceeded, please increase your quota limit.");
      assert.ok(Number(second.headers.get("retry-after")) >= 1);
    }
    // A small request still fits what is left.
    const small = await postJson(server.url, generation("hi", { max_tokens: 4, seed: 1 }), { headers: bearer(key.secret) });
    assert.equal(small.status, 200);
  });

  it("concurrency: a second request while one streams is 429; after it ends, requests pass again", async () => {
    const key = await createKey(server, { name: "conc", concurrency: 1 });
    const controller = new AbortController();
    const response = await fetch(`${server.url}/api/v1/services/aigc/text-generation/generation`, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-DashScope-SSE": "enable", ...bearer(key.secret) },
      body: JSON.stringify(generation("hi", { max_tokens: 400, seed: 3, incremental_output: true })),
      signal: controller.signal,
    });
    const reader = response.body!.getReader();
    await reader.read();
    const second = await postJson(server.url, short(), { headers: bearer(key.secret) });
    assert.equal(second.status, 429);
    assert.equal(second.body.code, "Throttling.RateQuota");
    while (!(await reader.read()).done);
    // The lease is freed when the response closes.
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal((await postJson(server.url, short(), { headers: bearer(key.secret) })).status, 200);
  });

  it("limits are per key", async () => {
    const a = await createKey(server, { name: "a", rpm: 1 });
    const b = await createKey(server, { name: "b", rpm: 1 });
    assert.equal((await postJson(server.url, short(), { headers: bearer(a.secret) })).status, 200);
    assert.equal((await postJson(server.url, short(), { headers: bearer(b.secret) })).status, 200);
    assert.equal((await postJson(server.url, short(), { headers: bearer(a.secret) })).status, 429);
  });
});

describe("gateway: usage ledger and metrics", () => {
  let server: TestServer;
  before(async () => {
    server = await startTestServer({ gateway: { adminKey: ADMIN_KEY, ledger: { enabled: true, flushMs: 50 } } });
  });
  after(() => server.close());

  it("writes one record per request with tokens, timings, status and code", async () => {
    const key = await createKey(server, { name: "ledger", models: ["qwen-plus"] });
    const ok = await postJson(server.url, generation("hello", { max_tokens: 5, seed: 2 }), { headers: bearer(key.secret) });
    const streamed = await postSse(server.url, generation("hello", { max_tokens: 3, seed: 2 }), { headers: bearer(key.secret) });
    const denied = await postJson(server.url, short("tiny"), { headers: bearer(key.secret) });
    const invalid = await postJson(server.url, generation("hello", { top_p: 0 }), { headers: bearer(key.secret) });
    const records = await ledgerRecords(server, { keyId: key.id }, 4);
    assert.equal(records.length, 4);
    const byId = new Map(records.map((r) => [r.requestId, r]));
    const okRecord = byId.get(ok.body.request_id)!;
    assert.ok(okRecord, "the sync request is in the ledger");
    assert.equal(okRecord.model, "tiny");
    assert.equal(okRecord.endpoint, "text-generation");
    assert.equal(okRecord.backend, "llama");
    assert.equal(okRecord.stream, false);
    assert.equal(okRecord.inputTokens, ok.body.usage.input_tokens);
    assert.equal(okRecord.outputTokens, ok.body.usage.output_tokens);
    assert.equal(okRecord.status, 200);
    assert.equal(okRecord.code, null);
    assert.ok(okRecord.ttftMs !== null && okRecord.ttftMs >= 0 && okRecord.ttftMs <= okRecord.durationMs);
    const streamRecord = byId.get(streamed.data[0].request_id)!;
    assert.equal(streamRecord.stream, true);
    assert.equal(streamRecord.outputTokens, streamed.data.at(-1).usage.output_tokens);
    const deniedRecord = byId.get(denied.body.request_id)!;
    assert.equal(deniedRecord.status, 403);
    assert.equal(deniedRecord.code, "AccessDenied");
    assert.equal(byId.get(invalid.body.request_id)!.code, "InvalidParameter");
    const totals = await adminCall(server, "GET", `/admin/v1/usage?key=${key.id}&since=1h`);
    assert.equal(totals.status, 200);
    // The invalid request never named a model it could resolve: its row has model "".
    const row = totals.body.totals.find((t: any) => t.model === "tiny");
    assert.equal(row.requests, 3);
    assert.equal(row.errors, 1);
    assert.deepEqual(totals.body.totals.find((t: any) => t.model === "").requests, 1);
    assert.equal(row.outputTokens, okRecord.outputTokens + streamRecord.outputTokens);
  });

  it("a stream that ends with an error frame is recorded with its code", async () => {
    const reply = await postSse(server.url, generation("hi", { max_tokens: 4, logit_bias: { "999999999": 5 } }), { headers: admin });
    assert.equal(reply.events.at(-1)?.event, "error");
    const requestId = reply.data.at(-1).request_id;
    let record: UsageRecord | undefined;
    for (let attempt = 0; !record && attempt < 40; attempt++) {
      record = (await ledgerRecords(server, { since: Date.now() - 60_000 }, 0)).find((r) => r.requestId === requestId);
      if (!record) await new Promise((resolve) => setTimeout(resolve, 25));
    }
    assert.ok(record);
    assert.equal(record.status, 200);
    assert.equal(record.code, reply.data.at(-1).code);
  });

  it("GET /metrics speaks Prometheus: requests, tokens, TTFT, latency, slots, ledger lag", async () => {
    await postJson(server.url, short(), { headers: admin });
    const response = await fetch(`${server.url}/metrics`);
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /text\/plain/);
    const text = await response.text();
    assert.match(text, /openscope_requests_total\{model="tiny",endpoint="text-generation",status="200",code=""\} \d+/);
    assert.match(text, /openscope_requests_total\{model="tiny",endpoint="text-generation",status="403",code="AccessDenied"\} \d+/);
    assert.match(text, /openscope_tokens_total\{model="tiny",kind="output"\} \d+/);
    assert.match(text, /openscope_time_to_first_token_seconds_bucket\{le="0.1",model="tiny"\} \d+/);
    assert.match(text, /openscope_request_duration_seconds_count\{model="tiny",endpoint="text-generation"\} \d+/);
    assert.match(text, /openscope_engine_slots\{model="tiny"\} 2/);
    assert.match(text, /openscope_engine_slots_busy\{model="tiny"\} 0/);
    assert.match(text, /openscope_queue_depth\{model="tiny"\} 0/);
    assert.match(text, /openscope_ledger_write_lag_seconds \d/);
    assert.match(text, /openscope_process_cpu_seconds_total/);
    assert.ok(!text.includes(ADMIN_KEY));
  });
});

describe(
  "gateway: two instances sharing Redis hold one RPM limit",
  { skip: process.env.OPENSCOPE_TEST_REDIS_URL ? false : "set OPENSCOPE_TEST_REDIS_URL (source scripts/test-services.sh) to run the two-instance Redis test" },
  () => {
    let dataDir: string;
    let a: TestServer;
    let b: TestServer;
    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), "openscope-shared-"));
      const gateway = { adminKey: ADMIN_KEY, dataDir, redisUrl: process.env.OPENSCOPE_TEST_REDIS_URL! };
      a = await startTestServer({ gateway });
      b = await startTestServer({ gateway });
    });
    after(async () => {
      await a?.close();
      await b?.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    it("a key created on one instance works on the other; 3 RPM across both admits exactly 3", async () => {
      const key = await createKey(a, { name: "shared", rpm: 3 });
      const statuses: number[] = [];
      for (const server of [a, b, a, b, a, b]) statuses.push((await postJson(server.url, short(), { headers: bearer(key.secret) })).status);
      assert.deepEqual(statuses.filter((s) => s === 200).length, 3, `statuses ${statuses.join(",")}`);
      assert.deepEqual(statuses.filter((s) => s === 429).length, 3);
      assert.deepEqual(statuses.slice(0, 3), [200, 200, 200]);
    });
  },
);

describe(
  "gateway: keys and ledger in PostgreSQL",
  { skip: process.env.OPENSCOPE_TEST_PG_URL ? false : "set OPENSCOPE_TEST_PG_URL (source scripts/test-services.sh) to run the PostgreSQL gateway test" },
  () => {
    const database = `openscope_e2e_${process.pid}_${Date.now()}`;
    let admin: pg.Client;
    let server: TestServer;
    before(async () => {
      admin = new pg.Client({ connectionString: process.env.OPENSCOPE_TEST_PG_URL });
      await admin.connect();
      await admin.query(`CREATE DATABASE ${database}`);
      const url = new URL(process.env.OPENSCOPE_TEST_PG_URL!);
      url.pathname = `/${database}`;
      server = await startTestServer({ gateway: { adminKey: ADMIN_KEY, storeUrl: url.toString() } });
    });
    after(async () => {
      await server?.close();
      await admin.query(`DROP DATABASE IF EXISTS ${database}`);
      await admin.end();
    });

    it("serves a managed key and writes its usage to PostgreSQL", async () => {
      assert.equal((server.server.gateway.ledger!.store as Store).kind, "postgres");
      const key = await createKey(server, { name: "pg", rpm: 5 });
      const reply = await postJson(server.url, short(), { headers: bearer(key.secret) });
      assert.equal(reply.status, 200);
      const records = await ledgerRecords(server, { keyId: key.id }, 1);
      assert.equal(records.length, 1);
      assert.equal(records[0]!.requestId, reply.body.request_id);
      assert.equal(records[0]!.outputTokens, reply.body.usage.output_tokens);
      const { rows } = await admin.query("SELECT 1");
      assert.equal(rows.length, 1);
    });
  },
);
