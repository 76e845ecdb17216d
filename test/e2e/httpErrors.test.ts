/**
 * Client mistakes below the routes are catalogue errors end to end: malformed multipart bodies,
 * JSON nested too deep, Fastify's routing errors (bad percent-encoding, over-long path
 * parameters), Node's HTTP parser refusals (huge headers, NUL in a header, bad chunked framing,
 * malformed request lines), a missing Host, CONNECT, unmet Expect, and clients that go away
 * mid-body. A real app from `buildApp` with the files API, the upload flow and the admin API,
 * its log captured: none of this may be a 500, a framework's body, or an error-level log line.
 */
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Writable } from "node:stream";
import { after, before, beforeEach, describe, it } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { FastifyInstance } from "fastify";
import { MediaFetcher } from "../../src/features/media/fetch.ts";
import { UploadStore, type UploadPolicy } from "../../src/features/media/uploads.ts";
import { FileService } from "../../src/gateway/files.ts";
import { extractText } from "../../src/features/documents/index.ts";
import { Authenticator, Gateway, KeyService, LedgerWriter, ModelRegistry } from "../../src/gateway/index.ts";
import { buildApp } from "../../src/http/app.ts";
import { MAX_JSON_DEPTH } from "../../src/http/jsonBody.ts";
import { MAX_PARAM_LENGTH } from "../../src/http/transportErrors.ts";
import { SqliteStore } from "../../src/store/index.ts";
import { exchange, type RawResponse } from "../reliability/rawHttp.ts";

const ADMIN = "admin-secret-for-http-errors";
const GENERATION = "/api/v1/services/aigc/text-generation/generation";

let dir: string;
let store: SqliteStore;
let ledger: LedgerWriter;
let app: FastifyInstance;
let base: string;
let port: number;
let secret: string;
let policy: UploadPolicy;
/** Status and error code of each metered request's ledger record. */
const records: { status: number; code: string | null }[] = [];
const logs: { level: number; msg: string; err?: { message?: string } }[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "openscope-http-errors-"));
  store = SqliteStore.open(join(dir, "openscope.db"));
  const keys = new KeyService(store);
  ledger = new LedgerWriter(store, { flushMs: 50 });
  const gateway = new Gateway({ auth: new Authenticator({ staticKeys: [], adminKey: ADMIN, keys }), keys, ledger, leaseTtlMs: 60_000 });
  gateway.observe((_account, record) => records.push({ status: record.status, code: record.code }));
  secret = (await keys.create({ name: "a" })).secret;
  const uploads = new UploadStore({ dir: join(dir, "uploads"), secret: randomBytes(32), maxBytes: 64 * 1024 });
  const files = new FileService({ store, readDocument: extractText, dir: join(dir, "files"), maxBytes: 64 * 1024 });
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      for (const line of String(chunk).split("\n")) if (line) logs.push(JSON.parse(line));
      callback();
    },
  });
  app = buildApp({
    registry: new ModelRegistry(),
    gateway,
    files,
    media: { fetcher: new MediaFetcher({ resolveOss: (key) => uploads.resolve(key) }), uploads },
    bodyLimitBytes: 2 * 1024 * 1024,
    requestTimeoutMs: 60_000,
    logger: { level: "debug", stream },
  }).app;
  base = await app.listen({ host: "127.0.0.1", port: 0 });
  port = Number(new URL(base).port);
  const reply = await fetch(`${base}/api/v1/uploads?action=getPolicy&model=qwen-vl-plus`, { headers: { authorization: `Bearer ${secret}` } });
  policy = ((await reply.json()) as { data: UploadPolicy }).data;
});

after(async () => {
  await app?.close();
  await ledger?.close();
  await store?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  logs.length = 0;
});

/** Error-level lines logged so far (there must be none). */
function errorLogs(): string[] {
  return logs.filter((entry) => entry.level >= 50).map((entry) => `${entry.msg}: ${entry.err?.message ?? ""}`);
}

/** Sends raw bytes and returns the one answer. */
async function raw(text: string | Buffer, options: { halfCloseAfterMs?: number } = {}): Promise<RawResponse> {
  const result = await exchange({
    port,
    data: typeof text === "string" ? Buffer.from(text, "latin1") : text,
    timeoutMs: 10_000,
    halfCloseAfterMs: options.halfCloseAfterMs ?? 300,
  });
  assert.equal(
    result.responses.length,
    1,
    `one answer (got ${result.responses.length}, ${result.error ?? ""}, leftover ${result.leftover.toString("latin1").slice(0, 200)})`,
  );
  return result.responses[0]!;
}

/** A native catalogue error: status, code, a message matching, a request id (also in X-Request-ID). */
function assertNative(response: RawResponse, status: number, code: string, message: RegExp): void {
  const text = response.body.toString("utf8");
  assert.equal(response.status, status, text);
  assert.match(response.headers["content-type"] ?? "", /^application\/json/);
  const body = JSON.parse(text) as Record<string, unknown>;
  assert.deepEqual(Object.keys(body).sort(), ["code", "message", "request_id"], text);
  assert.equal(body.code, code, text);
  assert.match(String(body.message), message);
  assert.match(String(body.request_id), /^[0-9a-f-]{36}$/);
  assert.equal(response.headers["x-request-id"], body.request_id);
}

function assertOpenAi(response: RawResponse, status: number, message: RegExp): void {
  const text = response.body.toString("utf8");
  assert.equal(response.status, status, text);
  const body = JSON.parse(text) as { error: { message: string; type: string; code: string } };
  assert.equal(body.error.type, "invalid_request_error", text);
  assert.match(body.error.message, message);
}

function request(method: string, path: string, headers: string[], body = ""): string {
  return `${method} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers.map((h) => `${h}\r\n`).join("")}Content-Length: ${Buffer.byteLength(body, "latin1")}\r\nConnection: close\r\n\r\n${body}`;
}

const auth = () => `Authorization: Bearer ${secret}`;

describe("malformed multipart bodies: 400 InvalidParameter, never logged as errors", () => {
  it("no boundary (`Content-Type: multipart/form-data`, body `x`)", async () => {
    assertNative(
      await raw(request("POST", "/oss-upload", ["Content-Type: multipart/form-data"], "x")),
      400,
      "InvalidParameter",
      /^Invalid multipart body: Boundary not found\.$/,
    );
    assertNative(
      await raw(request("POST", "/api/v1/files", [auth(), "Content-Type: multipart/form-data"], "x")),
      400,
      "InvalidParameter",
      /Boundary not found/,
    );
    assertOpenAi(await raw(request("POST", "/compatible-mode/v1/files", [auth(), "Content-Type: multipart/form-data"], "x")), 400, /Boundary not found/);
    assert.deepEqual(errorLogs(), []);
  });

  it("no closing boundary", async () => {
    const body =
      '--abc\r\nContent-Disposition: form-data; name="purpose"\r\n\r\nfile-extract\r\n--abc\r\nContent-Disposition: form-data; name="x"\r\n\r\nhello';
    const type = "Content-Type: multipart/form-data; boundary=abc";
    assertNative(await raw(request("POST", "/oss-upload", [type], body)), 400, "InvalidParameter", /Unexpected end of multipart data/);
    assertNative(await raw(request("POST", "/api/v1/files", [auth(), type], body)), 400, "InvalidParameter", /Unexpected end of multipart data/);
    assertOpenAi(await raw(request("POST", "/compatible-mode/v1/files", [auth(), type], body)), 400, /Unexpected end of multipart data/);
    assert.deepEqual(errorLogs(), []);
  });

  it("a field sent as JSON (which the multipart plugin parses) is refused, not stringified", async () => {
    const deep = "[".repeat(20_000) + "]".repeat(20_000);
    const body = `--abc\r\nContent-Disposition: form-data; name="purpose"\r\nContent-Type: application/json\r\n\r\n${deep}\r\n--abc--\r\n`;
    const response = await raw(request("POST", "/compatible-mode/v1/files", [auth(), "Content-Type: multipart/form-data; boundary=abc"], body));
    assertOpenAi(response, 400, /Form field "purpose" must be plain text|multipart/);
    const upload = `--abc\r\nContent-Disposition: form-data; name="key"\r\nContent-Type: application/json\r\n\r\n{"a":1}\r\n--abc--\r\n`;
    assertNative(
      await raw(request("POST", "/oss-upload", ["Content-Type: multipart/form-data; boundary=abc"], upload)),
      400,
      "InvalidParameter",
      /Form field "key" must be plain text/,
    );
    assert.deepEqual(errorLogs(), []);
  });

  it("a client that goes away mid-upload is not an error", async () => {
    const head = `POST /oss-upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=abc\r\nContent-Length: 100000\r\n\r\n--abc\r\nContent-Disposition: form-data; name="OSSAccessKeyId"\r\n\r\n${policy.oss_access_key_id}\r\n`;
    const result = await exchange({ port, data: Buffer.from(head), resetAfterMs: 50, timeoutMs: 5000 });
    assert.equal(result.responses.length, 0);
    await sleep(200);
    assert.deepEqual(errorLogs(), []);
  });
});

describe("JSON nested too deep", () => {
  it(`100,000 levels: 400 InvalidParameter naming the bound (${MAX_JSON_DEPTH}); deeper than the bound by one too`, async () => {
    for (const depth of [100_000, 10_000, MAX_JSON_DEPTH + 1]) {
      const body = `{"model":"qwen-plus","input":{"messages":[{"role":${"[".repeat(depth)}${"]".repeat(depth)},"content":"hi"}]}}`;
      assertNative(
        await raw(request("POST", GENERATION, [auth(), "Content-Type: application/json"], body)),
        400,
        "InvalidParameter",
        new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`),
      );
      assertOpenAi(await raw(request("POST", "/compatible-mode/v1/chat/completions", [auth(), "Content-Type: application/json"], body)), 400, /deeper than/);
    }
    // Within the bound the body reaches the decoder, whose message quotes the value cut short.
    const depth = MAX_JSON_DEPTH - 6;
    const body = `{"model":"qwen-plus","input":{"messages":[{"role":${"[".repeat(depth)}${"]".repeat(depth)},"content":"hi"}]}}`;
    assertNative(
      await raw(request("POST", GENERATION, [auth(), "Content-Type: application/json"], body)),
      400,
      "InvalidParameter",
      /role must be one of .*got \[\[\[\[/,
    );
    assert.deepEqual(errorLogs(), []);
  });
});

describe("Fastify's routing errors", () => {
  it("bad percent-encoding: 400 InvalidParameter, OpenAI-shaped on compatible paths", async () => {
    const native = await raw(`GET /api/v1/files/%ff%fe HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\n\r\n`);
    assertNative(native, 400, "InvalidParameter", /percent-encoding/);
    assert.ok(!native.body.toString().includes("FST_"));
    assertOpenAi(await raw("GET /compatible-mode/v1/files/%zz HTTP/1.1\r\nHost: x\r\n\r\n"), 400, /percent-encoding/);
  });

  it(`a path parameter over ${MAX_PARAM_LENGTH} characters: 414; up to it, the route answers`, async () => {
    const long = await raw(`GET /api/v1/files/${"a".repeat(3000)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\n\r\n`);
    assertNative(long, 414, "BadRequest.UriTooLong", /path segment is longer than/);
    const routed = await raw(`GET /api/v1/files/${"a".repeat(MAX_PARAM_LENGTH)} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${secret}\r\n\r\n`);
    assert.equal(routed.status, 404, routed.body.toString());
    assert.deepEqual(errorLogs(), []);
  });
});

describe("Node's HTTP parser refusals: raw HTTP/1.1 answers with a catalogue body", () => {
  it("headers over 16 KiB: 431 BadRequest.HeadersTooLarge, Connection: close", async () => {
    const response = await raw(`GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${"v".repeat(20_000)}\r\n\r\n`);
    assertNative(response, 431, "BadRequest.HeadersTooLarge", /exceed 16384 bytes/);
    assert.equal(response.headers.connection, "close");
  });

  it("a request line over 16 KiB: 414", async () => {
    assertNative(await raw(`GET /${"a".repeat(20_000)} HTTP/1.1\r\nHost: x\r\n\r\n`), 414, "BadRequest.UriTooLong", /request line is longer/);
  });

  it("NUL in a header, malformed request lines, bad chunked framing, a truncated request: 400 InvalidParameter", async () => {
    const cases: [string, RegExp][] = [
      ["GET /health HTTP/1.1\r\nHost: x\r\nX-A: a\u0000b\r\n\r\n", /HPE_INVALID_HEADER_TOKEN/],
      ["GARBAGE\r\n\r\n", /not a valid HTTP method/],
      ["GET / HTTP/9.9\r\nHost: x\r\n\r\n", /HTTP version/],
      [
        "POST /oss-upload HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary=a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
        /chunked/,
      ],
      [
        "POST /oss-upload HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
        /Content-Length|Transfer-Encoding/,
      ],
      [`POST ${GENERATION} HTTP/1.1\r\nHost: x\r\n${auth()}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a"`, /ended in the middle/],
      ["GET /health HTTP/1.1\r\nHost: x", /ended in the middle/],
    ];
    for (const [text, message] of cases) {
      const response = await raw(text);
      assertNative(response, 400, "InvalidParameter", message);
      assert.equal(response.headers.connection, "close");
    }
    assert.deepEqual(errorLogs(), []);
  });

  it("OpenAI-shaped on compatible paths when the request line names one", async () => {
    assertOpenAi(
      await raw(
        `POST /compatible-mode/v1/chat/completions HTTP/1.1\r\nHost: x\r\n${auth()}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n`,
      ),
      400,
      /chunked/,
    );
  });

  it("a pipelined malformed request is answered after the valid one before it", async () => {
    const result = await exchange({
      port,
      data: Buffer.from(`GET /api/v1/files HTTP/1.1\r\nHost: x\r\n${auth()}\r\n\r\nGARBAGE\r\n\r\n`, "latin1"),
      expect: 2,
      timeoutMs: 5000,
    });
    assert.deepEqual(
      result.responses.map((r) => r.status),
      [200, 400],
    );
    assertNative(result.responses[1]!, 400, "InvalidParameter", /HTTP method/);
  });
});

describe("other requests Node would answer itself", () => {
  it("HTTP/1.1 without Host: 400 catalogue (Node's is bodiless); HTTP/1.0 needs none", async () => {
    assertNative(await raw("GET /api/v1/files HTTP/1.1\r\n\r\n"), 400, "InvalidParameter", /needs a Host header/);
    assert.equal((await raw(`GET /api/v1/files HTTP/1.0\r\n${auth()}\r\n\r\n`)).status, 200);
  });

  it("CONNECT: 405 (Node would drop the connection without an answer)", async () => {
    assertNative(await raw("CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n"), 405, "MethodNotAllowed", /CONNECT/);
  });

  it("an Expect other than 100-continue: 417 (Node's has no body), OpenAI-shaped on compatible paths", async () => {
    assertNative(
      await raw(request("POST", "/api/v1/tokenizer", ["Expect: please", "Content-Type: application/json"], "{}")),
      417,
      "BadRequest.ExpectationFailed",
      /100-continue/,
    );
    assertOpenAi(await raw(request("POST", "/compatible-mode/v1/chat/completions", ["Expect: please"], "{}")), 417, /100-continue/);
  });

  it("a client that resets mid-body is not logged as an error", async () => {
    const head = `POST ${GENERATION} HTTP/1.1\r\nHost: x\r\n${auth()}\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"model":`;
    for (const resetAfterMs of [0, 20, 100]) {
      const result = await exchange({ port, data: Buffer.from(head), resetAfterMs, timeoutMs: 5000 });
      assert.equal(result.responses.length, 0);
    }
    await sleep(200);
    assert.deepEqual(errorLogs(), []);
  });
});

describe("the ledger", () => {
  it("records a generation whose body never completed as 499 ClientClosedRequest, not 200", async () => {
    records.length = 0;
    const response = await raw(`POST ${GENERATION} HTTP/1.1\r\nHost: x\r\n${auth()}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"a"`);
    assert.equal(response.status, 400);
    await sleep(100);
    assert.deepEqual(records, [{ status: 499, code: "ClientClosedRequest" }]);
  });
});

describe("admin usage query", () => {
  it("a bound no time can hold, or a repeated one, is a 400 (was a 500 from the store)", async () => {
    const get = (query: string) => raw(`GET /admin/v1/usage?${query} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${ADMIN}\r\n\r\n`);
    assertNative(await get(`since=${"9".repeat(400)}`), 400, "InvalidParameter", /since is not a time/);
    assertNative(await get("until=99999999999999999d"), 400, "InvalidParameter", /until is not a time/);
    assert.equal((await get("since=1h&since=2h")).status, 200);
    assert.deepEqual(errorLogs(), []);
  });
  it("a key spec whose limits or expiry the stores cannot hold is a 400 (1e21 reached SQLite as a REAL: 500)", async () => {
    const create = (spec: string) => raw(request("POST", "/admin/v1/keys", [`Authorization: Bearer ${ADMIN}`, "Content-Type: application/json"], spec));
    for (const spec of [
      '{"name":"a","concurrency":1e21}',
      '{"name":"a","rpm":2147483648}',
      '{"name":"a","tpm":1e300}',
      '{"name":"a","expires":1e21}',
      '{"name":"a","expires":"99999999999999999d"}',
    ]) {
      assertNative(await create(spec), 400, "InvalidParameter", /must be a positive integer of at most|not a time this server can represent/);
    }
    assert.equal((await create('{"name":"a","rpm":2147483647,"tpm":9007199254740991,"concurrency":4,"expires":"30d"}')).status, 201);
    assert.deepEqual(errorLogs(), []);
  });
});
