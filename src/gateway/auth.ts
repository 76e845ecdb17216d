import { createHash, timingSafeEqual } from "node:crypto";
import { errors } from "../core/index.ts";
import type { ApiKeyRecord } from "../store/index.ts";
import type { KeyService } from "./keys.ts";

const digest = (secret: string): Buffer => createHash("sha256").update(secret).digest();

/** Who is calling: decided once per request, before anything else runs. */
export type Caller =
  /** No key of any kind is configured: an open server. */
  | { kind: "open" }
  /** A key from config `api_keys` (every model, no limits). */
  | { kind: "static" }
  /** The admin key (config `admin_key`): may also call models, without limits. */
  | { kind: "admin" }
  | { kind: "managed"; key: ApiKeyRecord };

/** One set of fixed secrets, kept only as SHA-256 digests and compared in constant time. */
export class SecretSet {
  readonly #digests: Buffer[];

  constructor(secrets: readonly string[]) {
    this.#digests = secrets.filter((s) => s !== "").map(digest);
  }

  get size(): number {
    return this.#digests.length;
  }

  has(secret: string): boolean {
    const candidate = digest(secret);
    let found = false;
    for (const known of this.#digests) found = timingSafeEqual(candidate, known) || found;
    return found;
  }
}

/** The secret of `Authorization: Bearer <secret>`, if the header has that form. */
export function bearerSecret(authorization: string | undefined): string | undefined {
  const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
  return match?.[1];
}

export interface AuthOptions {
  staticKeys: readonly string[];
  adminKey?: string | undefined;
  /** Managed keys; absent when the gateway runs without a store. */
  keys?: KeyService | undefined;
}

/**
 * Authentication for the model APIs: static keys, the admin key and managed keys. With none
 * configured and no managed key created, the server is open. A managed key bound to a workspace
 * must come with that `X-DashScope-WorkSpace`.
 */
export class Authenticator {
  readonly #static: SecretSet;
  readonly #admin: SecretSet;
  readonly #keys: KeyService | undefined;

  constructor(options: AuthOptions) {
    this.#static = new SecretSet(options.staticKeys);
    this.#admin = new SecretSet(options.adminKey ? [options.adminKey] : []);
    this.#keys = options.keys;
  }

  get hasAdminKey(): boolean {
    return this.#admin.size > 0;
  }

  /** Whether any request needs a key right now. */
  async required(): Promise<boolean> {
    if (this.#static.size > 0 || this.#admin.size > 0) return true;
    return (await this.#keys?.anyKeys()) ?? false;
  }

  async authenticate(authorization: string | undefined, workspace: string | undefined): Promise<Caller> {
    const secret = bearerSecret(authorization);
    if (secret === undefined) {
      if (await this.required()) throw errors.invalidApiKey();
      return { kind: "open" };
    }
    if (this.#static.has(secret)) return { kind: "static" };
    if (this.#admin.has(secret)) return { kind: "admin" };
    const found = this.#keys ? await this.#keys.lookup(secret) : "unknown";
    if (typeof found === "string") {
      // A key sent to an open server is not an error (SDKs always send one).
      if (found === "unknown" && !(await this.required())) return { kind: "open" };
      throw errors.invalidApiKey();
    }
    if (found.workspace !== null && found.workspace !== workspace) {
      throw errors.accessDenied("Access denied: this API key is bound to a workspace; send its id in the X-DashScope-WorkSpace header.");
    }
    return { kind: "managed", key: found };
  }

  /** Checks the admin key (admin API). */
  authenticateAdmin(authorization: string | undefined): void {
    const secret = bearerSecret(authorization);
    if (secret === undefined || !this.#admin.has(secret)) throw errors.invalidApiKey();
  }
}

/** 403 unless the caller's key may use the model (by its served name or the name the client sent). */
export function assertModelAllowed(caller: Caller, servedName: string, requestedName: string): void {
  if (caller.kind !== "managed" || caller.key.models === null) return;
  if (caller.key.models.includes(servedName) || caller.key.models.includes(requestedName)) return;
  throw errors.accessDenied(`Access denied: this API key may not use model "${requestedName}".`);
}
