/**
 * Uploaded files (the Files APIs, protocol.md §10): metadata in the store, the bytes and the
 * extracted text on disk as `<dir>/<id>` and `<dir>/<id>.txt` (only ids, never client file names,
 * reach the file system). Documents uploaded with purpose "file-extract" are read to text at
 * upload time so `fileid://` references cost nothing per request; "batch" files are kept as they are.
 *
 * Ownership: a managed key sees only the files it uploaded; admin, static and open callers see
 * every file. A file the caller may not see is reported exactly like one that does not exist.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ApiError, errors, invalidParameter } from "../core/index.ts";
import type { FileFilter, FileRecord, FileStore } from "../store/index.ts";
import type { Caller } from "./auth.ts";

export type FilePurpose = FileRecord["purpose"];
export const FILE_PURPOSES: readonly FilePurpose[] = ["file-extract", "batch"];

/** Reads a "file-extract" document to text (features/documents' `extractText`, handed in by whoever assembles the server). */
export type DocumentTextReader = (filename: string, bytes: Buffer) => Promise<{ ok: true; text: string } | { ok: false; reason: string }>;

export interface FileServiceOptions {
  store: FileStore;
  readDocument: DocumentTextReader;
  /** Where the bytes and extracted texts live (created owner-only when missing). */
  dir: string;
  /** Largest file accepted, in bytes. */
  maxBytes: number;
  /** Clock (epoch ms), for tests. */
  now?: () => number;
}

/** The list filter a caller may give (ownership is the service's business). */
export type FileListFilter = Omit<FileFilter, "ownerKeyId">;

/** Files per store query when `page` walks the whole list. */
const PAGE_CHUNK = 500;

/** Longest file name kept (bytes of UTF-8 are not counted; characters are). */
const MAX_FILENAME_LENGTH = 255;

export const fileErrors = {
  notFound: errors.fileNotFound,
  tooLarge: errors.fileTooLarge,
  empty: () => invalidParameter("The uploaded file is empty."),
  badPurpose: () => invalidParameter("'purpose' must be 'file-extract' or 'batch'"),
  badFilename: () => invalidParameter("The uploaded file needs a file name (without control characters)."),
  notReadable: (id: string, details: string) => invalidParameter(`File ${id} could not be read as a document: ${details}`),
  notDocument: (id: string) => invalidParameter(`File ${id} was uploaded with purpose "batch"; only "file-extract" files can be referenced by fileid://.`),
};

const idPrefix = (purpose: FilePurpose): string => (purpose === "file-extract" ? "file-fe-" : "file-batch-");

/** Ids are made here ("file-fe-…", "file-batch-…"); anything else cannot name a stored file. */
const ID_PATTERN = /^file-(?:fe|batch)-[0-9a-f]{24}$/;

export function isFilePurpose(value: unknown): value is FilePurpose {
  return typeof value === "string" && (FILE_PURPOSES as readonly string[]).includes(value);
}

/** The client's file name without directories; throws 400 when nothing usable is left. */
export function cleanFilename(filename: string): string {
  const base = filename.split(/[\\/]/).pop()?.trim() ?? "";
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (base === "" || base === "." || base === ".." || /[\u0000-\u001f\u007f]/.test(base)) throw fileErrors.badFilename();
  return base.length > MAX_FILENAME_LENGTH ? base.slice(0, MAX_FILENAME_LENGTH) : base;
}

export class FileService {
  readonly maxBytes: number;
  readonly #store: FileStore;
  readonly #readDocument: DocumentTextReader;
  readonly #dir: string;
  readonly #now: () => number;
  /** The last upload's time: uploads in one millisecond still list newest first, in the order they came. */
  #lastCreatedAt = 0;
  #dirReady: Promise<void> | undefined;

  constructor(options: FileServiceOptions) {
    if (!Number.isSafeInteger(options.maxBytes) || options.maxBytes <= 0) throw new RangeError(`maxBytes must be a positive integer, got ${options.maxBytes}`);
    this.#store = options.store;
    this.#readDocument = options.readDocument;
    this.#dir = options.dir;
    this.maxBytes = options.maxBytes;
    this.#now = options.now ?? Date.now;
  }

  #nextCreatedAt(): number {
    this.#lastCreatedAt = Math.max(this.#now(), this.#lastCreatedAt + 1);
    return this.#lastCreatedAt;
  }

  /**
   * Stores a file. "file-extract" documents are read to text now: a document that cannot be read
   * is still stored, with status "error" and the reason in `statusDetails`.
   */
  async upload(caller: Caller, filename: string, bytes: Buffer, purpose: string, description?: string | null): Promise<FileRecord> {
    if (!isFilePurpose(purpose)) throw fileErrors.badPurpose();
    const name = cleanFilename(filename);
    if (bytes.length > this.maxBytes) throw fileErrors.tooLarge(this.maxBytes);
    if (bytes.length === 0) throw fileErrors.empty();
    const id = idPrefix(purpose) + randomBytes(12).toString("hex");
    let status: FileRecord["status"] = "processed";
    let statusDetails: string | null = null;
    let text: string | undefined;
    if (purpose === "file-extract") {
      const extracted = await this.#readDocument(name, bytes);
      if (extracted.ok) text = extracted.text;
      else {
        status = "error";
        statusDetails = extracted.reason;
      }
    }
    const record: FileRecord = {
      id,
      ownerKeyId: caller.kind === "managed" ? caller.key.id : null,
      filename: name,
      bytes: bytes.length,
      purpose,
      status,
      statusDetails,
      description: description === undefined || description === null || description === "" ? null : description,
      md5: createHash("md5").update(bytes).digest("base64"),
      createdAt: this.#nextCreatedAt(),
    };
    await this.#ensureDir();
    try {
      await writeFile(this.#blobPath(id), bytes, { mode: 0o600 });
      if (text !== undefined) await writeFile(this.#textPath(id), text, { mode: 0o600 });
      await this.#store.insertFile(record);
    } catch (error) {
      await this.#removeBlobs(id);
      throw error;
    }
    return record;
  }

  /** The file, when it exists and the caller may see it. */
  async find(caller: Caller, id: string): Promise<FileRecord | undefined> {
    if (!ID_PATTERN.test(id)) return undefined;
    const record = await this.#store.getFile(id);
    return record !== undefined && visibleTo(caller, record) ? record : undefined;
  }

  /** The file; 404 when it does not exist or belongs to another key. */
  async get(caller: Caller, id: string): Promise<FileRecord> {
    const record = await this.find(caller, id);
    if (record === undefined) throw fileErrors.notFound(id);
    return record;
  }

  /** The caller's files (every file for admin, static and open callers), newest first. */
  async list(caller: Caller, filter: FileListFilter): Promise<{ files: FileRecord[]; hasMore: boolean }> {
    const full: FileFilter = caller.kind === "managed" ? { ...filter, ownerKeyId: caller.key.id } : { ...filter };
    if (full.after !== undefined && (await this.find(caller, full.after)) === undefined) return { files: [], hasMore: false };
    return this.#store.listFiles(full);
  }

  /**
   * Page `pageNo` (1-based) of `pageSize` files, newest first, and how many files the caller has
   * in all (the native files API's paging). Walks the list in chunks: file counts stay small.
   */
  async page(caller: Caller, pageNo: number, pageSize: number): Promise<{ total: number; files: FileRecord[] }> {
    const start = (pageNo - 1) * pageSize;
    const files: FileRecord[] = [];
    let total = 0;
    let after: string | undefined;
    for (;;) {
      const chunk = await this.list(caller, after === undefined ? { limit: PAGE_CHUNK } : { limit: PAGE_CHUNK, after });
      for (const file of chunk.files) {
        if (total >= start && total < start + pageSize) files.push(file);
        total++;
      }
      const last = chunk.files.at(-1);
      if (!chunk.hasMore || last === undefined) break;
      after = last.id;
    }
    return { total, files };
  }

  /** Deletes the file and its bytes; the deleted record. 404 as for `get`. */
  async delete(caller: Caller, id: string): Promise<FileRecord> {
    const record = await this.get(caller, id);
    if (!(await this.#store.deleteFile(id))) throw fileErrors.notFound(id);
    await this.#removeBlobs(id);
    return record;
  }

  /** The file's bytes as uploaded. 404 as for `get`. */
  async content(caller: Caller, id: string): Promise<{ record: FileRecord; bytes: Buffer }> {
    const record = await this.get(caller, id);
    const bytes = await readFile(this.#blobPath(id)).catch((error: NodeJS.ErrnoException) => {
      // Deleted between the lookup and the read (or the blob was removed by hand).
      if (error.code === "ENOENT") throw fileErrors.notFound(id);
      throw error;
    });
    return { record, bytes };
  }

  /**
   * The document's extracted text. 404 as for `get`; 400 when the file is a batch file or could
   * not be read as a document.
   */
  async text(caller: Caller, id: string): Promise<{ record: FileRecord; filename: string; text: string }> {
    const record = await this.get(caller, id);
    if (record.purpose !== "file-extract") throw fileErrors.notDocument(id);
    if (record.status !== "processed") throw fileErrors.notReadable(id, record.statusDetails ?? "unknown error");
    const text = await readFile(this.#textPath(id), "utf8").catch((error: NodeJS.ErrnoException) => {
      if (error.code === "ENOENT") throw fileErrors.notFound(id);
      throw error;
    });
    return { record, filename: record.filename, text };
  }

  /**
   * A text reader for `expandFileReferences` on behalf of `caller`: undefined for files that do
   * not exist or that the caller may not see (the expansion names them in its 400); batch files
   * and unreadable documents throw their own 400.
   */
  textReader(caller: Caller): (id: string) => Promise<{ filename: string; text: string } | undefined> {
    return async (id) => {
      if ((await this.find(caller, id)) === undefined) return undefined;
      try {
        const { filename, text } = await this.text(caller, id);
        return { filename, text };
      } catch (error) {
        if (error instanceof ApiError && error.status === 404) return undefined;
        throw error;
      }
    };
  }

  #blobPath(id: string): string {
    return join(this.#dir, id);
  }

  #textPath(id: string): string {
    return join(this.#dir, `${id}.txt`);
  }

  async #ensureDir(): Promise<void> {
    this.#dirReady ??= mkdir(this.#dir, { recursive: true, mode: 0o700 }).then(() => undefined);
    try {
      await this.#dirReady;
    } catch (error) {
      this.#dirReady = undefined;
      throw error;
    }
  }

  async #removeBlobs(id: string): Promise<void> {
    await Promise.all([rm(this.#blobPath(id), { force: true }), rm(this.#textPath(id), { force: true })]);
  }
}

function visibleTo(caller: Caller, record: FileRecord): boolean {
  return caller.kind !== "managed" || record.ownerKeyId === caller.key.id;
}
