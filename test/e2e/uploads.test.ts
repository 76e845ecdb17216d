/**
 * The SDKs' local-file upload flow end to end (protocol.md §9): a real Fastify app from
 * `buildApp` (its error handler and catch-all content-type parser included) with
 * `registerUploadRoutes`, listening on 127.0.0.1, the real SqliteStore / KeyService /
 * Authenticator / Gateway in a temp dir. The client side does what the Python SDK does: GET
 * getPolicy with the Bearer key, then POST the OSS form (the exact fields, in order, no
 * Authorization) to `upload_host` as given, then names the file `oss://<key>`.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../../src/core/errors.ts";
import { MediaFetcher } from "../../src/features/media/fetch.ts";
import { UploadStore, type UploadPolicy } from "../../src/features/media/uploads.ts";
import { Authenticator, Gateway, KeyService, ModelRegistry } from "../../src/gateway/index.ts";
import { buildApp } from "../../src/http/app.ts";
import { registerUploadRoutes } from "../../src/http/uploadRoutes.ts";
import { SqliteStore, type ApiKeyRecord } from "../../src/store/index.ts";
import { CAPTURES_DIR } from "../helpers/captures.ts";

const ADMIN = "admin-secret-for-uploads";
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), randomBytes(300)]);

let dir: string;
let store: SqliteStore;
let gateway: Gateway;
let app: FastifyInstance;
let base: string;
let uploads: UploadStore;
let key: { secret: string; record: ApiKeyRecord };
let clock = Date.now();

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "openscope-uploads-e2e-"));
  store = SqliteStore.open(join(dir, "openscope.db"));
  const keys = new KeyService(store);
  const auth = new Authenticator({ staticKeys: [], adminKey: ADMIN, keys });
  gateway = new Gateway({ auth, keys, leaseTtlMs: 60_000 });
  key = await keys.create({ name: "a" });
  uploads = new UploadStore({ dir: join(dir, "uploads"), secret: randomBytes(32), ttlMs: 60 * 60 * 1000, maxBytes: 64 * 1024, now: () => clock });
  app = buildApp({ registry: new ModelRegistry(), gateway, bodyLimitBytes: 1024 * 1024, requestTimeoutMs: 60_000 }).app;
  registerUploadRoutes(app, { uploads, gateway });
  base = await app.listen({ host: "127.0.0.1", port: 0 });
});

after(async () => {
  await app?.close();
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** Step 1 as the SDK does it. */
async function getPolicy(model = "qwen-vl-plus", headers: Record<string, string> = { authorization: `Bearer ${key.secret}` }): Promise<Response> {
  return fetch(`${base}/api/v1/uploads?action=getPolicy&model=${encodeURIComponent(model)}`, {
    headers: { accept: "application/json; charset=utf-8", "user-agent": "dashscope/1.20.0; python/3.11", ...headers },
  });
}

async function policyData(): Promise<UploadPolicy> {
  const response = await getPolicy();
  assert.equal(response.status, 200);
  return ((await response.json()) as { data: UploadPolicy }).data;
}

/** The multipart body the Python SDK's `requests.post(files=…)` sends: fields in this order, then the file. */
function sdkForm(policy: UploadPolicy, filename: string, bytes: Buffer, overrides: Record<string, string> = {}): { body: Buffer; contentType: string } {
  const fields: [string, string][] = [
    ["OSSAccessKeyId", policy.oss_access_key_id],
    ["Signature", policy.signature],
    ["policy", policy.policy],
    ["key", `${policy.upload_dir}/${filename}`],
    ["x-oss-object-acl", policy.x_oss_object_acl],
    ["x-oss-forbid-overwrite", policy.x_oss_forbid_overwrite],
    ["success_action_status", "200"],
    ["x-oss-content-type", "image/png"],
  ];
  const boundary = randomBytes(16).toString("hex");
  const chunks: Buffer[] = [];
  for (const [name, value] of fields) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${overrides[name] ?? value}\r\n`));
  }
  chunks.push(
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\n\r\n`),
    bytes,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  );
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

/** Step 2: POST to upload_host exactly as given, with no Authorization. */
async function upload(policy: UploadPolicy, filename: string, bytes: Buffer, overrides: Record<string, string> = {}): Promise<Response> {
  const { body, contentType } = sdkForm(policy, filename, bytes, overrides);
  return fetch(policy.upload_host, {
    method: "POST",
    headers: { "content-type": contentType, accept: "application/json", date: new Date().toUTCString(), "user-agent": "dashscope/1.20.0" },
    body: new Uint8Array(body),
  });
}

describe("upload flow", () => {
  it("getPolicy needs a key, and only action=getPolicy with a model", async () => {
    const anonymous = await getPolicy("qwen-vl-plus", {});
    assert.equal(anonymous.status, 401);
    assert.equal(((await anonymous.json()) as { code: string }).code, "InvalidApiKey");
    const wrong = await getPolicy("qwen-vl-plus", { authorization: "Bearer sk-nope" });
    assert.equal(wrong.status, 401);
    const other = await fetch(`${base}/api/v1/uploads?action=delete&model=m`, { headers: { authorization: `Bearer ${key.secret}` } });
    assert.equal(other.status, 400);
    assert.equal(((await other.json()) as { code: string }).code, "InvalidParameter");
    const noModel = await fetch(`${base}/api/v1/uploads?action=getPolicy`, { headers: { authorization: `Bearer ${key.secret}` } });
    assert.equal(noModel.status, 400);
  });

  it("uploads like the Python SDK and resolves oss://<key>", async () => {
    const response = await getPolicy();
    assert.equal(response.status, 200);
    assert.match(response.headers.get("content-type") ?? "", /application\/json/);
    const body = (await response.json()) as { data: UploadPolicy; request_id: string };
    assert.deepEqual(Object.keys(body), ["data", "request_id"]);
    assert.equal(body.request_id, response.headers.get("x-request-id"));
    const policy = body.data;
    assert.equal(policy.upload_host, `${base}/oss-upload`);

    const uploaded = await upload(policy, "cat.png", PNG);
    assert.equal(uploaded.status, 200, await uploaded.clone().text());
    assert.equal(await uploaded.text(), "");
    const ossKey = `${policy.upload_dir}/cat.png`;
    assert.deepEqual(await uploads.resolve(ossKey), { bytes: PNG, contentType: "image/png" });

    const fetcher = new MediaFetcher({ resolveOss: (k) => uploads.resolve(k) });
    assert.deepEqual(await fetcher.fetch(`oss://${ossKey}`, "image", { ossResolve: true }), { bytes: PNG, contentType: "image/png" });
    const refused = await fetcher.fetch(`oss://${ossKey}`, "image").then(
      () => undefined,
      (e: unknown) => e,
    );
    assert.ok(refused instanceof ApiError && refused.code === "InvalidURL");
  });

  it("answers success_action_status", async () => {
    const policy = await policyData();
    const response = await upload(policy, "a.png", PNG, { success_action_status: "204" });
    assert.equal(response.status, 204);
  });

  it("refuses a wrong signature with 403", async () => {
    const policy = await policyData();
    const response = await upload(policy, "cat.png", PNG, { Signature: "n3dNX/aD3+WAly0QgzsURfiIk00=" });
    assert.equal(response.status, 403);
    assert.match(response.headers.get("content-type") ?? "", /application\/json/);
    const error = (await response.json()) as { code: string; message: string; request_id: string };
    assert.equal(error.code, "AccessDenied");
    assert.equal(await uploads.resolve(`${policy.upload_dir}/cat.png`), undefined);
  });

  it("refuses a key outside upload_dir with 400", async () => {
    const policy = await policyData();
    for (const badKey of ["dashscope-instant/elsewhere/x.png", `${policy.upload_dir}/../x.png`, "/etc/passwd"]) {
      const response = await upload(policy, "x.png", PNG, { key: badKey });
      assert.equal(response.status, 400, badKey);
      assert.equal(((await response.json()) as { code: string }).code, "InvalidParameter");
    }
  });

  it("refuses an overwrite", async () => {
    const policy = await policyData();
    assert.equal((await upload(policy, "dup.png", PNG)).status, 200);
    const again = await upload(policy, "dup.png", Buffer.from("other"));
    assert.equal(again.status, 400);
    assert.match(((await again.json()) as { message: string }).message, /already exists/);
    assert.deepEqual((await uploads.resolve(`${policy.upload_dir}/dup.png`))?.bytes, PNG);
  });

  it("refuses an expired policy (403) and forgets expired files", async () => {
    const policy = await policyData();
    assert.equal((await upload(policy, "old.png", PNG)).status, 200);
    const saved = clock;
    try {
      clock += 301_000;
      const late = await upload(policy, "late.png", PNG);
      assert.equal(late.status, 403);
      clock += 60 * 60 * 1000;
      assert.equal(await uploads.resolve(`${policy.upload_dir}/old.png`), undefined);
    } finally {
      clock = saved;
    }
  });

  it("refuses a file over the size limit and a form without a file", async () => {
    const policy = await policyData();
    const big = await upload(policy, "big.png", Buffer.alloc(64 * 1024 + 1));
    assert.equal(big.status, 400);
    const form = new FormData();
    form.append("OSSAccessKeyId", policy.oss_access_key_id);
    form.append("Signature", policy.signature);
    form.append("policy", policy.policy);
    form.append("key", `${policy.upload_dir}/none.png`);
    const none = await fetch(policy.upload_host, { method: "POST", body: form });
    assert.equal(none.status, 400);
    const json = await fetch(policy.upload_host, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
    assert.equal(json.status, 400);
  });

  it("builds upload_host from the Host header, ignoring X-Forwarded-* by default", async () => {
    const response = await app.inject({
      method: "GET",
      url: "/api/v1/uploads?action=getPolicy&model=m",
      headers: { authorization: `Bearer ${key.secret}`, host: "models.example:8443", "x-forwarded-host": "evil.example", "x-forwarded-proto": "https" },
    });
    assert.equal(response.statusCode, 200);
    assert.equal((response.json() as { data: UploadPolicy }).data.upload_host, "http://models.example:8443/oss-upload");
  });

  it("uses X-Forwarded-* when told to", async () => {
    const other = buildApp({ registry: new ModelRegistry(), gateway, bodyLimitBytes: 1024 * 1024, requestTimeoutMs: 60_000 }).app;
    registerUploadRoutes(other, { uploads, gateway, trustForwardedHeaders: true });
    try {
      const response = await other.inject({
        method: "GET",
        url: "/api/v1/uploads?action=getPolicy&model=m",
        headers: { authorization: `Bearer ${key.secret}`, host: "internal:8080", "x-forwarded-host": "api.example", "x-forwarded-proto": "https" },
      });
      assert.equal((response.json() as { data: UploadPolicy }).data.upload_host, "https://api.example/oss-upload");
    } finally {
      await other.close();
    }
  });
});

const CAPTURE = join(CAPTURES_DIR, "get-upload-policy-nosse.response.body.txt");
if (!existsSync(CAPTURE)) console.warn(`uploads.test.ts: ${CAPTURE} is absent: the capture shape comparison is SKIPPED`);

describe("capture", () => {
  it(
    "the getPolicy answer has the captured keys in the captured order",
    { skip: existsSync(CAPTURE) ? false : `LOUD SKIP: ${CAPTURE} is absent` },
    async () => {
      const captured = JSON.parse(readFileSync(CAPTURE, "utf8").replace(/^\uFEFF/, "")) as { data: Record<string, unknown> };
      const response = await getPolicy();
      const ours = (await response.json()) as { data: Record<string, unknown> };
      assert.deepEqual(Object.keys(ours), Object.keys(captured));
      assert.deepEqual(Object.keys(ours.data), Object.keys(captured.data));
      for (const [name, value] of Object.entries(captured.data)) assert.equal(typeof ours.data[name], typeof value, name);
      for (const name of ["expire_in_seconds", "max_file_size_mb", "capacity_limit_mb", "x_oss_object_acl", "x_oss_forbid_overwrite"]) {
        if (name === "max_file_size_mb") continue; // ours is the configured limit
        assert.equal(ours.data[name], captured.data[name], name);
      }
      // The policy document has the same shape.
      const policyOf = (data: Record<string, unknown>) =>
        JSON.parse(Buffer.from(String(data.policy), "base64").toString("utf8")) as { expiration: string; conditions: unknown[] };
      const capturedPolicy = policyOf(captured.data);
      const ourPolicy = policyOf(ours.data);
      assert.deepEqual(Object.keys(ourPolicy), Object.keys(capturedPolicy));
      assert.equal(ourPolicy.conditions.length, capturedPolicy.conditions.length);
      assert.match(String(ours.data.upload_dir), /^dashscope-instant\/[0-9a-f]{32}\/\d{4}-\d{2}-\d{2}\/[0-9a-f-]{36}$/);
    },
  );
});
