/**
 * The Files APIs end to end: a real Fastify app from `buildApp` (its error handler and its
 * catch-all content-type parser included) with `registerFileRoutes`, the real SqliteStore in a
 * temp dir, and the real Authenticator / KeyService / Gateway. Response shapes are compared with
 * the DashScope captures when ../shared is present.
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { ApiError } from "../../src/core/errors.ts";
import { textOf } from "../../src/core/content.ts";
import type { ChatMessage, GenerationRequest } from "../../src/core/types.ts";
import { expandFileReferences } from "../../src/features/documents/fileReferences.ts";
import { makeDocx, makePdf } from "../helpers/documents.ts";
import { FileService } from "../../src/gateway/files.ts";
import { extractText } from "../../src/features/documents/index.ts";
import { Authenticator, Gateway, KeyService, ModelRegistry, type Caller } from "../../src/gateway/index.ts";
import { buildApp } from "../../src/http/app.ts";
import { NATIVE_PURPOSE_ERROR, registerFileRoutes } from "../../src/http/filesRoutes.ts";
import { SqliteStore, type ApiKeyRecord } from "../../src/store/index.ts";
import { CAPTURES_DIR } from "../helpers/captures.ts";

const CAPTURES = CAPTURES_DIR;
const MAX_BYTES = 64 * 1024;
const ADMIN = "admin-secret-for-files";
const COMPAT = "/compatible-mode/v1/files";
const NATIVE = "/api/v1/files";

let dir: string;
let store: SqliteStore;
let app: FastifyInstance;
let files: FileService;
let keyA: { secret: string; record: ApiKeyRecord };
let keyB: { secret: string; record: ApiKeyRecord };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "openscope-files-e2e-"));
  store = SqliteStore.open(join(dir, "openscope.db"));
  const keys = new KeyService(store);
  const auth = new Authenticator({ staticKeys: [], adminKey: ADMIN, keys });
  const gateway = new Gateway({ auth, keys, leaseTtlMs: 60_000 });
  keyA = await keys.create({ name: "a" });
  keyB = await keys.create({ name: "b" });
  files = new FileService({ store, readDocument: extractText, dir: join(dir, "files"), maxBytes: MAX_BYTES });
  app = buildApp({ registry: new ModelRegistry(), gateway, bodyLimitBytes: 1024 * 1024, requestTimeoutMs: 60_000 }).app;
  registerFileRoutes(app, { files, gateway });
  await app.ready();
});

after(async () => {
  await app?.close();
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const callerA = (): Caller => ({ kind: "managed", key: keyA.record });
const callerB = (): Caller => ({ kind: "managed", key: keyB.record });

/** A multipart body as a browser or SDK would send it (FormData serialized by undici). */
async function multipart(parts: { name: string; value: string | Buffer; filename?: string }[]): Promise<{ body: Buffer; contentType: string }> {
  const form = new FormData();
  for (const part of parts) {
    if (part.filename !== undefined)
      form.append(part.name, new Blob([typeof part.value === "string" ? part.value : new Uint8Array(part.value)]), part.filename);
    else form.append(part.name, String(part.value));
  }
  const request = new Request("http://localhost/", { method: "POST", body: form });
  return { body: Buffer.from(await request.arrayBuffer()), contentType: request.headers.get("content-type") ?? "" };
}

async function upload(secret: string, filename: string, bytes: Buffer | string, purpose = "file-extract") {
  const { body, contentType } = await multipart([
    { name: "file", value: Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes), filename },
    { name: "purpose", value: purpose },
  ]);
  return app.inject({ method: "POST", url: COMPAT, headers: { ...bearer(secret), "content-type": contentType }, payload: body });
}

async function uploadOk(secret: string, filename: string, bytes: Buffer | string, purpose = "file-extract"): Promise<Record<string, unknown>> {
  const response = await upload(secret, filename, bytes, purpose);
  assert.equal(response.statusCode, 200, response.body);
  return response.json();
}

/** A captured JSON body (BOM dropped), or undefined when the captures are not here. */
function capture(name: string): unknown {
  const path = join(CAPTURES, `${name}.response.body.txt`);
  if (!existsSync(path)) return undefined;
  return JSON.parse(readFileSync(path, "utf8").replace(/^\uFEFF/, ""));
}

const sortedKeys = (value: unknown): string[] => Object.keys(value as object).sort();
const capturesSkip = existsSync(CAPTURES) ? {} : { skip: `LOUD SKIP: ${CAPTURES} is absent, capture shape comparisons not run` };
if (!existsSync(CAPTURES)) console.warn(`files.test.ts: ${CAPTURES} is absent: the capture shape comparisons are SKIPPED`);

describe("OpenAI-compatible files API", () => {
  const documents: { name: string; bytes: () => Promise<Buffer | string>; expect: RegExp }[] = [
    { name: "notes.txt", bytes: async () => "plain notes\nsecond line", expect: /^plain notes\nsecond line$/ },
    { name: "readme.md", bytes: async () => "# Title\n\n- item", expect: /# Title\n\n- item/ },
    {
      name: "page.html",
      bytes: async () => "<html><head><script>var hidden=1</script></head><body><p>Visible words</p></body></html>",
      expect: /^Visible words$/,
    },
    { name: "data.json", bytes: async () => '{"k":[1,2]}', expect: /^\{\n {2}"k": \[/ },
    { name: "table.csv", bytes: async () => "a,b\n1,2", expect: /^a,b\n1,2$/ },
    { name: "report.pdf", bytes: () => makePdf(["PDF body text here"]), expect: /PDF body text here/ },
    { name: "memo.docx", bytes: () => makeDocx(["Docx paragraph one", "Docx paragraph two"]), expect: /Docx paragraph one\n\nDocx paragraph two/ },
  ];

  for (const document of documents) {
    it(`uploads ${document.name}: processed, text extracted, bytes returned unchanged`, async () => {
      const bytes = await document.bytes();
      const raw = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes);
      const object = await uploadOk(keyA.secret, document.name, raw);
      assert.match(String(object.id), /^file-fe-[0-9a-f]{24}$/);
      assert.deepEqual(
        { ...object, id: "", created_at: 0 },
        { id: "", object: "file", bytes: raw.length, filename: document.name, purpose: "file-extract", status: "processed", created_at: 0 },
      );
      assert.ok(Math.abs(Number(object.created_at) - Date.now() / 1000) < 60);
      const { text } = await files.text(callerA(), String(object.id));
      assert.match(text, document.expect);
      const content = await app.inject({ method: "GET", url: `${COMPAT}/${object.id}/content`, headers: bearer(keyA.secret) });
      assert.equal(content.statusCode, 200);
      assert.ok(content.rawPayload.equals(raw));
    });
  }

  it("a document that cannot be read is stored with status error and status_details", async () => {
    const object = await uploadOk(keyA.secret, "broken.pdf", "%PDF-1.4 garbage");
    assert.equal(object.status, "error");
    assert.match(String(object.status_details), /PDF/);
    const got = await app.inject({ method: "GET", url: `${COMPAT}/${object.id}`, headers: bearer(keyA.secret) });
    assert.equal(got.json().status, "error");
  });

  it("purpose batch: a file-batch- id, stored as is (not extracted)", async () => {
    const object = await uploadOk(keyA.secret, "input.jsonl", '{"custom_id":"1"}\n', "batch");
    assert.match(String(object.id), /^file-batch-[0-9a-f]{24}$/);
    assert.equal(object.status, "processed");
    await assert.rejects(files.text(callerA(), String(object.id)), (error: unknown) => error instanceof ApiError && error.status === 400);
  });

  it("get, then delete ({id, object, deleted}), then 404 in OpenAI's shape", async () => {
    const object = await uploadOk(keyA.secret, "gone.txt", "bye");
    const got = await app.inject({ method: "GET", url: `${COMPAT}/${object.id}`, headers: bearer(keyA.secret) });
    assert.equal(got.statusCode, 200);
    assert.deepEqual(got.json(), object);
    const deleted = await app.inject({ method: "DELETE", url: `${COMPAT}/${object.id}`, headers: bearer(keyA.secret) });
    assert.equal(deleted.statusCode, 200);
    assert.deepEqual(deleted.json(), { id: object.id, object: "file", deleted: true });
    for (const [method, url] of [
      ["GET", `${COMPAT}/${object.id}`],
      ["GET", `${COMPAT}/${object.id}/content`],
      ["DELETE", `${COMPAT}/${object.id}`],
    ] as const) {
      const missing = await app.inject({ method, url, headers: bearer(keyA.secret) });
      assert.equal(missing.statusCode, 404, `${method} ${url}`);
      const body = missing.json();
      assert.equal(body.error.code, "not_found");
      assert.match(body.error.message, new RegExp(String(object.id)));
    }
  });

  it("list: newest first, limit/after paging with has_more, purpose and create_after/create_before filters", async () => {
    const owner = await (async () => {
      // A fresh key so the list holds only this case's files.
      const keys = new KeyService(store);
      return keys.create({ name: "lister" });
    })();
    const ids: string[] = [];
    for (const name of ["1.txt", "2.txt", "3.txt"]) {
      ids.push(String((await uploadOk(owner.secret, name, name)).id));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    const batchId = String((await uploadOk(owner.secret, "b.jsonl", "{}\n", "batch")).id);
    const list = async (query: string) => {
      const response = await app.inject({ method: "GET", url: `${COMPAT}${query}`, headers: bearer(owner.secret) });
      assert.equal(response.statusCode, 200, response.body);
      return response.json() as { object: string; data: { id: string }[]; has_more: boolean };
    };
    const all = await list("");
    assert.equal(all.object, "list");
    assert.deepEqual(
      all.data.map((file) => file.id),
      [batchId, ids[2], ids[1], ids[0]],
    );
    assert.equal(all.has_more, false);
    const page1 = await list("?limit=2&purpose=file-extract");
    assert.deepEqual(
      page1.data.map((file) => file.id),
      [ids[2], ids[1]],
    );
    assert.equal(page1.has_more, true);
    const page2 = await list(`?limit=2&purpose=file-extract&after=${ids[1]}`);
    assert.deepEqual(
      page2.data.map((file) => file.id),
      [ids[0]],
    );
    assert.equal(page2.has_more, false);
    const today = new Date().toISOString().slice(0, 10).replace(/-/g, "");
    assert.equal((await list(`?create_after=${today}`)).data.length, 4);
    assert.equal((await list(`?create_before=${today}`)).data.length, 0);
    assert.equal((await list("?create_after=20250101&create_before=20251101")).data.length, 0);
    const bad = await app.inject({ method: "GET", url: `${COMPAT}?create_after=2025-01-01`, headers: bearer(owner.secret) });
    assert.equal(bad.statusCode, 400);
    assert.match(bad.json().error.message, /create_after/);
    const badLimit = await app.inject({ method: "GET", url: `${COMPAT}?limit=0`, headers: bearer(owner.secret) });
    assert.equal(badLimit.statusCode, 400);
  });

  it("a managed key cannot see another key's file (404, exactly like a missing one); the admin key can", async () => {
    const object = await uploadOk(keyA.secret, "private.txt", "secret text");
    for (const [method, url] of [
      ["GET", `${COMPAT}/${object.id}`],
      ["GET", `${COMPAT}/${object.id}/content`],
      ["DELETE", `${COMPAT}/${object.id}`],
      ["GET", `${NATIVE}/${object.id}`],
    ] as const) {
      const other = await app.inject({ method, url, headers: bearer(keyB.secret) });
      assert.equal(other.statusCode, 404, `${method} ${url}`);
      const missingUrl = url.replace(String(object.id), "file-fe-000000000000000000000000");
      const missing = await app.inject({ method, url: missingUrl, headers: bearer(keyB.secret) });
      assert.equal(
        other.body.replace(String(object.id), "ID").replace(/"request_id":"[^"]+"/, ""),
        missing.body.replace("file-fe-000000000000000000000000", "ID").replace(/"request_id":"[^"]+"/, ""),
      );
    }
    const listB = await app.inject({ method: "GET", url: `${COMPAT}?limit=2000`, headers: bearer(keyB.secret) });
    assert.ok(!listB.json().data.some((file: { id: string }) => file.id === object.id));
    const pagedB = await app.inject({ method: "GET", url: `${COMPAT}?after=${object.id}`, headers: bearer(keyB.secret) });
    assert.deepEqual(pagedB.json().data, []);
    const admin = await app.inject({ method: "GET", url: `${COMPAT}/${object.id}`, headers: bearer(ADMIN) });
    assert.equal(admin.statusCode, 200);
    const adminList = await app.inject({ method: "GET", url: `${COMPAT}?limit=2000`, headers: bearer(ADMIN) });
    assert.ok(adminList.json().data.some((file: { id: string }) => file.id === object.id));
    // Still there for its owner.
    assert.equal((await app.inject({ method: "GET", url: `${COMPAT}/${object.id}`, headers: bearer(keyA.secret) })).statusCode, 200);
  });

  it("a file over the size limit: 413 BadRequest.TooLarge (OpenAI-shaped), nothing stored", async () => {
    const before = (await files.list({ kind: "admin" }, { limit: 2000 })).files.length;
    const response = await upload(keyA.secret, "big.txt", Buffer.alloc(MAX_BYTES + 1, "a"));
    assert.equal(response.statusCode, 413);
    const body = response.json();
    assert.equal(body.error.type, "invalid_request_error");
    assert.equal(body.error.code, "invalid_parameter_error");
    assert.match(body.error.message, /too large/i);
    assert.equal((await files.list({ kind: "admin" }, { limit: 2000 })).files.length, before);
    // Exactly the limit is fine.
    await uploadOk(keyA.secret, "edge.txt", Buffer.alloc(MAX_BYTES, "a"));
  });

  it("a wrong purpose: 400 'purpose' must be …", async () => {
    const response = await upload(keyA.secret, "x.txt", "x", "fine-tune");
    assert.equal(response.statusCode, 400);
    assert.match(response.json().error.message, /^'purpose' must be 'file-extract'/);
  });

  it("multipart reaches the route through the app's catch-all parser; JSON is refused; no key is 401", async () => {
    const json = await app.inject({ method: "POST", url: COMPAT, headers: bearer(keyA.secret), payload: { purpose: "file-extract" } });
    assert.equal(json.statusCode, 400);
    assert.match(json.json().error.message, /multipart/);
    const other = await app.inject({ method: "POST", url: COMPAT, headers: { ...bearer(keyA.secret), "content-type": "application/pdf" }, payload: "x" });
    assert.equal(other.statusCode, 415);
    const anonymous = await app.inject({ method: "GET", url: COMPAT });
    assert.equal(anonymous.statusCode, 401);
    assert.equal(anonymous.json().error.code, "invalid_api_key");
    const wrong = await app.inject({ method: "GET", url: NATIVE, headers: bearer("sk-wrong") });
    assert.equal(wrong.statusCode, 401);
    assert.equal(wrong.json().code, "InvalidApiKey");
  });

  it("response shapes match the captures (upload, get, list, delete)", capturesSkip, async () => {
    const object = await uploadOk(keyA.secret, "test2.txt", "hello!\n");
    assert.deepEqual(sortedKeys(object), sortedKeys(capture("upload-file-compatible-nosse")));
    const got = (await app.inject({ method: "GET", url: `${COMPAT}/${object.id}`, headers: bearer(keyA.secret) })).json();
    assert.deepEqual(sortedKeys(got), sortedKeys(capture("get-file-compatible-nosse")));
    const list = (await app.inject({ method: "GET", url: `${COMPAT}?limit=1`, headers: bearer(keyA.secret) })).json();
    const capturedList = capture("list-files-compatible-nosse") as { data: unknown[] };
    assert.deepEqual(sortedKeys(list), sortedKeys(capturedList));
    assert.deepEqual(sortedKeys(list.data[0]), sortedKeys(capturedList.data[0]));
    const deleted = (await app.inject({ method: "DELETE", url: `${COMPAT}/${object.id}`, headers: bearer(keyA.secret) })).json();
    assert.deepEqual(sortedKeys(deleted), sortedKeys(capture("delete-file-compatible-nosse")));
  });
});

describe("legacy native files API", () => {
  it("upload several files with descriptions; one too large goes to failed_uploads; list, get, delete", async () => {
    const { body, contentType } = await multipart([
      { name: "files", value: Buffer.from("one"), filename: "test1.txt" },
      { name: "files", value: Buffer.alloc(MAX_BYTES + 1, "x"), filename: "huge.txt" },
      { name: "files", value: Buffer.from("hello!\n"), filename: "test2.txt" },
      { name: "purpose", value: "file-extract" },
      { name: "descriptions", value: "first" },
      { name: "descriptions", value: "second" },
      { name: "descriptions", value: "third" },
    ]);
    const response = await app.inject({ method: "POST", url: NATIVE, headers: { ...bearer(keyB.secret), "content-type": contentType }, payload: body });
    assert.equal(response.statusCode, 200, response.body);
    const result = response.json();
    assert.equal(typeof result.request_id, "string");
    assert.deepEqual(
      result.data.uploaded_files.map((file: { name: string }) => file.name),
      ["test1.txt", "test2.txt"],
    );
    assert.deepEqual(
      result.data.failed_uploads.map((file: { name: string; code: string }) => [file.name, file.code]),
      [["huge.txt", "BadRequest.TooLarge"]],
    );
    const [first, second] = result.data.uploaded_files as { file_id: string }[];
    assert.ok(first && second);

    const got = await app.inject({ method: "GET", url: `${NATIVE}/${second.file_id}`, headers: bearer(keyB.secret) });
    assert.equal(got.statusCode, 200);
    const data = got.json().data;
    assert.equal(data.file_id, second.file_id);
    assert.equal(data.name, "test2.txt");
    assert.equal(data.description, "third");
    assert.equal(data.size, 7);
    assert.equal(data.md5, createHash("md5").update("hello!\n").digest("base64"));
    assert.equal(data.purpose, "file-extract");
    const download = await app.inject({ method: "GET", url: new URL(data.url).pathname, headers: bearer(keyB.secret) });
    assert.equal(download.body, "hello!\n");

    const list = await app.inject({ method: "GET", url: `${NATIVE}?page_no=1&page_size=1`, headers: bearer(keyB.secret) });
    assert.equal(list.statusCode, 200);
    const page = list.json().data;
    assert.equal(page.page_no, 1);
    assert.equal(page.page_size, 1);
    assert.ok(page.total >= 2);
    assert.equal(page.files.length, 1);
    assert.equal(page.files[0].file_id, second.file_id);
    const page2 = (await app.inject({ method: "GET", url: `${NATIVE}?page_no=2&page_size=1`, headers: bearer(keyB.secret) })).json().data;
    assert.equal(page2.files[0].file_id, first.file_id);

    const deleted = await app.inject({ method: "DELETE", url: `${NATIVE}/${first.file_id}`, headers: bearer(keyB.secret) });
    assert.equal(deleted.statusCode, 200);
    assert.deepEqual(Object.keys(deleted.json()), ["request_id"]);
    const gone = await app.inject({ method: "GET", url: `${NATIVE}/${first.file_id}`, headers: bearer(keyB.secret) });
    assert.equal(gone.statusCode, 404);
    assert.equal(gone.json().code, "NotFound"); // DashScope-shaped on native paths
  });

  it("a missing or wrong purpose is refused with the captured body", async () => {
    for (const parts of [[], [{ name: "purpose", value: "batch" }]]) {
      const { body, contentType } = await multipart([{ name: "files", value: Buffer.from("x"), filename: "x.txt" }, ...parts]);
      const response = await app.inject({ method: "POST", url: NATIVE, headers: { ...bearer(keyB.secret), "content-type": contentType }, payload: body });
      assert.equal(response.statusCode, 400);
      assert.deepEqual(response.json(), NATIVE_PURPOSE_ERROR);
    }
    const captured = capture("upload-file-error-nosse");
    if (captured !== undefined) assert.deepEqual(NATIVE_PURPOSE_ERROR, captured);
  });

  it("response shapes match the captures (upload, list, get, delete)", capturesSkip, async () => {
    const { body, contentType } = await multipart([
      { name: "files", value: Buffer.from("hello!\n"), filename: "test2.txt" },
      { name: "purpose", value: "file-extract" },
    ]);
    const uploaded = (
      await app.inject({ method: "POST", url: NATIVE, headers: { ...bearer(keyB.secret), "content-type": contentType }, payload: body })
    ).json();
    const capturedUpload = capture("upload-file-nosse") as { data: { uploaded_files: unknown[] } };
    assert.deepEqual(sortedKeys(uploaded), sortedKeys(capturedUpload));
    assert.deepEqual(sortedKeys(uploaded.data), sortedKeys(capturedUpload.data));
    assert.deepEqual(sortedKeys(uploaded.data.uploaded_files[0]), sortedKeys(capturedUpload.data.uploaded_files[0]));
    const id = uploaded.data.uploaded_files[0].file_id;

    const list = (await app.inject({ method: "GET", url: `${NATIVE}?page_no=1&page_size=2`, headers: bearer(keyB.secret) })).json();
    const capturedList = capture("list-files-nosse") as { data: { files: unknown[] } };
    assert.deepEqual(sortedKeys(list), sortedKeys(capturedList));
    assert.deepEqual(sortedKeys(list.data), sortedKeys(capturedList.data));
    assert.deepEqual(sortedKeys(list.data.files[0]), sortedKeys(capturedList.data.files[0]));

    const got = (await app.inject({ method: "GET", url: `${NATIVE}/${id}`, headers: bearer(keyB.secret) })).json();
    const capturedGet = capture("get-file-nosse") as { data: unknown };
    assert.deepEqual(sortedKeys(got), sortedKeys(capturedGet));
    assert.deepEqual(sortedKeys(got.data), sortedKeys(capturedGet.data));

    const deleted = (await app.inject({ method: "DELETE", url: `${NATIVE}/${id}`, headers: bearer(keyB.secret) })).json();
    assert.deepEqual(sortedKeys(deleted), sortedKeys(capture("delete-file-nosse")));
  });
});

describe("fileid:// expansion against the FileService", () => {
  const request = (system: string): GenerationRequest => ({
    requestId: "r",
    model: "qwen-long",
    messages: [
      { role: "system", content: [{ type: "text", text: system }] },
      { role: "user", content: [{ type: "text", text: "Are these the same?" }] },
    ] satisfies ChatMessage[],
    sampling: {} as GenerationRequest["sampling"],
    features: {} as GenerationRequest["features"],
  });

  it("expands the caller's documents in order; unknown or another key's ids are a 400 naming the id", async () => {
    const one = String((await uploadOk(keyA.secret, "one.txt", "first document")).id);
    const two = String((await uploadOk(keyA.secret, "two.docx", await makeDocx(["second document"]))).id);
    const expanded = await expandFileReferences(request(`fileid://${one}, fileid://${two}`), files.textReader(callerA()));
    assert.equal(textOf(expanded.messages[0]!), "[Document: one.txt]\nfirst document\n\n[Document: two.docx]\nsecond document");
    assert.equal(textOf(expanded.messages[1]!), "Are these the same?");

    const isInvalid = (id: string) => (error: unknown) =>
      error instanceof ApiError && error.status === 400 && error.code === "InvalidParameter" && error.message.includes(id);
    await assert.rejects(
      expandFileReferences(request("fileid://file-fe-WTTG89tIUTd4ByqP3K48R3bn"), files.textReader(callerA())),
      isInvalid("file-fe-WTTG89tIUTd4ByqP3K48R3bn"),
    );
    await assert.rejects(expandFileReferences(request(`fileid://${one}`), files.textReader(callerB())), isInvalid(one));
    // The admin sees every file.
    const admin = await expandFileReferences(request(`fileid://${one}`), files.textReader({ kind: "admin" }));
    assert.match(textOf(admin.messages[0]!), /first document/);
  });
});
