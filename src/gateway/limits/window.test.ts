import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { bucketOf, elapsedInWindow, estimate, fits, fitsAfter, previousWeight, retryAfterMs, settleBucket, WINDOW_MS } from "./window.ts";

/** Start of an arbitrary minute bucket, so tests read as offsets into it. */
const T0 = 28_333_333 * WINDOW_MS;

describe("window buckets", () => {
  it("buckets are whole minutes; elapsed and weight restart at each", () => {
    assert.equal(bucketOf(T0), 28_333_333);
    assert.equal(bucketOf(T0 + WINDOW_MS - 1), 28_333_333);
    assert.equal(bucketOf(T0 + WINDOW_MS), 28_333_334);
    assert.equal(bucketOf(0), 0);
    assert.equal(elapsedInWindow(T0), 0);
    assert.equal(elapsedInWindow(T0 + 59_999), 59_999);
    assert.equal(elapsedInWindow(T0 + 60_000), 0);
    assert.equal(previousWeight(T0), 1);
    assert.equal(previousWeight(T0 + 30_000), 0.5);
    assert.ok(Math.abs(previousWeight(T0 + 59_999) - 1 / 60_000) < 1e-15);
  });

  it("estimate weights the previous bucket by its overlap with the window", () => {
    assert.equal(estimate(10, 3, T0), 13);
    assert.equal(estimate(10, 3, T0 + 15_000), 10.5);
    assert.equal(estimate(10, 3, T0 + 30_000), 8);
    assert.equal(estimate(0, 7, T0 + 45_000), 7);
    // Continuous across the boundary when nothing more is counted: the current count becomes
    // the previous one at full weight.
    assert.ok(Math.abs(estimate(10, 3, T0 + 59_999) - 3) < 0.001);
    assert.equal(estimate(3, 0, T0 + WINDOW_MS), 3);
  });

  it("fits admits up to and including the limit", () => {
    assert.equal(fits(0, 9, 1, 10, T0), true);
    assert.equal(fits(0, 10, 1, 10, T0), false);
    assert.equal(fits(10, 0, 5, 10, T0 + 30_000), true); // 5 + 5 <= 10
    assert.equal(fits(10, 0, 5, 10, T0 + 29_999), false);
    assert.equal(fits(0, 0, 0, 0, T0), true);
    assert.equal(fits(0, 0, 1, 0, T0), false);
  });

  it("fitsAfter shifts buckets across boundaries", () => {
    // current 10 of 10 at 45 s in: the next bucket starts with previous = 10 at full weight.
    assert.equal(fitsAfter(0, 10, 1, 10, T0 + 45_000, 15_000), false);
    assert.equal(fitsAfter(0, 10, 1, 10, T0 + 45_000, 15_000 + 6_000), true);
    // Two buckets on, nothing counts any more.
    assert.equal(fitsAfter(100, 100, 10, 10, T0, 2 * WINDOW_MS), true);
    assert.equal(fitsAfter(100, 100, 10, 10, T0, 2 * WINDOW_MS - 1), false);
  });

  it("settleBucket accepts the current and previous buckets only", () => {
    assert.equal(settleBucket(T0 + 5, T0 + 10), bucketOf(T0));
    assert.equal(settleBucket(T0 + 5, T0 + WINDOW_MS + 59_999), bucketOf(T0));
    assert.equal(settleBucket(T0 + 5, T0 + 2 * WINDOW_MS), null);
  });
});

describe("retryAfterMs", () => {
  /** The defining property: the smallest whole ms ≥ 1 after which the request fits. */
  function assertMinimalWait(previous: number, current: number, cost: number, limit: number, now: number): number {
    const wait = retryAfterMs(previous, current, cost, limit, now);
    assert.ok(Number.isInteger(wait) && wait >= 1, `wait ${wait} must be a positive integer`);
    assert.equal(fitsAfter(previous, current, cost, limit, now, wait), true, `fits after ${wait}`);
    if (wait > 1) assert.equal(fitsAfter(previous, current, cost, limit, now, wait - 1), false, `not after ${wait - 1}`);
    return wait;
  }

  it("waits within the window while the previous bucket's weight decays", () => {
    // 10 * (1 - t/60000) + 0 + 1 <= 10  ⇔  t >= 6000.
    assert.equal(assertMinimalWait(10, 0, 1, 10, T0), 6000);
    // Same, 2 s into the bucket: 4 s left.
    assert.equal(assertMinimalWait(10, 0, 1, 10, T0 + 2000), 4000);
    // With a current count: 10 * w + 5 + 1 <= 10  ⇔  w <= 0.4  ⇔  elapsed >= 36000.
    assert.equal(assertMinimalWait(10, 5, 1, 10, T0), 36_000);
  });

  it("rounds a fractional solution up", () => {
    // 7 * (1 - t/60000) <= 4  ⇔  t >= 25714.28…
    assert.equal(assertMinimalWait(7, 0, 1, 5, T0), 25_715);
    // Elapsed not on a whole second.
    assertMinimalWait(7, 0, 1, 5, T0 + 12_345);
  });

  it("waits for the next bucket when the current count alone is too much", () => {
    // current 10 of 10: at the next bucket, 10 * (1 - e/60000) + 1 <= 10  ⇔  e >= 6000.
    assert.equal(assertMinimalWait(0, 10, 1, 10, T0 + 15_000), 45_000 + 6000);
    // Previous counts too but cannot help: room in this bucket is negative.
    assert.equal(assertMinimalWait(30, 10, 1, 10, T0 + 15_000), 45_000 + 6000);
  });

  it("exactly at the next bucket's start when the current count then fits", () => {
    // 0 + 9 + 1 <= 10 fails only because the previous bucket still weighs 8 * 0.75.
    // In-window: 8 * w + 9 + 1 <= 10 ⇔ w <= 0 ⇔ the bucket's end.
    assert.equal(assertMinimalWait(8, 9, 1, 10, T0 + 15_000), 45_000);
    // Last millisecond of a bucket.
    assert.equal(assertMinimalWait(0, 10, 1, 10, T0 + 59_999), 1 + 6000);
  });

  it("two windows when the cost fills the whole limit", () => {
    // tpm 10, cost 10, current 10: only once both buckets are empty.
    assert.equal(assertMinimalWait(0, 10, 10, 10, T0), 2 * WINDOW_MS);
    assert.equal(assertMinimalWait(0, 10, 10, 10, T0 + 30_000), 90_000);
  });

  it("a cost above the limit never fits: one window", () => {
    assert.equal(retryAfterMs(0, 0, 11, 10, T0), WINDOW_MS);
    assert.equal(retryAfterMs(0, 0, 1, 0, T0 + 5), WINDOW_MS);
  });

  it("is at least 1 even when the request would fit now", () => {
    assert.equal(retryAfterMs(0, 0, 1, 10, T0), 1);
    assert.equal(retryAfterMs(10, 0, 1, 10, T0 + 30_000), 1);
  });

  it("the boundary case where the answer is exactly 1 ms", () => {
    // 60 * (1 - (e + 1)/60000) + 0 + 1 <= 60 at e = 999 ⇔ e + 1 >= 1000.
    assert.equal(assertMinimalWait(60, 0, 1, 60, T0 + 999), 1);
  });

  it("matches a brute-force search on random inputs", () => {
    let seed = 12345;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 150; i++) {
      const limit = 1 + Math.floor(random() * 50);
      const cost = Math.floor(random() * (limit + 1));
      const previous = Math.floor(random() * 2 * limit);
      const current = Math.floor(random() * (limit + 2));
      const now = T0 + Math.floor(random() * WINDOW_MS);
      if (fits(previous, current, cost, limit, now)) continue;
      let expected = 1;
      while (!fitsAfter(previous, current, cost, limit, now, expected)) expected++;
      assert.equal(retryAfterMs(previous, current, cost, limit, now), expected, JSON.stringify({ previous, current, cost, limit, now }));
    }
  });
});
