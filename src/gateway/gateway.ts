import { errors, type ApiError, type TokenAdmission, type ModelRoute } from "../core/index.ts";
import type { UsageRecord } from "../store/index.ts";
import type { RequestAccount } from "./account.ts";
import { assertModelAllowed, type Authenticator } from "./auth.ts";
import type { KeyService } from "./keys.ts";
import type { LedgerWriter } from "./ledger.ts";
import type { LimitCounters, LimitKind } from "./limits/index.ts";
import { admissionCharge } from "./tokenCharge.ts";

/** Told about every request when its response has closed (metrics, access log). */
export type RequestObserver = (account: RequestAccount, record: UsageRecord) => void;

export interface GatewayOptions {
  auth: Authenticator;
  /** Managed keys (absent: only static/admin keys, or an open server). */
  keys?: KeyService | undefined;
  /** Per-key limit counters (absent: limits off). */
  limits?: LimitCounters | undefined;
  /** The usage ledger (absent: no ledger). */
  ledger?: LedgerWriter | undefined;
  /** How long a request may hold a concurrency lease if its instance dies (≥ the request timeout). */
  leaseTtlMs: number;
  observers?: RequestObserver[];
}

const NO_TOKEN_ADMISSION: TokenAdmission = async () => undefined;

function throttlingError(limit: LimitKind, retryAfterMs: number): ApiError {
  const error = limit === "tpm" ? errors.allocationQuota() : errors.rateQuota();
  return error.withRetryAfter(retryAfterMs / 1000);
}

/**
 * The gateway between the dialects and the backends: who is calling (keys, workspaces), what
 * they may use (model allow-lists), how much (per-key RPM/TPM/concurrency), and what they used
 * (usage ledger, metrics). Holds no per-request state across instances beyond the store and the
 * limit counters, so several instances can share one store and one Redis.
 */
export class Gateway {
  readonly auth: Authenticator;
  readonly keys: KeyService | undefined;
  readonly limits: LimitCounters | undefined;
  readonly ledger: LedgerWriter | undefined;
  readonly #leaseTtlMs: number;
  readonly #observers: RequestObserver[];

  constructor(options: GatewayOptions) {
    this.auth = options.auth;
    this.keys = options.keys;
    this.limits = options.limits;
    this.ledger = options.ledger;
    this.#leaseTtlMs = options.leaseTtlMs;
    this.#observers = options.observers ?? [];
  }

  observe(observer: RequestObserver): void {
    this.#observers.push(observer);
  }

  /** The model is resolved: checks the key may use it (403) and notes it on the account. */
  authorizeModel(account: RequestAccount, route: ModelRoute, requestedName: string): void {
    account.model = route.name;
    account.backend = route.backend.kind;
    assertModelAllowed(account.caller, route.name, requestedName);
  }

  /**
   * Cheap admission, before anything is downloaded or decoded: counts the request against the
   * key's RPM and takes its concurrency lease (429 with Retry-After when over). Returns the token
   * admission, which charges the prepared request's input + max output tokens against TPM. Both
   * are settled once, with the real tokens, when the request ends.
   */
  async admitRequest(account: RequestAccount, route: ModelRoute): Promise<TokenAdmission> {
    const caller = account.caller;
    const limits = this.limits;
    if (!limits || caller.kind !== "managed") return NO_TOKEN_ADMISSION;
    const { rpm, tpm, concurrency } = caller.key;
    if (rpm === null && tpm === null && concurrency === null) return NO_TOKEN_ADMISSION;
    // One lease per request (both admissions name it); its settlement corrects the tokens charged, if any.
    const lease = { keyId: caller.key.id, leaseId: account.requestId, leaseTtlMs: this.#leaseTtlMs };
    let charged: { at: number; tokens: number } | undefined;
    let settling = false;
    const settleAtEnd = (admittedAt: number) => {
      if (settling) return;
      settling = true;
      account.onEnd((usage) => {
        // The token correction goes to the minute the tokens were charged to; without a charge there is none.
        const settlement = charged
          ? { admittedAt: charged.at, tokenDelta: usage.inputTokens + usage.outputTokens - charged.tokens }
          : { admittedAt, tokenDelta: 0 };
        limits.settle({ keyId: lease.keyId, leaseId: lease.leaseId, ...settlement }).catch(() => undefined);
      });
    };
    if (rpm !== null || concurrency !== null) {
      const result = await limits.admit({ ...lease, limits: { rpm, tpm: null, concurrency }, tokens: 0 });
      if (!result.ok) throw throttlingError(result.limit, result.retryAfterMs);
      settleAtEnd(result.at);
    }
    if (tpm === null) return NO_TOKEN_ADMISSION;
    return async (request) => {
      const tokens = await admissionCharge(request, route);
      const result = await limits.admit({ ...lease, limits: { rpm: null, tpm, concurrency: null }, tokens });
      if (!result.ok) throw throttlingError(result.limit, result.retryAfterMs);
      charged = { at: result.at, tokens };
      settleAtEnd(result.at);
    };
  }

  /** The response has closed: settles limits, writes the ledger record, tells the observers. */
  complete(account: RequestAccount, status: number): UsageRecord {
    account.end();
    const record = account.record(status);
    // Unauthenticated requests are counted in metrics, not written: anyone could fill the ledger with them.
    if (status !== 401) this.ledger?.add(record);
    for (const observer of this.#observers) observer(account, record);
    return record;
  }

  async close(): Promise<void> {
    await this.ledger?.close();
    await this.limits?.close();
  }
}
