import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { clipText, errors, jsonPreview } from "./errors.ts";

/** An array nested `depth` levels, built without recursion. */
function deepArray(depth: number): unknown[] {
  const root: unknown[] = [];
  let node = root;
  for (let i = 1; i < depth; i++) {
    const child: unknown[] = [];
    node.push(child);
    node = child;
  }
  return root;
}

describe("jsonPreview", () => {
  it("is JSON.stringify for small values", () => {
    for (const value of [null, true, 0, -1.5, "x", 'a"b', ["a", 1], { a: 1, b: [null] }, {}, []]) {
      assert.equal(jsonPreview(value), JSON.stringify(value));
    }
  });

  it("writes null for what JSON cannot hold", () => {
    assert.equal(jsonPreview(undefined), "null");
    assert.equal(jsonPreview(Number.NaN), "null");
    assert.equal(jsonPreview(Number.POSITIVE_INFINITY), "null");
  });

  it("cuts long values at maxChars with an ellipsis", () => {
    const preview = jsonPreview("a".repeat(1_000_000));
    assert.equal(preview, `"${"a".repeat(119)}…`);
    assert.ok(jsonPreview(Array.from({ length: 100_000 }, (_, i) => i)).length <= 121);
    assert.ok(jsonPreview({ ["k".repeat(10_000)]: 1 }, 40).length <= 41);
  });

  it("never overflows the stack on deep values (100,000 levels) and shows deep levels as […]", () => {
    assert.equal(jsonPreview(deepArray(100_000)), "[[[[[…]]]]]");
    const deepObject: Record<string, unknown> = {};
    let node = deepObject;
    for (let i = 0; i < 100_000; i++) node = node.a = {};
    assert.equal(jsonPreview(deepObject), '{"a":{"a":{"a":{"a":{…}}}}}');
  });

  it("does not cut a surrogate pair in half", () => {
    const preview = jsonPreview("😀".repeat(100), 10);
    assert.ok(!/[\uD800-\uDBFF]…$/.test(preview), preview);
  });
});

describe("clipText", () => {
  it("keeps short text and cuts long text with an ellipsis", () => {
    assert.equal(clipText("abc"), "abc");
    assert.equal(clipText("abcdef", 3), "abc…");
    assert.equal(clipText("a😀", 2), "a…");
  });
});

describe("catalogue entries for transport errors", () => {
  it("have the statuses HTTP gives them", () => {
    assert.equal(errors.uriTooLong("x").status, 414);
    assert.equal(errors.expectationFailed().status, 417);
    assert.equal(errors.headersTooLarge(16384).status, 431);
    assert.equal(errors.malformedRequest("x").status, 400);
    assert.equal(errors.malformedRequest("x").code, "InvalidParameter");
    assert.equal(errors.clientClosed().status, 499);
    assert.equal(errors.serviceUnavailable("x").status, 503);
  });
});
