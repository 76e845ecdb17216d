import assert from "node:assert/strict";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ApiError } from "../../core/errors.ts";
import { keyInside, OSS_ACCESS_KEY_ID, UploadStore, type UploadFields, type UploadPolicy } from "./uploads.ts";

let root: string;
let clock = Date.parse("2026-01-02T03:04:05Z");
const now = () => clock;

before(async () => {
  root = await mkdtemp(join(tmpdir(), "openscope-uploads-"));
});
after(async () => {
  await rm(root, { recursive: true, force: true });
});

let counter = 0;
function store(options: Partial<ConstructorParameters<typeof UploadStore>[0]> = {}): UploadStore {
  counter += 1;
  return new UploadStore({ dir: join(root, `s${counter}`), secret: Buffer.from("test-secret"), now, ...options });
}

function fields(policy: UploadPolicy, name = "cat.png", extra: UploadFields = {}): UploadFields {
  return {
    OSSAccessKeyId: policy.oss_access_key_id,
    Signature: policy.signature,
    policy: policy.policy,
    key: `${policy.upload_dir}/${name}`,
    "x-oss-object-acl": policy.x_oss_object_acl,
    "x-oss-forbid-overwrite": policy.x_oss_forbid_overwrite,
    success_action_status: "200",
    "x-oss-content-type": "image/png",
    ...extra,
  };
}

const file = (text = "hello") => ({ bytes: Buffer.from(text), filename: "cat.png" });

async function rejects(promise: Promise<unknown>, status: number, pattern?: RegExp): Promise<void> {
  const error = await promise.then(
    () => assert.fail("expected a refusal"),
    (e: unknown) => e,
  );
  assert.ok(error instanceof ApiError, String(error));
  assert.equal(error.status, status);
  if (pattern) assert.match(error.message, pattern);
}

describe("UploadStore", () => {
  it("hands out a signed policy shaped like the real one", () => {
    const policy = store().policy("qwen-vl-plus", "http://localhost:8080/oss-upload");
    assert.deepEqual(Object.keys(policy), [
      "policy",
      "signature",
      "upload_dir",
      "upload_host",
      "expire_in_seconds",
      "max_file_size_mb",
      "capacity_limit_mb",
      "oss_access_key_id",
      "x_oss_object_acl",
      "x_oss_forbid_overwrite",
    ]);
    assert.match(policy.upload_dir, /^dashscope-instant\/[0-9a-f]{32}\/2026-01-02\/[0-9a-f-]{36}$/);
    assert.equal(policy.upload_host, "http://localhost:8080/oss-upload");
    assert.equal(policy.expire_in_seconds, 300);
    assert.equal(policy.max_file_size_mb, 1024);
    assert.equal(policy.oss_access_key_id, OSS_ACCESS_KEY_ID);
    assert.equal(policy.x_oss_object_acl, "private");
    assert.equal(policy.x_oss_forbid_overwrite, "true");
    const document = JSON.parse(Buffer.from(policy.policy, "base64").toString("utf8"));
    assert.equal(document.expiration, "2026-01-02T03:09:05.000Z");
    assert.deepEqual(document.conditions[1], ["starts-with", "$key", policy.upload_dir]);
  });

  it("accepts a signed upload and resolves it by key", async () => {
    const uploads = store();
    const policy = uploads.policy("m", "http://h/oss-upload");
    const { key } = await uploads.accept(fields(policy), file("png bytes"));
    assert.equal(key, `${policy.upload_dir}/cat.png`);
    assert.deepEqual(await uploads.resolve(key), { bytes: Buffer.from("png bytes"), contentType: "image/png" });
    assert.equal(await uploads.resolve(`${policy.upload_dir}/other.png`), undefined);
    // Stored under a hashed name, never the key as a path.
    const names = await readdir(uploads.dir);
    assert.equal(names.length, 1);
    assert.match(names[0]!, /^[0-9a-f]{64}\.upload$/);
  });

  it("refuses a wrong signature, a foreign secret and a wrong access key id with 403", async () => {
    const uploads = store();
    const policy = uploads.policy("m", "http://h/oss-upload");
    await rejects(uploads.accept(fields(policy, "a.png", { Signature: "AAAA" }), file()), 403, /signature/);
    const other = store({ secret: Buffer.from("another-secret") }).policy("m", "http://h/oss-upload");
    await rejects(uploads.accept(fields(other), file()), 403);
    // A policy of ours with the signature of another.
    await rejects(uploads.accept(fields(policy, "a.png", { Signature: other.signature }), file()), 403);
    await rejects(uploads.accept(fields(policy, "a.png", { OSSAccessKeyId: "someone" }), file()), 403);
    // A policy edited to widen upload_dir no longer matches its signature.
    const doc = JSON.parse(Buffer.from(policy.policy, "base64").toString("utf8"));
    doc.conditions[1][2] = "dashscope-instant";
    const forged = Buffer.from(JSON.stringify(doc)).toString("base64");
    await rejects(uploads.accept({ ...fields(policy), policy: forged, key: "dashscope-instant/x.png" }, file()), 403);
  });

  it("refuses an expired policy with 403", async () => {
    const uploads = store();
    const policy = uploads.policy("m", "http://h/oss-upload");
    clock += 301_000;
    try {
      await rejects(uploads.accept(fields(policy), file()), 403, /expired/);
    } finally {
      clock -= 301_000;
    }
  });

  it("refuses keys outside the upload_dir with 400", async () => {
    const uploads = store();
    const policy = uploads.policy("m", "http://h/oss-upload");
    const dir = policy.upload_dir;
    for (const key of [
      "other/x.png",
      `/${dir}/x.png`,
      `${dir}/../x.png`,
      `${dir}/a/../../x.png`,
      `${dir}/`,
      dir,
      `${dir}x/y.png`,
      `${dir}/./x.png`,
      `${dir}//x.png`,
      `${dir}/a\\..\\x`,
      `${dir}/x\u0000.png`,
      `${dir}/${"a".repeat(2000)}`,
    ]) {
      await rejects(uploads.accept(fields(policy, "x", { key }), file()), 400, /upload_dir/);
    }
    assert.equal(keyInside(`${dir}/sub/x.png`, dir), true);
  });

  it("refuses missing fields and files over the limit with 400", async () => {
    const uploads = store({ maxBytes: 4 });
    const policy = uploads.policy("m", "http://h/oss-upload");
    await rejects(uploads.accept({ ...fields(policy), key: undefined }, file()), 400, /'key'/);
    await rejects(uploads.accept(fields(policy), file("too long")), 400, /maximum allowed size/);
    assert.equal(policy.max_file_size_mb, 0);
  });

  it("refuses to overwrite an object", async () => {
    const uploads = store();
    const policy = uploads.policy("m", "http://h/oss-upload");
    await uploads.accept(fields(policy), file("first"));
    await rejects(uploads.accept(fields(policy), file("second")), 400, /already exists/);
    await rejects(uploads.accept(fields(policy, "b.png", { "x-oss-forbid-overwrite": "false" }), file()), 400);
    assert.deepEqual((await uploads.resolve(`${policy.upload_dir}/cat.png`))?.bytes, Buffer.from("first"));
    assert.deepEqual(
      (await readdir(uploads.dir)).filter((name) => name.endsWith(".tmp")),
      [],
    );
  });

  it("forgets files after the TTL (lazily and by sweep)", async () => {
    const uploads = store({ ttlMs: 60_000 });
    const policy = uploads.policy("m", "http://h/oss-upload");
    const { key: a } = await uploads.accept(fields(policy, "a.png"), file("a"));
    const { key: b } = await uploads.accept(fields(policy, "b.png"), file("b"));
    clock += 30_000;
    const { key: c } = await uploads.accept(fields(policy, "c.png"), file("c"));
    clock += 31_000;
    try {
      assert.equal(await uploads.resolve(a), undefined);
      assert.equal((await readdir(uploads.dir)).length, 2, "resolve removed the expired file");
      assert.equal(await uploads.sweep(), 1);
      assert.equal(await uploads.resolve(b), undefined);
      assert.deepEqual((await uploads.resolve(c))?.bytes, Buffer.from("c"));
      // An expired object (still on disk) may be replaced while the policy is valid.
      clock += 60_000;
      assert.equal((await readdir(uploads.dir)).length, 1);
      await uploads.accept(fields(policy, "c.png"), file("c2"));
      assert.deepEqual((await uploads.resolve(c))?.bytes, Buffer.from("c2"));
    } finally {
      clock -= 121_000;
    }
  });

  it("sweeps an empty or missing directory", async () => {
    assert.equal(await store().sweep(), 0);
  });

  it("keeps the file's bytes intact (binary)", async () => {
    const uploads = store();
    const policy = uploads.policy("m", "http://h/oss-upload");
    const bytes = Buffer.from(Array.from({ length: 1000 }, (_, i) => i % 256));
    const { key } = await uploads.accept(fields(policy, "bin.dat", { "x-oss-content-type": undefined }), {
      bytes,
      filename: "bin.dat",
      contentType: "application/x-test",
    });
    assert.deepEqual(await uploads.resolve(key), { bytes, contentType: "application/x-test" });
    const [name] = await readdir(uploads.dir);
    assert.ok((await readFile(join(uploads.dir, name!))).includes(bytes));
  });
});
