import assert from "node:assert/strict";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { ApiError } from "../core/errors.ts";
import { makeKey } from "../../test/helpers/storeContract.ts";
import { SqliteStore } from "../store/sqlite.ts";
import type { Caller } from "./auth.ts";
import { cleanFilename, type DocumentTextReader, FileService } from "./files.ts";

/** Stands in for features/documents' reader: text files read as UTF-8, anything else unreadable. */
const readAsText: DocumentTextReader = async (filename, bytes) =>
  filename.endsWith(".txt") ? { ok: true, text: bytes.toString("utf8").trim() } : { ok: false, reason: `could not read ${filename}` };

let dir: string;
let store: SqliteStore;
let service: FileService;
const alice: Caller = { kind: "managed", key: makeKey({ id: "key-alice" }) };
const bob: Caller = { kind: "managed", key: makeKey({ id: "key-bob" }) };
const admin: Caller = { kind: "admin" };
const open: Caller = { kind: "open" };
const fixed = { time: 1_764_499_365_000 };

before(async () => {
  dir = await mkdtemp(join(tmpdir(), "openscope-files-"));
  store = SqliteStore.open(":memory:");
  service = new FileService({ store, readDocument: readAsText, dir: join(dir, "blobs"), maxBytes: 100, now: () => fixed.time++ });
});
after(async () => {
  await store.close();
  await rm(dir, { recursive: true, force: true });
});

const apiError = (status: number, code: string, message?: RegExp) => (error: unknown) =>
  error instanceof ApiError && error.status === status && error.code === code && (message === undefined || message.test(error.message));

describe("FileService", () => {
  it("upload keeps the record, the bytes and the text under the id (never the client's name)", async () => {
    const record = await service.upload(alice, "../../etc/evil.txt", Buffer.from("hello!\n"), "file-extract", "desc");
    assert.match(record.id, /^file-fe-[0-9a-f]{24}$/);
    assert.equal(record.filename, "evil.txt");
    assert.equal(record.ownerKeyId, "key-alice");
    assert.equal(record.description, "desc");
    assert.equal(record.bytes, 7);
    assert.equal(record.md5, "i42z36Qm9r2xeY1Xj1I5rg==");
    assert.equal(record.status, "processed");
    assert.deepEqual(await store.getFile(record.id), record);
    assert.deepEqual(readdirSync(join(dir, "blobs")).sort(), [record.id, `${record.id}.txt`]);
    assert.equal(readFileSync(join(dir, "blobs", `${record.id}.txt`), "utf8"), "hello!");
    assert.equal((await service.text(alice, record.id)).text, "hello!");
    assert.deepEqual((await service.content(alice, record.id)).bytes, Buffer.from("hello!\n"));
  });

  it("static, admin and open callers own nothing and see everything; a managed key sees only its own", async () => {
    const mine = await service.upload(alice, "a.txt", Buffer.from("a"), "file-extract");
    const unowned = await service.upload(open, "o.txt", Buffer.from("o"), "file-extract");
    assert.equal(unowned.ownerKeyId, null);
    for (const caller of [admin, open, { kind: "static" } as Caller]) {
      assert.equal((await service.get(caller, mine.id)).id, mine.id);
      assert.equal((await service.get(caller, unowned.id)).id, unowned.id);
    }
    assert.equal((await service.get(alice, mine.id)).id, mine.id);
    await assert.rejects(service.get(alice, unowned.id), apiError(404, "NotFound"));
    await assert.rejects(service.get(bob, mine.id), apiError(404, "NotFound", new RegExp(mine.id)));
    await assert.rejects(service.content(bob, mine.id), apiError(404, "NotFound"));
    await assert.rejects(service.text(bob, mine.id), apiError(404, "NotFound"));
    await assert.rejects(service.delete(bob, mine.id), apiError(404, "NotFound"));
    assert.equal(await service.textReader(bob)(mine.id), undefined);
    const bobs = await service.list(bob, { limit: 100 });
    assert.deepEqual(bobs.files, []);
    const alices = await service.list(alice, { limit: 100 });
    assert.ok(alices.files.every((file) => file.ownerKeyId === "key-alice"));
    assert.ok((await service.list(admin, { limit: 100 })).files.some((file) => file.id === unowned.id));
  });

  it("delete removes the record and both files on disk", async () => {
    const record = await service.upload(alice, "d.txt", Buffer.from("d"), "file-extract");
    assert.equal((await service.delete(alice, record.id)).id, record.id);
    assert.equal(existsSync(join(dir, "blobs", record.id)), false);
    assert.equal(existsSync(join(dir, "blobs", `${record.id}.txt`)), false);
    await assert.rejects(service.get(alice, record.id), apiError(404, "NotFound"));
  });

  it("refuses: too large, empty, wrong purpose, unusable names; ids of any other form are simply unknown", async () => {
    await assert.rejects(service.upload(alice, "big.txt", Buffer.alloc(101), "file-extract"), apiError(413, "BadRequest.TooLarge"));
    await service.upload(alice, "edge.txt", Buffer.alloc(100, "a"), "file-extract");
    await assert.rejects(service.upload(alice, "e.txt", Buffer.alloc(0), "file-extract"), apiError(400, "InvalidParameter"));
    await assert.rejects(service.upload(alice, "p.txt", Buffer.from("p"), "fine-tune"), apiError(400, "InvalidParameter", /^'purpose' must be 'file-extract'/));
    for (const name of ["", "dir/", "..", "a\u0000b.txt"]) {
      await assert.rejects(service.upload(alice, name, Buffer.from("x"), "file-extract"), apiError(400, "InvalidParameter"), JSON.stringify(name));
    }
    assert.equal(cleanFilename("C:\\Users\\me\\report.pdf"), "report.pdf");
    await assert.rejects(service.get(admin, "../../etc/passwd"), apiError(404, "NotFound"));
  });

  it("unreadable documents are kept with status error; batch files are not extracted", async () => {
    const broken = await service.upload(alice, "x.docx", Buffer.from("not a zip"), "file-extract");
    assert.equal(broken.status, "error");
    assert.match(broken.statusDetails ?? "", /DOCX|unsupported|could not/);
    await assert.rejects(service.text(alice, broken.id), apiError(400, "InvalidParameter", new RegExp(broken.id)));
    await assert.rejects(service.textReader(alice)(broken.id), apiError(400, "InvalidParameter"));
    const batch = await service.upload(alice, "in.jsonl", Buffer.from("{}\n"), "batch");
    assert.match(batch.id, /^file-batch-[0-9a-f]{24}$/);
    assert.equal(batch.status, "processed");
    assert.equal(existsSync(join(dir, "blobs", `${batch.id}.txt`)), false);
    await assert.rejects(service.text(alice, batch.id), apiError(400, "InvalidParameter", /batch/));
  });

  it("page: 1-based pages and the total over the caller's files", async () => {
    const carol: Caller = { kind: "managed", key: makeKey({ id: "key-carol" }) };
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await service.upload(carol, `${i}.txt`, Buffer.from(String(i)), "file-extract")).id);
    const newestFirst = [...ids].reverse();
    assert.deepEqual(await service.page(carol, 1, 2).then((p) => [p.total, p.files.map((f) => f.id)]), [5, newestFirst.slice(0, 2)]);
    assert.deepEqual(await service.page(carol, 3, 2).then((p) => [p.total, p.files.map((f) => f.id)]), [5, newestFirst.slice(4)]);
    assert.deepEqual(await service.page(carol, 4, 2).then((p) => [p.total, p.files.length]), [5, 0]);
  });
});
