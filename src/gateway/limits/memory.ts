/**
 * Rate-limit counters in this process's memory: zero setup, right for a single gateway instance
 * (several instances would each allow the full limit; use RedisLimitCounters for those).
 */

import { checkAdmission, checkSettlement, concurrencyRejection, windowRejection } from "./admission.ts";
import type { Admission, AdmitResult, LimitCounters, Settlement } from "./types.ts";
import { bucketOf, fits, settleBucket } from "./window.ts";

export interface MemoryLimitCountersOptions {
  /** Clock in epoch ms (default Date.now): tests pass a controlled one. */
  now?: () => number;
}

/** Counts per minute bucket: only the current and previous buckets are kept. */
type Buckets = Map<number, number>;

interface KeyState {
  rpm: Buckets;
  tpm: Buckets;
  /** Lease id → expiry (epoch ms); a lease is live while expiry > now. */
  leases: Map<string, number>;
}

/**
 * Per-key sliding-window counters in process memory. Every method runs synchronously inside its
 * promise, so admissions are atomic without locks. Stale state is pruned lazily: a key's state on
 * each access, and every key's state once per minute bucket, so idle keys do not accumulate.
 */
export class MemoryLimitCounters implements LimitCounters {
  readonly #keys = new Map<string, KeyState>();
  readonly #now: () => number;
  #sweptBucket = Number.NEGATIVE_INFINITY;

  constructor(options: MemoryLimitCountersOptions = {}) {
    this.#now = options.now ?? Date.now;
  }

  async admit(admission: Admission): Promise<AdmitResult> {
    checkAdmission(admission);
    const now = admission.now ?? this.#now();
    this.#sweep(now);
    const bucket = bucketOf(now);
    const state = this.#state(admission.keyId);
    prune(state, now);
    const { rpm, tpm, concurrency } = admission.limits;

    if (concurrency !== null && state.leases.size >= concurrency) return concurrencyRejection();
    const requests = counts(state.rpm, bucket);
    if (rpm !== null && !fits(requests.previous, requests.current, 1, rpm, now)) {
      return windowRejection("rpm", requests, 1, rpm, now);
    }
    const tokens = counts(state.tpm, bucket);
    if (tpm !== null && !fits(tokens.previous, tokens.current, admission.tokens, tpm, now)) {
      return windowRejection("tpm", tokens, admission.tokens, tpm, now);
    }

    if (rpm !== null) state.rpm.set(bucket, requests.current + 1);
    if (tpm !== null) state.tpm.set(bucket, tokens.current + admission.tokens);
    // Leases are recorded even without a concurrency limit: settle uses them to apply its token
    // correction once only.
    state.leases.set(admission.leaseId, now + admission.leaseTtlMs);
    return { ok: true, at: now };
  }

  async settle(settlement: Settlement): Promise<void> {
    checkSettlement(settlement);
    const now = this.#now();
    const state = this.#keys.get(settlement.keyId);
    if (state === undefined) return;
    prune(state, now);
    if (!state.leases.delete(settlement.leaseId)) return;
    const bucket = settleBucket(settlement.admittedAt, now);
    if (bucket === null || settlement.tokenDelta === 0) return;
    const charged = state.tpm.get(bucket);
    // No bucket: the admission counted no tokens (no tpm limit then), so there is nothing to correct.
    if (charged !== undefined) state.tpm.set(bucket, Math.max(0, charged + settlement.tokenDelta));
  }

  async close(): Promise<void> {
    this.#keys.clear();
  }

  #state(keyId: string): KeyState {
    let state = this.#keys.get(keyId);
    if (state === undefined) {
      state = { rpm: new Map(), tpm: new Map(), leases: new Map() };
      this.#keys.set(keyId, state);
    }
    return state;
  }

  /** Once per minute bucket: prunes every key and forgets keys with nothing left. */
  #sweep(now: number): void {
    const bucket = bucketOf(now);
    if (bucket <= this.#sweptBucket) return;
    this.#sweptBucket = bucket;
    for (const [keyId, state] of this.#keys) {
      prune(state, now);
      if (state.rpm.size === 0 && state.tpm.size === 0 && state.leases.size === 0) this.#keys.delete(keyId);
    }
  }
}

/** The counts of the bucket before `bucket` and of `bucket` itself (0 when absent). */
function counts(buckets: Buckets, bucket: number): { previous: number; current: number } {
  return { previous: buckets.get(bucket - 1) ?? 0, current: buckets.get(bucket) ?? 0 };
}

/** Drops expired leases and buckets older than the previous one. */
function prune(state: KeyState, now: number): void {
  const oldest = bucketOf(now) - 1;
  for (const buckets of [state.rpm, state.tpm]) {
    for (const bucket of buckets.keys()) if (bucket < oldest) buckets.delete(bucket);
  }
  for (const [leaseId, expiresAt] of state.leases) if (expiresAt <= now) state.leases.delete(leaseId);
}
