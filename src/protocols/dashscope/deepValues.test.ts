/**
 * Client values quoted in error messages are previewed (core jsonPreview), never stringified in
 * full: a value nested 100,000 levels deep, where a field wants a string, is a 400 naming the
 * field, not a stack overflow (it was a 500: JSON.stringify recursed in the message code).
 */
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../../core/errors.ts";
import { decodeChatCompletion } from "../openai/index.ts";
import { decodeGeneration } from "./index.ts";

/** A value nested `depth` levels (arrays or objects), built without recursion. */
function deep(depth: number, kind: "array" | "object"): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = kind === "array" ? [value] : { a: value };
  return value;
}

function badRequest(run: () => unknown, message: RegExp): void {
  assert.throws(run, (error: unknown) => {
    assert.ok(error instanceof ApiError, `an ApiError, not ${String(error)}`);
    assert.equal(error.status, 400);
    assert.match(error.message, message);
    assert.ok(error.message.length < 600, `a short message (${error.message.length} characters)`);
    return true;
  });
}

const user = { role: "user", content: "hi" };

describe("deep client values in error messages", () => {
  for (const kind of ["array", "object"] as const) {
    const value = deep(100_000, kind);

    it(`a ${kind} nested 100,000 levels as a message role`, () => {
      badRequest(() => decodeGeneration({ model: "m", input: { messages: [{ role: value, content: "hi" }] } }, "r"), /role must be one of/);
    });

    it(`a ${kind} nested 100,000 levels as response_format.type`, () => {
      badRequest(
        () => decodeGeneration({ model: "m", input: { messages: [user] }, parameters: { response_format: { type: value } } }, "r"),
        /response_format type from user is [[{]/,
      );
    });

    it(`a ${kind} nested 100,000 levels as a tool's type`, () => {
      badRequest(
        () => decodeChatCompletion({ model: "m", messages: [user], tools: [{ type: value, function: { name: "f" } }] }, "r"),
        /tools\[0\]\.type must be "function"/,
      );
    });

    it(`a ${kind} nested 100,000 levels as a logit_bias value`, () => {
      badRequest(
        () => decodeGeneration({ model: "m", input: { messages: [user] }, parameters: { logit_bias: { "1": value } } }, "r"),
        /logit_bias\[1\] must be a number/,
      );
    });
  }

  it("a 1 MB string is quoted cut short", () => {
    badRequest(() => decodeGeneration({ model: "m", input: { messages: [{ role: "x".repeat(1_000_000), content: "hi" }] } }, "r"), /got "x{100,}…/);
    badRequest(
      () => decodeGeneration({ model: "m", input: { messages: [user] }, parameters: { result_format: "y".repeat(1_000_000) } }, "r"),
      /result_format must be/,
    );
  });
});
