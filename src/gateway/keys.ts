import { createHash, randomBytes, timingSafeEqual } from "node:crypto";
import { invalidParameter } from "../core/index.ts";
import { AmbiguousKeyPrefixError, type ApiKeyRecord, type KeyStore } from "../store/index.ts";

const SECRET_PREFIX = "sk-os-";
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/** Characters of the secret shown after creation (`sk-os-` + 8): enough to tell keys apart, too few to guess the rest. */
const SHOWN_LENGTH = SECRET_PREFIX.length + 8;

/** A new secret: `sk-os-` and 40 base62 characters (~238 bits) from the system CSPRNG. */
export function generateSecret(): string {
  let body = "";
  while (body.length < 40) {
    for (const byte of randomBytes(48)) {
      // 248 = 4 x 62: rejecting the rest keeps every character equally likely.
      if (byte < 248 && body.length < 40) body += BASE62[byte % 62];
    }
  }
  return SECRET_PREFIX + body;
}

export function hashSecret(secret: string): string {
  return createHash("sha256").update(secret).digest("hex");
}

export interface NewKey {
  name: string;
  models?: string[] | null;
  rpm?: number | null;
  tpm?: number | null;
  concurrency?: number | null;
  workspace?: string | null;
  expiresAt?: number | null;
}

export interface CreatedKey {
  record: ApiKeyRecord;
  /** Shown once, never stored. */
  secret: string;
}

/** Why a presented key is not usable. */
export type KeyRefusal = "unknown" | "revoked" | "expired";

interface CachedKey {
  record: ApiKeyRecord;
  until: number;
}

/**
 * Managed API keys over a KeyStore: creation (secret shown once, only its SHA-256 kept), listing,
 * revocation, and per-request lookup. Lookups are cached for `cacheMs`, so a revocation made on
 * another gateway instance takes effect there within that time (on this one, at once).
 */
export class KeyService {
  readonly #store: KeyStore;
  readonly #cacheMs: number;
  readonly #cache = new Map<string, CachedKey>();
  #anyKeys: { value: boolean; until: number } | undefined;

  constructor(store: KeyStore, options: { cacheMs?: number } = {}) {
    this.#store = store;
    this.#cacheMs = options.cacheMs ?? 5000;
  }

  async create(key: NewKey, now = Date.now()): Promise<CreatedKey> {
    const secret = generateSecret();
    const record: ApiKeyRecord = {
      id: `key_${randomBytes(8).toString("hex")}`,
      name: key.name,
      prefix: secret.slice(0, SHOWN_LENGTH),
      hash: hashSecret(secret),
      models: key.models && key.models.length > 0 ? [...key.models] : null,
      rpm: key.rpm ?? null,
      tpm: key.tpm ?? null,
      concurrency: key.concurrency ?? null,
      workspace: key.workspace ?? null,
      createdAt: now,
      expiresAt: key.expiresAt ?? null,
      revokedAt: null,
    };
    await this.#store.insertKey(record);
    this.#anyKeys = { value: true, until: Date.now() + this.#cacheMs };
    return { record, secret };
  }

  list(): Promise<ApiKeyRecord[]> {
    return this.#store.listKeys();
  }

  /** Revokes by id or exact display prefix; 400 when a prefix names several keys. */
  async revoke(idOrPrefix: string, now = Date.now()): Promise<ApiKeyRecord | undefined> {
    let record: ApiKeyRecord | undefined;
    try {
      record = await this.#store.revokeKey(idOrPrefix, now);
    } catch (error) {
      if (error instanceof AmbiguousKeyPrefixError) throw invalidParameter(error.message);
      throw error;
    }
    if (record) this.#cache.delete(record.hash);
    return record;
  }

  /** Whether any managed key exists (then every request must carry a key). */
  async anyKeys(): Promise<boolean> {
    const now = Date.now();
    if (this.#anyKeys && (this.#anyKeys.value || this.#anyKeys.until > now)) return this.#anyKeys.value;
    const value = (await this.#store.countKeys()) > 0;
    this.#anyKeys = { value, until: now + this.#cacheMs };
    return value;
  }

  /** The usable key for a presented secret, or why there is none. */
  async lookup(secret: string, now = Date.now()): Promise<ApiKeyRecord | KeyRefusal> {
    const hash = hashSecret(secret);
    let cached = this.#cache.get(hash);
    if (!cached || cached.until <= now) {
      this.#cache.delete(hash);
      const record = await this.#store.findKeyByHash(hash);
      if (!record) return "unknown";
      cached = { record, until: now + this.#cacheMs };
      if (this.#cache.size > 10_000) this.#cache.clear();
      this.#cache.set(hash, cached);
    }
    const { record } = cached;
    // The store found it by hash; compare again in constant time so no code path leaks a partial match.
    if (!timingSafeEqual(Buffer.from(record.hash, "hex"), Buffer.from(hash, "hex"))) return "unknown";
    if (record.revokedAt !== null && record.revokedAt <= now) return "revoked";
    if (record.expiresAt !== null && record.expiresAt <= now) return "expired";
    return record;
  }
}

/** A key as listings show it: everything but the hash. */
export function publicKeyView(record: ApiKeyRecord): Omit<ApiKeyRecord, "hash"> {
  const { hash: _hash, ...view } = record;
  return view;
}
