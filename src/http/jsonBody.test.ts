import assert from "node:assert/strict";
import { describe, it } from "node:test";
import type { ApiError } from "../core/errors.ts";
import { BAD_BODY, jsonNestsDeeperThan, MAX_JSON_DEPTH, parseJsonBody } from "./jsonBody.ts";

const nested = (depth: number, open = "[", close = "]") => open.repeat(depth) + close.repeat(depth);

describe("jsonNestsDeeperThan", () => {
  it("counts arrays and objects together, up to the bound inclusive", () => {
    assert.equal(jsonNestsDeeperThan(nested(3), 3), false);
    assert.equal(jsonNestsDeeperThan(nested(4), 3), true);
    assert.equal(jsonNestsDeeperThan('{"a":[{"b":[1]}]}', 4), false);
    assert.equal(jsonNestsDeeperThan('{"a":[{"b":[1]}]}', 3), true);
    // Siblings do not add up: depth is the deepest path, not the bracket count.
    assert.equal(jsonNestsDeeperThan(`[${Array.from({ length: 1000 }, () => "[[]]").join(",")}]`, 3), false);
  });

  it("ignores brackets inside strings, escaped quotes and backslashes included", () => {
    assert.equal(jsonNestsDeeperThan(JSON.stringify({ text: "[".repeat(10_000) }), 2), false);
    assert.equal(jsonNestsDeeperThan(JSON.stringify({ text: 'a\\"[[[[\\' }), 1), false);
    assert.equal(jsonNestsDeeperThan(JSON.stringify(["\\", [["x"]]]), 2), true);
    assert.equal(jsonNestsDeeperThan(JSON.stringify(['\\"[[[', ["x"]]), 2), false);
  });

  it("leaves malformed text to the parser (an unterminated string ends the scan)", () => {
    assert.equal(jsonNestsDeeperThan('["abc', 0), true);
    assert.equal(jsonNestsDeeperThan('"abc', 0), false);
  });

  it("scans a large body in linear time", () => {
    const body = JSON.stringify({ items: Array.from({ length: 100_000 }, (_, i) => ({ id: i, text: "some [text] {here}" })) });
    const started = performance.now();
    assert.equal(jsonNestsDeeperThan(body, MAX_JSON_DEPTH), false);
    assert.ok(performance.now() - started < 1000, "a 5 MB body scans in well under a second");
  });
});

describe("parseJsonBody", () => {
  const refusal = (result: ReturnType<typeof parseJsonBody>): ApiError => {
    assert.ok("error" in result, "refused");
    return result.error;
  };

  it("parses JSON, with or without a BOM", () => {
    assert.deepEqual(parseJsonBody('{"a":1}'), { value: { a: 1 } });
    assert.deepEqual(parseJsonBody('\uFEFF{"a":[1]}'), { value: { a: [1] } });
  });

  it("refuses empty and malformed bodies with the real server's message", () => {
    for (const text of ["", "  \n", "{", "{'a':1}", "NaN"]) {
      const error = refusal(parseJsonBody(text));
      assert.equal(error.status, 400);
      assert.equal(error.code, "InvalidParameter");
      assert.equal(error.message, BAD_BODY);
    }
  });

  it(`refuses bodies nested deeper than ${MAX_JSON_DEPTH} levels (100,000 levels included) before parsing`, () => {
    assert.ok("value" in parseJsonBody(nested(MAX_JSON_DEPTH)));
    for (const depth of [MAX_JSON_DEPTH + 1, 10_000, 100_000]) {
      for (const [open, close] of [
        ["[", "]"],
        ['{"a":', "}"],
      ]) {
        const error = refusal(parseJsonBody(`${open!.repeat(depth)}1${close!.repeat(depth)}`));
        assert.equal(error.status, 400);
        assert.equal(error.code, "InvalidParameter");
        assert.match(error.message, new RegExp(`deeper than ${MAX_JSON_DEPTH} levels`));
      }
    }
  });
});
