/**
 * Input checks and rejection results shared by both counter implementations, so that bad input
 * fails the same way everywhere (and never reaches Redis as a malformed INCRBY or PEXPIRE).
 */

import type { Admission, AdmitResult, KeyLimits, LimitKind, Settlement } from "./types.ts";
import { CONCURRENCY_RETRY_AFTER_MS, retryAfterMs } from "./window.ts";

/** Throws a RangeError/TypeError naming the bad field; returns nothing on valid input. */
export function checkAdmission(admission: Admission): void {
  checkId("keyId", admission.keyId);
  checkId("leaseId", admission.leaseId);
  checkLimits(admission.limits);
  if (!Number.isSafeInteger(admission.tokens) || admission.tokens < 0) {
    throw new RangeError(`limits: tokens must be a non-negative integer, got ${admission.tokens}`);
  }
  if (!Number.isFinite(admission.leaseTtlMs) || admission.leaseTtlMs <= 0) {
    throw new RangeError(`limits: leaseTtlMs must be a positive number, got ${admission.leaseTtlMs}`);
  }
  if (admission.now !== undefined && !Number.isFinite(admission.now)) {
    throw new RangeError(`limits: now must be a finite epoch ms, got ${admission.now}`);
  }
}

/** Throws a RangeError/TypeError naming the bad field; returns nothing on valid input. */
export function checkSettlement(settlement: Settlement): void {
  checkId("keyId", settlement.keyId);
  checkId("leaseId", settlement.leaseId);
  if (!Number.isFinite(settlement.admittedAt)) {
    throw new RangeError(`limits: admittedAt must be a finite epoch ms, got ${settlement.admittedAt}`);
  }
  if (!Number.isSafeInteger(settlement.tokenDelta)) {
    throw new RangeError(`limits: tokenDelta must be an integer, got ${settlement.tokenDelta}`);
  }
}

/** The rejection for a concurrency limit: no computable wait, see CONCURRENCY_RETRY_AFTER_MS. */
export function concurrencyRejection(): AdmitResult {
  return { ok: false, limit: "concurrency", retryAfterMs: CONCURRENCY_RETRY_AFTER_MS };
}

/** The rejection for a sliding-window limit, with the wait solved from the counts that failed. */
export function windowRejection(
  limit: Exclude<LimitKind, "concurrency">,
  counts: { previous: number; current: number },
  cost: number,
  max: number,
  now: number,
): AdmitResult {
  return { ok: false, limit, retryAfterMs: retryAfterMs(counts.previous, counts.current, cost, max, now) };
}

function checkId(field: string, value: unknown): void {
  if (typeof value !== "string" || value.length === 0) {
    throw new TypeError(`limits: ${field} must be a non-empty string`);
  }
}

function checkLimits(limits: KeyLimits): void {
  for (const kind of ["rpm", "tpm", "concurrency"] as const) {
    const value = limits[kind];
    if (value !== null && (!Number.isFinite(value) || value < 0)) {
      throw new RangeError(`limits: ${kind} must be null or a non-negative number, got ${value}`);
    }
  }
}
