/**
 * The gateway's durable state: managed API keys and the usage ledger. One interface, two
 * implementations (SQLite for zero setup, PostgreSQL for several gateway instances).
 * Times are epoch milliseconds.
 */

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

/** Token counts of one request, or summed over many. */
export interface TokenCounts {
  inputTokens: number;
  outputTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  imageTokens: number;
  videoTokens: number;
  audioTokens: number;
}

/** One request, as the ledger keeps it. */
export interface UsageRecord extends TokenCounts {
  requestId: string;
  /** When the request arrived. */
  time: number;
  /** Managed key id; null for static keys (`api_keys`) and open servers. */
  keyId: string | null;
  workspace: string | null;
  /** Served model name ("" when the request failed before naming a known model). */
  model: string;
  /** Which API: "text-generation", "chat.completions", "tokenizer", … */
  endpoint: string;
  /** "llama", or the upstream kind ("vllm", "dashscope", …). */
  backend: string;
  /** Upstream replica URL; null for the embedded engine. */
  replica: string | null;
  stream: boolean;
  /** Time to the first event; null when none was produced. */
  ttftMs: number | null;
  durationMs: number;
  /** HTTP status of the answer (200 for SSE streams, even when they end with an error frame). */
  status: number;
  /** DashScope error code when the request failed (also for stream error frames); null on success. */
  code: string | null;
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

export interface Store extends KeyStore, UsageStore {
  readonly kind: "sqlite" | "postgres";
  close(): Promise<void>;
}
