/**
 * Which errors an SSE client gets as `event:error` frames: as on the real server, only those of the
 * native generation endpoints (text and multimodal). The files API, the upload flow, the tokenizer
 * and the admin API never stream, so `Accept: text/event-stream` or `X-DashScope-SSE: enable` there
 * still gets JSON with the error's status (it used to be 200 + an `event:error` frame).
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { FastifyInstance } from "fastify";
import { MediaFetcher } from "../../src/features/media/fetch.ts";
import { UploadStore } from "../../src/features/media/uploads.ts";
import { FileService } from "../../src/gateway/files.ts";
import { extractText } from "../../src/features/documents/index.ts";
import { Authenticator, Gateway, KeyService, LedgerWriter, ModelRegistry } from "../../src/gateway/index.ts";
import { buildApp } from "../../src/http/app.ts";
import { SqliteStore } from "../../src/store/index.ts";

const ADMIN = "admin-secret-for-sse-errors";
const SSE_HEADERS: Record<string, string>[] = [{ "X-DashScope-SSE": "enable" }, { Accept: "text/event-stream" }];

let dir: string;
let store: SqliteStore;
let ledger: LedgerWriter;
let app: FastifyInstance;
let base: string;
let secret: string;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "openscope-sse-errors-"));
  store = SqliteStore.open(join(dir, "openscope.db"));
  const keys = new KeyService(store);
  ledger = new LedgerWriter(store, { flushMs: 50 });
  const gateway = new Gateway({ auth: new Authenticator({ staticKeys: [], adminKey: ADMIN, keys }), keys, ledger, leaseTtlMs: 60_000 });
  secret = (await keys.create({ name: "a" })).secret;
  const uploads = new UploadStore({ dir: join(dir, "uploads"), secret: randomBytes(32), maxBytes: 64 * 1024 });
  const files = new FileService({ store, readDocument: extractText, dir: join(dir, "files"), maxBytes: 64 * 1024 });
  app = buildApp({
    registry: new ModelRegistry(),
    gateway,
    files,
    media: { fetcher: new MediaFetcher({ resolveOss: (key) => uploads.resolve(key) }), uploads },
    bodyLimitBytes: 1024 * 1024,
    requestTimeoutMs: 60_000,
  }).app;
  base = await app.listen({ host: "127.0.0.1", port: 0 });
});

after(async () => {
  await app?.close();
  await ledger?.close();
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

async function call(method: string, path: string, headers: Record<string, string>, body?: string) {
  const response = await fetch(base + path, { method, headers: { Authorization: `Bearer ${secret}`, ...headers }, ...(body === undefined ? {} : { body }) });
  return {
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    text: await response.text(),
    requestId: response.headers.get("x-request-id"),
  };
}

describe("SSE error rendering", () => {
  it("the generation endpoints answer an SSE client's error as 200 + one event:error frame (trailing slash too)", async () => {
    for (const path of [
      "/api/v1/services/aigc/text-generation/generation",
      "/api/v1/services/aigc/multimodal-generation/generation",
      "/api/v1/services/aigc/text-generation/generation/",
    ]) {
      for (const sse of SSE_HEADERS) {
        const reply = await call("POST", path, { "Content-Type": "application/json", ...sse }, '{"model":');
        assert.equal(reply.status, 200, `${path} ${JSON.stringify(sse)}: ${reply.text}`);
        assert.match(reply.type, /^text\/event-stream/);
        const frame = /^id:1\nevent:error\n:HTTP_STATUS\/400\ndata:(\{.*\})\n\n$/.exec(reply.text);
        assert.ok(frame, reply.text);
        assert.equal((JSON.parse(frame[1]!) as { request_id: string }).request_id, reply.requestId);
      }
    }
  });

  it("every other native endpoint answers JSON with the error's status, whatever the SSE headers", async () => {
    const cases: [string, string, Record<string, string>, string | undefined, number][] = [
      ["POST", "/api/v1/tokenizer", { "Content-Type": "application/json" }, '{"model":', 400],
      ["POST", "/api/v1/files", { "Content-Type": "multipart/form-data; boundary=x" }, '--x\r\nContent-Disposition: form-data; name="file"\r\n\r\nno end', 400],
      ["GET", "/api/v1/uploads?action=nonsense", {}, undefined, 400],
      ["POST", "/admin/v1/keys", { "Content-Type": "application/json", Authorization: `Bearer ${ADMIN}` }, '{"name":"a","rpm":1e21}', 400],
      ["GET", `/admin/v1/usage?since=${"9".repeat(400)}`, { Authorization: `Bearer ${ADMIN}` }, undefined, 400],
      ["POST", "/api/v1/tokenizer", { "Content-Type": "application/json" }, JSON.stringify({ model: "m", pad: "x".repeat(1024 * 1024) }), 413],
    ];
    for (const [method, path, headers, body, status] of cases) {
      for (const sse of SSE_HEADERS) {
        const reply = await call(method, path, { ...headers, ...sse }, body);
        const what = `${method} ${path.slice(0, 60)} ${JSON.stringify(sse)}: ${reply.text.slice(0, 200)}`;
        assert.equal(reply.status, status, what);
        assert.match(reply.type, /^application\/json/, what);
        const parsed = JSON.parse(reply.text) as Record<string, unknown>;
        assert.deepEqual(Object.keys(parsed).sort(), ["code", "message", "request_id"], what);
      }
    }
  });
});
