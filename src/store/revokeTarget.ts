/**
 * Which key `revokeKey(idOrPrefix)` means, decided the same way for both engines.
 */
import { type ApiError, invalidParameter, RegisteredError } from "../core/index.ts";

/** Thrown when a prefix names several keys: revoking a guess could cut off the wrong client (a 400 InvalidParameter). */
export class AmbiguousKeyPrefixError extends RegisteredError {
  constructor(
    readonly prefix: string,
    readonly ids: readonly string[],
  ) {
    super(`key prefix ${prefix} matches ${ids.length} keys (${ids.join(", ")}); revoke by id instead`);
    this.name = "AmbiguousKeyPrefixError";
  }

  clientError(): ApiError {
    return invalidParameter(this.message);
  }
}

/**
 * Among the keys whose id or prefix equals `idOrPrefix`: the id match if there is one (ids are
 * unique and win over prefixes), else the single prefix match; undefined when nothing matched.
 */
export function chooseRevokeTarget(candidates: readonly { id: string; prefix: string }[], idOrPrefix: string): string | undefined {
  if (candidates.some((key) => key.id === idOrPrefix)) return idOrPrefix;
  const byPrefix = candidates.filter((key) => key.prefix === idOrPrefix);
  if (byPrefix.length > 1)
    throw new AmbiguousKeyPrefixError(
      idOrPrefix,
      byPrefix.map((key) => key.id),
    );
  return byPrefix[0]?.id;
}
