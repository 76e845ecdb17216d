/**
 * How store records map to table rows, shared by both dialects so they read and write the same
 * columns the same way. Column names are snake_case; the SQL text lives in `sqlText.ts`.
 */
import type { ApiKeyRecord, FileRecord, TokenCounts, UsageRecord, UsageTotals } from "./types.ts";

/** `api_keys` columns, in the order `keyParams` yields their values. */
export const KEY_COLUMNS = [
  "id",
  "name",
  "prefix",
  "hash",
  "models",
  "rpm",
  "tpm",
  "concurrency",
  "workspace",
  "created_at",
  "expires_at",
  "revoked_at",
] as const;

/** `usage` columns, in the order `usageParams` yields their values. */
export const USAGE_COLUMNS = [
  "request_id",
  "time",
  "key_id",
  "workspace",
  "model",
  "endpoint",
  "backend",
  "replica",
  "stream",
  "input_tokens",
  "output_tokens",
  "reasoning_tokens",
  "cached_tokens",
  "image_tokens",
  "video_tokens",
  "audio_tokens",
  "ttft_ms",
  "duration_ms",
  "status",
  "code",
] as const;

/** `files` columns, in the order `fileParams` yields their values. */
export const FILE_COLUMNS = ["id", "owner_key_id", "filename", "bytes", "purpose", "status", "status_details", "description", "md5", "created_at"] as const;

/** A bound parameter value both drivers accept. */
export type SqlValue = string | number | boolean | null;

/** An `api_keys` row as either driver returns it (bigints already parsed to numbers). */
export interface KeyRow {
  id: string;
  name: string;
  prefix: string;
  hash: string;
  models: string | null;
  rpm: number | null;
  tpm: number | null;
  concurrency: number | null;
  workspace: string | null;
  created_at: number;
  expires_at: number | null;
  revoked_at: number | null;
}

/** A `files` row (bigints already parsed to numbers). */
export interface FileRow {
  id: string;
  owner_key_id: string | null;
  filename: string;
  bytes: number;
  purpose: string;
  status: string;
  status_details: string | null;
  description: string | null;
  md5: string;
  created_at: number;
}

/** A `usage` row; `stream` is 0/1 in SQLite and a boolean in PostgreSQL. */
/** The token-count columns of the usage table (and of its totals). */
interface TokenColumns {
  input_tokens: number;
  output_tokens: number;
  reasoning_tokens: number;
  cached_tokens: number;
  image_tokens: number;
  video_tokens: number;
  audio_tokens: number;
}

export interface UsageRow extends TokenColumns {
  request_id: string;
  time: number;
  key_id: string | null;
  workspace: string | null;
  model: string;
  endpoint: string;
  backend: string;
  replica: string | null;
  stream: number | boolean;
  ttft_ms: number | null;
  duration_ms: number;
  status: number;
  code: string | null;
}

/** One group of the totals query (see `usageTotalsSql`). */
export interface TotalsRow extends TokenColumns {
  key_id: string | null;
  model: string;
  requests: number;
  errors: number;
}

/** The values of `KEY_COLUMNS` for a key; `models` is stored as JSON text so `[]` and null stay distinct. */
export function keyParams(key: ApiKeyRecord): SqlValue[] {
  return [
    key.id,
    key.name,
    key.prefix,
    key.hash,
    key.models === null ? null : JSON.stringify(key.models),
    key.rpm,
    key.tpm,
    key.concurrency,
    key.workspace,
    key.createdAt,
    key.expiresAt,
    key.revokedAt,
  ];
}

/**
 * The values of `USAGE_COLUMNS` for a record. `encodeBool` exists because better-sqlite3 cannot
 * bind booleans (SQLite stores 0/1) while PostgreSQL has a real boolean column.
 */
export function usageParams(record: UsageRecord, encodeBool: (value: boolean) => SqlValue): SqlValue[] {
  return [
    record.requestId,
    record.time,
    record.keyId,
    record.workspace,
    record.model,
    record.endpoint,
    record.backend,
    record.replica,
    encodeBool(record.stream),
    record.inputTokens,
    record.outputTokens,
    record.reasoningTokens,
    record.cachedTokens,
    record.imageTokens,
    record.videoTokens,
    record.audioTokens,
    record.ttftMs,
    record.durationMs,
    record.status,
    record.code,
  ];
}

/** The values of `FILE_COLUMNS` for a file. */
export function fileParams(file: FileRecord): SqlValue[] {
  return [file.id, file.ownerKeyId, file.filename, file.bytes, file.purpose, file.status, file.statusDetails, file.description, file.md5, file.createdAt];
}

export function fileFromRow(row: FileRow): FileRecord {
  return {
    id: row.id,
    ownerKeyId: row.owner_key_id,
    filename: row.filename,
    bytes: row.bytes,
    purpose: checkedValue("files.purpose", row.purpose, ["file-extract", "batch"] as const),
    status: checkedValue("files.status", row.status, ["processed", "error"] as const),
    statusDetails: row.status_details,
    description: row.description,
    md5: row.md5,
    createdAt: row.created_at,
  };
}

/** A stored enum value, refused loudly when it is not one of the known ones (a corrupt row). */
function checkedValue<T extends string>(column: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) throw new Error(`${column} holds an unknown value: ${value}`);
  return value as T;
}

export function keyFromRow(row: KeyRow): ApiKeyRecord {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    hash: row.hash,
    models: row.models === null ? null : parseModels(row.models),
    rpm: row.rpm,
    tpm: row.tpm,
    concurrency: row.concurrency,
    workspace: row.workspace,
    createdAt: row.created_at,
    expiresAt: row.expires_at,
    revokedAt: row.revoked_at,
  };
}

export function usageFromRow(row: UsageRow): UsageRecord {
  return {
    requestId: row.request_id,
    time: row.time,
    keyId: row.key_id,
    workspace: row.workspace,
    model: row.model,
    endpoint: row.endpoint,
    backend: row.backend,
    replica: row.replica,
    stream: row.stream === true || row.stream === 1,
    ...tokensFromRow(row),
    ttftMs: row.ttft_ms,
    durationMs: row.duration_ms,
    status: row.status,
    code: row.code,
  };
}

function tokensFromRow(row: TokenColumns): TokenCounts {
  return {
    inputTokens: row.input_tokens,
    outputTokens: row.output_tokens,
    reasoningTokens: row.reasoning_tokens,
    cachedTokens: row.cached_tokens,
    imageTokens: row.image_tokens,
    videoTokens: row.video_tokens,
    audioTokens: row.audio_tokens,
  };
}

export function totalsFromRow(row: TotalsRow): UsageTotals {
  return {
    keyId: row.key_id,
    model: row.model,
    requests: row.requests,
    errors: row.errors,
    ...tokensFromRow(row),
  };
}

/** Reads the stored JSON model list, refusing anything but an array of strings (a corrupt row should fail loudly, not widen a key's access). */
function parseModels(text: string): string[] {
  const parsed: unknown = JSON.parse(text);
  if (!Array.isArray(parsed) || !parsed.every((item): item is string => typeof item === "string")) {
    throw new Error(`api_keys.models is not a JSON array of strings: ${text}`);
  }
  return parsed;
}
