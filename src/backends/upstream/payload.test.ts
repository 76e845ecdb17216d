import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { z } from "zod";
import { ApiError } from "../../core/errors.ts";
import { parseUpstreamJson } from "./payload.ts";

const schema = z.looseObject({ items: z.array(z.looseObject({ name: z.string() })).nullish() });

function failure(text: string): ApiError {
  try {
    parseUpstreamJson(schema, text, "The engine sent a chunk");
  } catch (error) {
    assert.ok(error instanceof ApiError);
    return error;
  }
  assert.fail(`${text} was accepted`);
}

describe("parseUpstreamJson", () => {
  it("returns the payload, fields the schema does not name included", () => {
    assert.deepEqual(parseUpstreamJson(schema, '{"items":[{"name":"a","extra":1}],"id":"x"}', "A chunk"), { items: [{ name: "a", extra: 1 }], id: "x" });
  });

  it("refuses text that is not JSON as ModelUnavailable, quoting it (clipped)", () => {
    const error = failure(`{${"x".repeat(500)}`);
    assert.equal(error.status, 503);
    assert.equal(error.code, "ModelUnavailable");
    assert.match(error.message, /^The engine sent a chunk that is not JSON: \{x+…$/);
    assert.ok(error.message.length < 300);
  });

  it("names the first wrong field by its path", () => {
    assert.match(
      failure('{"items":[{"name":"a"},{"name":7}]}').message,
      /does not have the expected shape \(items\[1\]\.name: Invalid input: expected string, received number\)/,
    );
    assert.match(failure("[]").message, /\(the payload: Invalid input: expected object, received array\)/);
  });
});
