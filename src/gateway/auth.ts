import { createHash, timingSafeEqual } from "node:crypto";
import { errors } from "../core/errors.ts";

const digest = (secret: string): Buffer => createHash("sha256").update(secret).digest();

/**
 * Static API keys (config `api_keys`, env OPENSCOPE_API_KEYS). Keys are kept only as SHA-256
 * digests and compared in constant time. No keys configured = open server.
 */
export class StaticKeyAuth {
  readonly #digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.#digests = keys.map(digest);
  }

  get enabled(): boolean {
    return this.#digests.length > 0;
  }

  /** Throws 401 InvalidApiKey unless `Authorization: Bearer <key>` names a configured key. */
  check(authorization: string | undefined): void {
    if (!this.enabled) return;
    const match = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? "");
    if (!match) throw errors.invalidApiKey();
    const candidate = digest(match[1]!);
    let ok = false;
    for (const known of this.#digests) ok = timingSafeEqual(candidate, known) || ok;
    if (!ok) throw errors.invalidApiKey();
  }
}
