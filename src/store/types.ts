/**
 * The gateway's durable state: managed API keys, the usage ledger and uploaded files' metadata. One interface, two
 * implementations (SQLite for zero setup, PostgreSQL for several gateway instances).
 * Times are epoch milliseconds.
 */
import type { TokenCounts, UsageRecord } from "../core/index.ts";

/** One request's usage and token counts are the core's vocabulary; the store keeps them. */
export type { TokenCounts, UsageRecord };

export interface ApiKeyRecord {
  /** Stable public id, e.g. "key_3f9c…" (what `keys list`, `keys revoke` and the ledger use). */
  id: string;
  name: string;
  /** The first characters of the secret, shown instead of it (e.g. "sk-os-AbCd1234"). */
  prefix: string;
  /** SHA-256 of the secret, lower-case hex. The secret itself is never stored. */
  hash: string;
  /** Served model names this key may call; null = every model. */
  models: string[] | null;
  /** Requests per minute; null = unlimited. */
  rpm: number | null;
  /** Tokens per minute (input + output); null = unlimited. */
  tpm: number | null;
  /** Requests in flight at once; null = unlimited. */
  concurrency: number | null;
  /** When set, requests must send `X-DashScope-WorkSpace` with this value. */
  workspace: string | null;
  createdAt: number;
  expiresAt: number | null;
  revokedAt: number | null;
}

export interface UsageFilter {
  /** Inclusive lower bound on `time`. */
  since?: number;
  /** Exclusive upper bound on `time`. */
  until?: number;
  keyId?: string;
  model?: string;
}

/** Sums over the matching records, grouped by key and model. */
export interface UsageTotals extends TokenCounts {
  keyId: string | null;
  model: string;
  requests: number;
  /** Records with a non-null code. */
  errors: number;
}

export interface KeyStore {
  /** Throws if the id or hash already exists. */
  insertKey(record: ApiKeyRecord): Promise<void>;
  /** The key with this secret hash, revoked/expired ones included (the caller decides). */
  findKeyByHash(hash: string): Promise<ApiKeyRecord | undefined>;
  /** Every key, oldest first. */
  listKeys(): Promise<ApiKeyRecord[]>;
  /** Marks the key with this id (or this exact prefix) revoked at `at`; the updated record, or undefined if none matched. Revoking twice keeps the first time. */
  revokeKey(idOrPrefix: string, at: number): Promise<ApiKeyRecord | undefined>;
  /** How many keys exist (revoked included): any key at all turns authentication on. */
  countKeys(): Promise<number>;
}

export interface UsageStore {
  /** Writes the records in one transaction (all or none). Duplicate request ids are kept as they come. */
  appendUsage(records: readonly UsageRecord[]): Promise<void>;
  /** Totals grouped by (keyId, model), ordered by keyId then model (nulls first). */
  usageTotals(filter: UsageFilter): Promise<UsageTotals[]>;
  /** The matching records, oldest first, at most `limit`. */
  usageRecords(filter: UsageFilter, limit: number): Promise<UsageRecord[]>;
}

/** Metadata of one uploaded file (the bytes and extracted text live on disk, not in the store). */
export interface FileRecord {
  /** "file-fe-…" (purpose file-extract) or "file-batch-…" (purpose batch). */
  id: string;
  /** The managed key that uploaded it; null for static/admin keys and open servers. */
  ownerKeyId: string | null;
  filename: string;
  bytes: number;
  purpose: "file-extract" | "batch";
  status: "processed" | "error";
  /** Why processing failed (status "error"); null otherwise. */
  statusDetails: string | null;
  description: string | null;
  /** MD5 of the bytes, base64 (as the native files API shows it). */
  md5: string;
  createdAt: number;
}

export interface FileFilter {
  /** Only files of this owner (null: files without an owner); undefined: any owner. */
  ownerKeyId?: string | null;
  purpose?: FileRecord["purpose"];
  /** Paging cursor: only files listed after the file with this id (older ones, in list order). An unknown id yields nothing. */
  after?: string;
  /** At most this many files. */
  limit: number;
  /** Inclusive lower bound on `createdAt`. */
  createdAfter?: number;
  /** Exclusive upper bound on `createdAt`. */
  createdBefore?: number;
}

export interface FileStore {
  /** Throws if the id already exists. */
  insertFile(record: FileRecord): Promise<void>;
  getFile(id: string): Promise<FileRecord | undefined>;
  /** Newest first (ties: id in descending byte order); `hasMore` when more match beyond `limit`. */
  listFiles(filter: FileFilter): Promise<{ files: FileRecord[]; hasMore: boolean }>;
  /** Whether a file with this id existed (and is now gone). */
  deleteFile(id: string): Promise<boolean>;
}

export interface Store extends KeyStore, UsageStore, FileStore {
  readonly kind: "sqlite" | "postgres";
  close(): Promise<void>;
}
