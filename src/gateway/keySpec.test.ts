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
      name: "a", models: ["qwen-plus", "qwen-max"], rpm: 60, tpm: 1000, concurrency: 2, workspace: "ws", expiresAt: NOW + 30 * 86_400_000,
    });
    assert.equal(parseKeySpec({ name: "a", models: "*" }, NOW).models, null);
    assert.equal(parseKeySpec({ name: "a" }, NOW).expiresAt, null);
    for (const bad of [{}, { name: "" }, { name: "a", rpm: 0 }, { name: "a", tpm: 1.5 }, { name: "a", models: 3 }, { name: "a", expires: "soon" }, { name: "a", expires: "2020-01-01" }]) {
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

  it("token estimate without a tokenizer: 4 ASCII characters or 1 other character per token", () => {
    assert.equal(estimateTokens(""), 0);
    assert.equal(estimateTokens("abcdefgh"), 2);
    assert.equal(estimateTokens("代码改变世界"), 6);
  });
});
