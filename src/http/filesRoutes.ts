/**
 * The Files APIs (protocol.md §10): OpenAI-compatible `/compatible-mode/v1/files` (what qwen-long's
 * `fileid://` ids come from) and the legacy native `/api/v1/files`. Everything here lives in one
 * encapsulated plugin scope, so the multipart parser and the authentication hook apply to these
 * routes only. Errors are thrown as ApiError and rendered by the app's error handler
 * (OpenAI-shaped under /compatible-mode/, DashScope-shaped elsewhere).
 */
import multipart, { type MultipartFile } from "@fastify/multipart";
import type { FastifyInstance, FastifyReply, FastifyRequest } from "fastify";
import { ApiError, invalidParameter } from "../core/index.ts";
import { type Caller, type Gateway, cleanFilename, fileErrors, isFilePurpose, type FileListFilter, type FileService } from "../gateway/index.ts";
import type { FileRecord } from "../store/index.ts";
import { fieldText, multipartFailure } from "./multipart.ts";
import { authenticateCaller, baseUrlOf, queryOf, type Query } from "./requestValues.ts";

export interface FileRouteDeps {
  files: FileService;
  gateway: Gateway;
}

export const COMPAT_FILES_PATH = "/compatible-mode/v1/files";
export const NATIVE_FILES_PATH = "/api/v1/files";

/** Default and largest `limit` of the OpenAI-compatible list. */
const DEFAULT_LIST_LIMIT = 20;
const MAX_LIST_LIMIT = 2000;
/** Default and largest `page_size` of the native list. */
const DEFAULT_PAGE_SIZE = 10;
const MAX_PAGE_SIZE = 100;
/** Files one native upload may carry. */
const MAX_NATIVE_FILES = 10;

/** The real server's refusal of a missing or wrong purpose on the native upload (upload-file-error capture), OpenAI-shaped even there. */
export const NATIVE_PURPOSE_ERROR = {
  error: { message: "'purpose' must be 'file-extract'", type: "invalid_request_error", param: "purpose", code: null },
} as const;

/** A file as the OpenAI-compatible API shows it (upload/get/list captures); `status_details` only for failed files. */
export interface CompatFileObject {
  id: string;
  object: "file";
  bytes: number;
  filename: string;
  purpose: FileRecord["purpose"];
  status: FileRecord["status"];
  created_at: number;
  status_details?: string;
}

export function compatFileObject(record: FileRecord): CompatFileObject {
  const object: CompatFileObject = {
    id: record.id,
    object: "file",
    bytes: record.bytes,
    filename: record.filename,
    purpose: record.purpose,
    status: record.status,
    created_at: Math.floor(record.createdAt / 1000),
  };
  if (record.statusDetails !== null) object.status_details = record.statusDetails;
  return object;
}

/** A file as the native API shows it (list-files / get-file captures); `purpose` only in the single-file view, as there. */
export function nativeFileObject(record: FileRecord, contentUrl: string, withPurpose: boolean): Record<string, unknown> {
  return {
    // The real API has a numeric row id beside the string file id; ours is derived from the id's random hex.
    id: Number.parseInt(record.id.slice(-12), 16),
    name: record.filename,
    description: record.description ?? "",
    ...(withPurpose ? { purpose: record.purpose } : {}),
    size: record.bytes,
    md5: record.md5,
    region: "local",
    file_id: record.id,
    url: contentUrl,
    user_id: "",
    api_key_id: record.ownerKeyId ?? "",
    gmt_create: gmtCreate(record.createdAt),
  };
}

/** "YYYY-MM-DD HH:mm:ss" in UTC. */
function gmtCreate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 19).replace("T", " ");
}

/** Epoch ms of the start (UTC) of a YYYYMMDD day; 400 for anything else. */
export function parseDay(name: string, value: string): number {
  const match = /^(\d{4})(\d{2})(\d{2})$/.exec(value);
  const time = match ? Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3])) : Number.NaN;
  const date = new Date(time);
  if (!match || Number.isNaN(time) || date.getUTCMonth() !== Number(match[2]) - 1 || date.getUTCDate() !== Number(match[3])) {
    throw invalidParameter(`'${name}' must be a date as YYYYMMDD, got "${value}".`);
  }
  return time;
}

function parseInteger(name: string, value: string | undefined, fallback: number, min: number, max: number): number {
  if (value === undefined || value === "") return fallback;
  const number = /^\d+$/.test(value) ? Number(value) : Number.NaN;
  if (!Number.isSafeInteger(number) || number < min || number > max)
    throw invalidParameter(`'${name}' must be an integer from ${min} to ${max}, got "${value}".`);
  return number;
}

function callerOf(request: FastifyRequest): Caller {
  const caller = request.fileCaller;
  if (caller === null) throw new Error("files route reached without an authenticated caller");
  return caller;
}

/** The URL a client downloads a file's bytes from (native `url` field). */
function contentUrl(request: FastifyRequest, id: string): string {
  return `${baseUrlOf(request, false)}${COMPAT_FILES_PATH}/${id}/content`;
}

/** A file part read to memory, or the fact it went past the size limit. */
interface ReadFile {
  fieldname: string;
  filename: string;
  bytes: Buffer;
  tooLarge: boolean;
}

/** Every part of a multipart body: files read to memory (size limit noted, not thrown), fields as text. */
async function readMultipart(request: FastifyRequest): Promise<{ files: ReadFile[]; fields: Map<string, string[]> }> {
  if (!request.isMultipart()) throw invalidParameter("The request body must be multipart/form-data.");
  const files: ReadFile[] = [];
  const fields = new Map<string, string[]>();
  try {
    for await (const part of request.parts()) {
      if (part.type === "file") {
        const file = part as MultipartFile;
        const bytes = await file.toBuffer();
        files.push({ fieldname: file.fieldname, filename: file.filename, bytes, tooLarge: file.file.truncated });
      } else {
        const values = fields.get(part.fieldname) ?? [];
        values.push(fieldText(part.fieldname, part.value));
        fields.set(part.fieldname, values);
      }
    }
  } catch (error) {
    // The multipart parser's refusals (no boundary, truncated body, too many parts) are the client's mistakes.
    throw multipartFailure(error);
  }
  return { files, fields };
}

/** The list filter of the OpenAI-compatible list's query. */
function compatListFilter(query: Query): FileListFilter {
  const filter: FileListFilter = { limit: parseInteger("limit", query.limit, DEFAULT_LIST_LIMIT, 1, MAX_LIST_LIMIT) };
  if (query.after) filter.after = query.after;
  if (query.purpose) {
    if (!isFilePurpose(query.purpose)) throw fileErrors.badPurpose();
    filter.purpose = query.purpose;
  }
  // create_after: from the start of that day on; create_before: up to the start of that day.
  if (query.create_after) filter.createdAfter = parseDay("create_after", query.create_after);
  if (query.create_before) filter.createdBefore = parseDay("create_before", query.create_before);
  return filter;
}

/** Registers both Files APIs in their own plugin scope (multipart parser and authentication included). */
export function registerFileRoutes(app: FastifyInstance, deps: FileRouteDeps): void {
  const { files, gateway } = deps;
  app.register(async (scope) => {
    await scope.register(multipart, {
      throwFileSizeLimit: false,
      limits: { fileSize: files.maxBytes, files: MAX_NATIVE_FILES, fields: 50, parts: 100, fieldSize: 64 * 1024 },
    });
    scope.decorateRequest("fileCaller", null);
    scope.addHook("onRequest", async (request) => {
      request.fileCaller = await authenticateCaller(gateway, request);
    });

    // ---- OpenAI-compatible ----

    scope.post(COMPAT_FILES_PATH, async (request, reply) => {
      const { files: parts, fields } = await readMultipart(request);
      const purpose = fields.get("purpose")?.at(-1);
      if (purpose === undefined || !isFilePurpose(purpose)) throw fileErrors.badPurpose();
      const file = parts.find((part) => part.fieldname === "file");
      if (file === undefined) throw invalidParameter("Required parameter 'file' missing from request.");
      if (file.tooLarge) throw fileErrors.tooLarge(files.maxBytes);
      const record = await files.upload(callerOf(request), file.filename, file.bytes, purpose);
      return reply.send(compatFileObject(record));
    });

    scope.get(COMPAT_FILES_PATH, async (request, reply) => {
      const list = await files.list(callerOf(request), compatListFilter(queryOf(request)));
      return reply.send({ object: "list", data: list.files.map(compatFileObject), has_more: list.hasMore });
    });

    scope.get<{ Params: { id: string } }>(`${COMPAT_FILES_PATH}/:id`, async (request, reply) => {
      return reply.send(compatFileObject(await files.get(callerOf(request), request.params.id)));
    });

    scope.delete<{ Params: { id: string } }>(`${COMPAT_FILES_PATH}/:id`, async (request, reply) => {
      const record = await files.delete(callerOf(request), request.params.id);
      return reply.send({ id: record.id, object: "file", deleted: true });
    });

    scope.get<{ Params: { id: string } }>(`${COMPAT_FILES_PATH}/:id/content`, async (request, reply) => {
      const { record, bytes } = await files.content(callerOf(request), request.params.id);
      return sendBytes(reply, record, bytes);
    });

    // ---- Legacy native ----

    scope.post(NATIVE_FILES_PATH, async (request, reply) => {
      const { files: parts, fields } = await readMultipart(request);
      // Required, and only "file-extract" (the real server refuses an empty body with this too).
      const purpose = fields.get("purpose")?.at(-1);
      if (purpose !== "file-extract") return reply.code(400).type("application/json").send(NATIVE_PURPOSE_ERROR);
      const uploads = parts.filter((part) => part.fieldname === "files" || part.fieldname === "file");
      if (uploads.length === 0) throw invalidParameter("Required parameter 'files' missing from request.");
      const descriptions = fields.get("descriptions") ?? fields.get("description") ?? [];
      const uploaded: { name: string; file_id: string }[] = [];
      const failed: { name: string; code: string; message: string }[] = [];
      const caller = callerOf(request);
      for (const [index, part] of uploads.entries()) {
        const name = part.filename;
        try {
          if (part.tooLarge) throw fileErrors.tooLarge(files.maxBytes);
          const record = await files.upload(caller, name, part.bytes, purpose, descriptions[index] ?? null);
          uploaded.push({ name: record.filename, file_id: record.id });
        } catch (error) {
          if (!(error instanceof ApiError) || error.status >= 500) throw error;
          failed.push({ name: safeName(name), code: error.code, message: error.message });
        }
      }
      return reply.send({ data: { uploaded_files: uploaded, failed_uploads: failed }, request_id: request.id });
    });

    scope.get(NATIVE_FILES_PATH, async (request, reply) => {
      const query = queryOf(request);
      const pageNo = parseInteger("page_no", query.page_no, 1, 1, 1_000_000);
      const pageSize = parseInteger("page_size", query.page_size, DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE);
      const page = await files.page(callerOf(request), pageNo, pageSize);
      return reply.send({
        data: {
          total: page.total,
          files: page.files.map((record) => nativeFileObject(record, contentUrl(request, record.id), false)),
          page_size: pageSize,
          page_no: pageNo,
        },
        request_id: request.id,
      });
    });

    scope.get<{ Params: { id: string } }>(`${NATIVE_FILES_PATH}/:id`, async (request, reply) => {
      const record = await files.get(callerOf(request), request.params.id);
      return reply.send({ data: nativeFileObject(record, contentUrl(request, record.id), true), request_id: request.id });
    });

    scope.delete<{ Params: { id: string } }>(`${NATIVE_FILES_PATH}/:id`, async (request, reply) => {
      await files.delete(callerOf(request), request.params.id);
      return reply.send({ request_id: request.id });
    });
  });
}

/** A file name fit to echo back (directories dropped; "" when unusable). */
function safeName(name: string): string {
  try {
    return cleanFilename(name);
  } catch {
    return "";
  }
}

function sendBytes(reply: FastifyReply, record: FileRecord, bytes: Buffer): FastifyReply {
  return reply
    .type(record.filename.endsWith(".jsonl") ? "application/jsonl" : "application/octet-stream")
    .header("Content-Disposition", `attachment; filename*=UTF-8''${encodeURIComponent(record.filename)}`)
    .send(bytes);
}

declare module "fastify" {
  interface FastifyRequest {
    /** Who called a Files API route (set by that scope's onRequest hook; null elsewhere). */
    fileCaller: Caller | null;
  }
}
