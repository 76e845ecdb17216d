import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "./errors.ts";
import { SlotPool } from "./slotPool.ts";

const never = new AbortController().signal;

describe("SlotPool", () => {
  it("hands out the best-scoring free slots, the lowest ones among equals (busy slots stay packed)", async () => {
    const pool = new SlotPool([0, 1, 2, 3], 4);
    const [a] = await pool.acquire(1, never);
    const [b] = await pool.acquire(1, never);
    assert.deepEqual([a, b], [0, 1]);
    pool.release([0]);
    assert.deepEqual(await pool.acquire(1, never), [0], "a released low slot is reused before higher free ones");
    assert.deepEqual(await pool.acquire(1, never, (slot) => (slot === 3 ? 10 : 0)), [3], "a better score wins");
    assert.deepEqual(await pool.acquire(1, never), [2]);
  });

  it("queues in order up to the bound, then refuses at once with 503 and Retry-After", async () => {
    const pool = new SlotPool(["x"], 1);
    await pool.acquire(1, never);
    const waiting = pool.acquire(1, never);
    assert.equal(pool.queued, 1);
    await assert.rejects(pool.acquire(1, never), (error: unknown) => error instanceof ApiError && error.status === 503 && error.retryAfterSeconds === 1);
    pool.release(["x"]);
    assert.deepEqual(await waiting, ["x"]);
  });

  it("a waiter whose signal aborts leaves the queue; n above the size is a 400; close rejects waiters", async () => {
    const pool = new SlotPool([1, 2], 4);
    await pool.acquire(2, never);
    const controller = new AbortController();
    const gone = pool.acquire(1, controller.signal);
    controller.abort(new Error("client gone"));
    await assert.rejects(gone, /client gone/);
    assert.equal(pool.queued, 0);
    await assert.rejects(pool.acquire(3, never), (error: unknown) => error instanceof ApiError && error.status === 400);
    const waiter = pool.acquire(1, never);
    pool.close();
    await assert.rejects(waiter, (error: unknown) => error instanceof ApiError && error.status === 503);
  });
});
