/**
 * The behaviour every LimitCounters implementation must have, as node:test cases: memory.test.ts
 * and redis.test.ts both run it, which is what keeps the two implementations interchangeable.
 */

import assert from "node:assert/strict";
import { randomUUID } from "node:crypto";
import { describe, it } from "node:test";
import type { Admission, AdmitResult, KeyLimits, LimitCounters } from "../../src/gateway/limits/types.ts";
import { CONCURRENCY_RETRY_AFTER_MS, WINDOW_MS } from "../../src/gateway/limits/window.ts";

/** Makes fresh counters reading the given clock (epoch ms). */
export type MakeLimitCounters = (now: () => number) => Promise<LimitCounters>;

/** Start of an arbitrary minute bucket: cases place requests at offsets into it. */
export const CONTRACT_T0 = 28_333_333 * WINDOW_MS;

const NO_LIMITS: KeyLimits = { rpm: null, tpm: null, concurrency: null };
const LEASE_TTL_MS = 10 * WINDOW_MS;

/** A clock a case moves by hand. */
class TestClock {
  constructor(public now: number) {}
  set(offsetFromT0: number): void {
    this.now = CONTRACT_T0 + offsetFromT0;
  }
}

interface Case {
  counters: LimitCounters;
  clock: TestClock;
  /** A key id unique to this case, so cases sharing a Redis prefix cannot interfere. */
  keyId: string;
  /** An admission for `keyId` with fresh lease id; `limits` defaults to none. */
  request(limits: Partial<KeyLimits>, fields?: Partial<Admission>): Admission;
}

/**
 * Registers the contract cases under `describe(name)`. With `skipReason` every case is still
 * registered, with `{ skip: skipReason }`, so the runner reports each one as skipped and why.
 */
export function describeLimitContract(name: string, make: MakeLimitCounters, skipReason?: string): void {
  const test = (title: string, body: (c: Case) => Promise<void>): void => {
    it(title, { skip: skipReason ?? false }, async () => {
      const clock = new TestClock(CONTRACT_T0);
      const counters = await make(() => clock.now);
      const keyId = `key_${randomUUID()}`;
      const request = (limits: Partial<KeyLimits>, fields: Partial<Admission> = {}): Admission => ({
        keyId,
        limits: { ...NO_LIMITS, ...limits },
        tokens: 0,
        leaseId: randomUUID(),
        leaseTtlMs: LEASE_TTL_MS,
        ...fields,
      });
      try {
        await body({ counters, clock, keyId, request });
      } finally {
        await counters.close();
      }
    });
  };

  describe(name, () => {
    test("null limits always admit, at the clock's time", async ({ counters, clock, request }) => {
      for (let i = 0; i < 100; i++) {
        assert.deepEqual(await counters.admit(request({}, { tokens: 1_000_000 })), { ok: true, at: clock.now });
      }
    });

    test("an explicit `now` in the admission overrides the clock", async ({ counters, request }) => {
      assert.deepEqual(await counters.admit(request({ rpm: 1 }, { now: CONTRACT_T0 + 1234 })), { ok: true, at: CONTRACT_T0 + 1234 });
    });

    test("rpm N admits N, then rejects naming rpm with a solved retryAfter", async ({ counters, request }) => {
      for (let i = 0; i < 3; i++) assert.equal((await counters.admit(request({ rpm: 3 }))).ok, true);
      // Current bucket 3 of 3 at its start: the next bucket must decay 3 to 2, i.e. 60 s + 20 s.
      assert.deepEqual(await counters.admit(request({ rpm: 3 })), { ok: false, limit: "rpm", retryAfterMs: 80_000 });
    });

    test("the window slides across a bucket boundary", async ({ counters, clock, request }) => {
      const rpm10 = request.bind(null, { rpm: 10 });
      clock.set(30_000);
      for (let i = 0; i < 10; i++) assert.equal((await counters.admit(rpm10())).ok, true);
      assert.deepEqual(await counters.admit(rpm10()), { ok: false, limit: "rpm", retryAfterMs: 36_000 });
      // Next bucket's start: the previous 10 still weigh fully.
      clock.set(WINDOW_MS);
      const rejected = await counters.admit(rpm10());
      assert.deepEqual(rejected, { ok: false, limit: "rpm", retryAfterMs: 6000 });
      // After exactly the advertised wait: 10 * 0.9 + 1 <= 10, and only one.
      clock.set(WINDOW_MS + 5999);
      assert.equal((await counters.admit(rpm10())).ok, false);
      clock.set(WINDOW_MS + 6000);
      assert.equal((await counters.admit(rpm10())).ok, true);
      assert.equal((await counters.admit(rpm10())).ok, false);
      // Half way: 10 * 0.5 + 1 counted = 6, room for 4 more.
      clock.set(WINDOW_MS + 30_000);
      for (let i = 0; i < 4; i++) assert.equal((await counters.admit(rpm10())).ok, true);
      assert.equal((await counters.admit(rpm10())).ok, false);
      // Two buckets later nothing counts.
      clock.set(3 * WINDOW_MS);
      for (let i = 0; i < 10; i++) assert.equal((await counters.admit(rpm10())).ok, true);
    });

    test("tpm charges tokens; a negative settle delta frees capacity", async ({ counters, request, keyId }) => {
      const first = request({ tpm: 1000 }, { tokens: 600 });
      const admitted = await counters.admit(first);
      assert.ok(admitted.ok);
      const rejected = await counters.admit(request({ tpm: 1000 }, { tokens: 600 }));
      assert.equal(rejected.ok, false);
      assert.equal(!rejected.ok && rejected.limit, "tpm");
      assert.ok(!rejected.ok && rejected.retryAfterMs > 0);
      // The first request really used 200.
      await counters.settle({ keyId, leaseId: first.leaseId, admittedAt: admitted.at, tokenDelta: -400 });
      assert.equal((await counters.admit(request({ tpm: 1000 }, { tokens: 800 }))).ok, true);
      assert.equal((await counters.admit(request({ tpm: 1000 }, { tokens: 1 }))).ok, false);
    });

    test("a positive settle delta consumes capacity", async ({ counters, request, keyId }) => {
      const first = request({ tpm: 1000 }, { tokens: 500 });
      const admitted = await counters.admit(first);
      assert.ok(admitted.ok);
      await counters.settle({ keyId, leaseId: first.leaseId, admittedAt: admitted.at, tokenDelta: 400 });
      assert.equal((await counters.admit(request({ tpm: 1000 }, { tokens: 101 }))).ok, false);
      assert.equal((await counters.admit(request({ tpm: 1000 }, { tokens: 100 }))).ok, true);
    });

    test("a settle correction never takes a bucket below zero", async ({ counters, request, keyId }) => {
      const first = request({ tpm: 1000 }, { tokens: 100 });
      const admitted = await counters.admit(first);
      assert.ok(admitted.ok);
      await counters.settle({ keyId, leaseId: first.leaseId, admittedAt: admitted.at, tokenDelta: -5000 });
      assert.equal((await counters.admit(request({ tpm: 1000 }, { tokens: 1000 }))).ok, true);
      assert.equal((await counters.admit(request({ tpm: 1000 }, { tokens: 1 }))).ok, false);
    });

    test("a settle correction goes to the bucket the tokens were charged to", async ({ counters, clock, request, keyId }) => {
      clock.set(59_000);
      const first = request({ tpm: 1000 }, { tokens: 1000 });
      const admitted = await counters.admit(first);
      assert.ok(admitted.ok);
      // Half way through the next bucket the previous 1000 still weigh 500.
      clock.set(WINDOW_MS + 30_000);
      assert.equal((await counters.admit(request({ tpm: 1000 }, { tokens: 600 }))).ok, false);
      await counters.settle({ keyId, leaseId: first.leaseId, admittedAt: admitted.at, tokenDelta: -1000 });
      assert.equal((await counters.admit(request({ tpm: 1000 }, { tokens: 1000 }))).ok, true);
    });

    test("settle applies once per lease, ignores unknown leases and never touches rpm", async ({ counters, request, keyId }) => {
      const limits = { rpm: 2, tpm: 1000 };
      const first = request(limits, { tokens: 600 });
      const admitted = await counters.admit(first);
      assert.ok(admitted.ok);
      await counters.settle({ keyId, leaseId: "never-admitted", admittedAt: admitted.at, tokenDelta: -600 });
      assert.equal((await counters.admit(request(limits, { tokens: 401 }))).ok, false);
      await counters.settle({ keyId, leaseId: first.leaseId, admittedAt: admitted.at, tokenDelta: -300 });
      await counters.settle({ keyId, leaseId: first.leaseId, admittedAt: admitted.at, tokenDelta: -300 });
      // 300 charged: 700 fit, 701 would not (a second correction would have freed 300 more).
      assert.equal((await counters.admit(request(limits, { tokens: 701 }))).ok, false);
      assert.equal((await counters.admit(request(limits, { tokens: 700 }))).ok, true);
      // Two requests counted; settling did not give one back.
      const third = await counters.admit(request(limits));
      assert.equal(!third.ok && third.limit, "rpm");
      await counters.settle({ keyId: `other_${keyId}`, leaseId: first.leaseId, admittedAt: admitted.at, tokenDelta: -1 });
    });

    test("a cost above the tpm limit is rejected, for one window", async ({ counters, request }) => {
      assert.deepEqual(await counters.admit(request({ tpm: 100 }, { tokens: 101 })), {
        ok: false,
        limit: "tpm",
        retryAfterMs: WINDOW_MS,
      });
      assert.equal((await counters.admit(request({ tpm: 100 }, { tokens: 100 }))).ok, true);
    });

    test("concurrency N: leases hold slots until settled or expired", async ({ counters, clock, request, keyId }) => {
      const limits = { concurrency: 2 };
      const a = request(limits, { leaseTtlMs: 5000 });
      const b = request(limits, { leaseTtlMs: 20_000 });
      const admittedA = await counters.admit(a);
      assert.ok(admittedA.ok);
      assert.equal((await counters.admit(b)).ok, true);
      assert.deepEqual(await counters.admit(request(limits)), {
        ok: false,
        limit: "concurrency",
        retryAfterMs: CONCURRENCY_RETRY_AFTER_MS,
      });
      await counters.settle({ keyId, leaseId: a.leaseId, admittedAt: admittedA.at, tokenDelta: 0 });
      const c = request(limits, { leaseTtlMs: 5000 });
      assert.equal((await counters.admit(c)).ok, true);
      assert.equal((await counters.admit(request(limits))).ok, false);
      // c's lease expires at +5000 (b's at +20000): one slot frees, exactly at the expiry.
      clock.set(4999);
      assert.equal((await counters.admit(request(limits))).ok, false);
      clock.set(5000);
      assert.equal((await counters.admit(request(limits, { leaseTtlMs: 60_000 }))).ok, true);
      assert.equal((await counters.admit(request(limits))).ok, false);
    });

    test("concurrency is checked first, then rpm, then tpm", async ({ counters, request }) => {
      const limits = { rpm: 1, tpm: 10, concurrency: 1 };
      assert.equal((await counters.admit(request(limits, { tokens: 10 }))).ok, true);
      const all = await counters.admit(request(limits, { tokens: 10 }));
      assert.equal(!all.ok && all.limit, "concurrency");
      const rpmAndTpm = await counters.admit(request({ ...limits, concurrency: null }, { tokens: 10 }));
      assert.equal(!rpmAndTpm.ok && rpmAndTpm.limit, "rpm");
      const tpmOnly = await counters.admit(request({ ...limits, concurrency: null, rpm: null }, { tokens: 10 }));
      assert.equal(!tpmOnly.ok && tpmOnly.limit, "tpm");
    });

    test("rejected admissions count nothing", async ({ counters, request }) => {
      const limits = { rpm: 5, tpm: 100 };
      assert.equal((await counters.admit(request(limits, { tokens: 90 }))).ok, true);
      // Rejected by tpm: must count neither a request nor tokens.
      for (let i = 0; i < 10; i++) assert.equal((await counters.admit(request(limits, { tokens: 20 }))).ok, false);
      for (let i = 0; i < 4; i++) assert.equal((await counters.admit(request(limits, { tokens: 2 }))).ok, true);
      const sixth = await counters.admit(request(limits, { tokens: 2 }));
      assert.equal(!sixth.ok && sixth.limit, "rpm");
      // Rejected by rpm: must not have counted its tokens (98 so far) nor taken a lease.
      const tokensOnly = { tpm: 100, concurrency: 7 };
      assert.equal((await counters.admit(request(tokensOnly, { tokens: 2 }))).ok, true);
      // Leases so far: 5 admitted requests plus the one above; a rejected one would make it 7+.
      assert.equal((await counters.admit(request({ concurrency: 7 }))).ok, true);
      assert.equal((await counters.admit(request({ concurrency: 7 }))).ok, false);
    });

    test("independent keys do not interfere", async ({ counters, request }) => {
      const limits = { rpm: 2, tpm: 10, concurrency: 2 };
      for (let i = 0; i < 2; i++) assert.equal((await counters.admit(request(limits, { tokens: 5 }))).ok, true);
      assert.equal((await counters.admit(request(limits, { tokens: 5 }))).ok, false);
      const other = `key_${randomUUID()}`;
      for (let i = 0; i < 2; i++) assert.equal((await counters.admit(request(limits, { keyId: other, tokens: 5 }))).ok, true);
      const third = await counters.admit(request(limits, { keyId: other, tokens: 5 }));
      assert.equal(!third.ok && third.limit, "concurrency");
    });

    test("50 concurrent admissions against rpm 10 admit exactly 10", async ({ counters, request }) => {
      const results: AdmitResult[] = await Promise.all(Array.from({ length: 50 }, () => counters.admit(request({ rpm: 10 }))));
      assert.equal(results.filter((result) => result.ok).length, 10);
      assert.ok(results.every((result) => result.ok || result.limit === "rpm"));
    });

    test("invalid input is refused, not counted", async ({ counters, request }) => {
      await assert.rejects(counters.admit(request({}, { tokens: -1 })), RangeError);
      await assert.rejects(counters.admit(request({}, { tokens: 1.5 })), RangeError);
      await assert.rejects(counters.admit(request({ rpm: Number.NaN })), RangeError);
      await assert.rejects(counters.admit(request({}, { keyId: "" })), TypeError);
      await assert.rejects(counters.settle({ keyId: "k", leaseId: "l", admittedAt: CONTRACT_T0, tokenDelta: 0.5 }), RangeError);
    });
  });
}
