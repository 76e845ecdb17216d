/**
 * Per-key rate limits: requests per minute, tokens per minute, requests in flight. Counters live
 * in memory (one instance) or in Redis (several instances enforce one limit together).
 */

export interface KeyLimits {
  rpm: number | null;
  tpm: number | null;
  concurrency: number | null;
}

export interface Admission {
  /** Managed key id the counters belong to. */
  keyId: string;
  limits: KeyLimits;
  /** Tokens charged now: input tokens + max output tokens; corrected by `settle`. */
  tokens: number;
  /** Unique per request (the request id): names the concurrency lease. */
  leaseId: string;
  /** A lease not settled by then is dropped (a crashed instance must not hold slots forever). */
  leaseTtlMs: number;
  /** Epoch ms; defaults to Date.now(). */
  now?: number | undefined;
}

export type LimitKind = "rpm" | "tpm" | "concurrency";

export type AdmitResult = { ok: true; at: number } | { ok: false; limit: LimitKind; retryAfterMs: number };

export interface Settlement {
  keyId: string;
  leaseId: string;
  /** `at` from the admission: the correction goes to the minute the tokens were charged to. */
  admittedAt: number;
  /** Real tokens minus charged tokens (usually negative: max_tokens is rarely used up). */
  tokenDelta: number;
}

export interface LimitCounters {
  /** Atomically checks every limit and, only if all pass, counts the request, its tokens and its lease. */
  admit(admission: Admission): Promise<AdmitResult>;
  /** Corrects the token count and frees the lease. Safe to call once per admitted request. */
  settle(settlement: Settlement): Promise<void>;
  close(): Promise<void>;
}
