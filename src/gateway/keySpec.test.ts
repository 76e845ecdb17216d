import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../core/errors.ts";
import { parseExpiry, parseKeySpec, parsePastTime } from "./keySpec.ts";
import { estimateTokens } from "./tokenCharge.ts";

const NOW = Date.parse("2026-11-26T00:00:00Z");
const invalid = (error: unknown) => error instanceof ApiError && error.code === "InvalidParameter";

describe("key specs", () => {
  it("reads the admin API's and the CLI's key fields alike", () => {
    assert.deepEqual(parseKeySpec({ name: "a", models: "qwen-plus, qwen-max", rpm: "60", tpm: 1000, concurrency: 2, workspace: "ws", expires: "30d" }, NOW), {
      name: "a",
      models: ["qwen-plus", "qwen-max"],
      rpm: 60,
      tpm: 1000,
      concurrency: 2,
      workspace: "ws",
      expiresAt: NOW + 30 * 86_400_000,
    });
    assert.equal(parseKeySpec({ name: "a", models: "*" }, NOW).models, null);
    assert.equal(parseKeySpec({ name: "a" }, NOW).expiresAt, null);
    for (const bad of [
      {},
      { name: "" },
      { name: "a", rpm: 0 },
      { name: "a", tpm: 1.5 },
      { name: "a", models: 3 },
      { name: "a", expires: "soon" },
      { name: "a", expires: "2020-01-01" },
    ]) {
      assert.throws(() => parseKeySpec(bad, NOW), invalid, JSON.stringify(bad));
    }
  });

  it("expiry: durations ahead, ISO dates, epoch ms; past times: durations back", () => {
    assert.equal(parseExpiry("12h", NOW), NOW + 12 * 3_600_000);
    assert.equal(parseExpiry("2027-01-01T00:00:00Z", NOW), Date.parse("2027-01-01T00:00:00Z"));
    assert.equal(parseExpiry(NOW + 5, NOW), NOW + 5);
    assert.equal(parseExpiry("never", NOW), null);
    assert.equal(parsePastTime("24h", NOW), NOW - 86_400_000);
    assert.equal(parsePastTime("2026-11-01", NOW), Date.parse("2026-11-01"));
    assert.equal(parsePastTime(String(NOW - 7), NOW), NOW - 7);
    assert.throws(() => parsePastTime("yesterday", NOW), invalid);
  });

  it("limits and an expiry the stores cannot hold are refused, for the admin API and the CLI alike", () => {
    // 1e21 is an integer to JS and reached SQLite as a REAL; rpm/concurrency are INTEGER in PostgreSQL.
    for (const [field, value] of [
      ["rpm", "1e21"],
      ["rpm", 2 ** 31],
      ["concurrency", 1e21],
      ["concurrency", "99999999999"],
      ["tpm", 1e300],
      ["tpm", "9007199254740993"],
      ["rpm", "Infinity"],
      ["tpm", -5],
    ] as const) {
      assert.throws(
        () => parseKeySpec({ name: "a", [field]: value }, NOW),
        (e: unknown) => invalid(e) && new RegExp(`^${field} must be a positive integer of at most \\d+`).test((e as Error).message),
        `${field}: ${value}`,
      );
    }
    assert.deepEqual(parseKeySpec({ name: "a", rpm: "2147483647", concurrency: 2 ** 31 - 1, tpm: Number.MAX_SAFE_INTEGER }, NOW), {
      name: "a",
      models: null,
      rpm: 2 ** 31 - 1,
      tpm: Number.MAX_SAFE_INTEGER,
      concurrency: 2 ** 31 - 1,
      workspace: null,
      expiresAt: null,
    });
    for (const expires of [1e21, "99999999999d", "99999999999999999d", 8.64e15 + 1]) {
      assert.throws(
        () => parseKeySpec({ name: "a", expires }, NOW),
        (e: unknown) => invalid(e) && /^expires is not a time this server can represent/.test((e as Error).message),
        String(expires),
      );
    }
    assert.equal(parseExpiry(8.64e15, NOW), 8.64e15);
  });

  it("past times no Date can hold (400 digits, 10^17 days) are refused, naming the bound and cut short", () => {
    const digits = "9".repeat(400);
    assert.throws(
      () => parsePastTime(digits, NOW, "since"),
      (e: unknown) => {
        const message = (e as Error).message;
        return invalid(e) && message.startsWith("since is not a time this server can represent") && message.length < 400;
      },
    );
    assert.throws(
      () => parsePastTime("99999999999999999d", NOW, "--until"),
      (e: unknown) => invalid(e) && /^--until is not a time this server can represent/.test((e as Error).message),
    );
    assert.throws(() => parsePastTime("9007199254740993", NOW), invalid);
    assert.throws(
      () => parsePastTime("soon", NOW, "since"),
      (e: unknown) => invalid(e) && /^since is not a time: "soon"/.test((e as Error).message),
    );
    assert.equal(parsePastTime("8640000000000000", NOW), 8.64e15);
  });

  it("token estimate without a tokenizer: 4 ASCII characters or 1 other character per token", () => {
    assert.equal(estimateTokens(""), 0);
    assert.equal(estimateTokens("abcdefgh"), 2);
    assert.equal(estimateTokens("代码改变世界"), 6);
  });
});
