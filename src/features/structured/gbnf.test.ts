import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { gbnfLiteral, jsonSchemaGrammar } from "./gbnf.ts";

const rulesOf = (gbnf: string) => new Map(gbnf.split("\n").map((line) => line.split(" ::= ") as [string, string]));

describe("gbnfLiteral", () => {
  it("quotes text, escaping newlines, quotes and backslashes; non-ASCII as is", () => {
    assert.equal(gbnfLiteral("<tool_call>\n"), String.raw`"<tool_call>\n"`);
    assert.equal(gbnfLiteral('say "hi"'), String.raw`"say \"hi\""`);
    assert.equal(gbnfLiteral("a\\b\tc\r"), String.raw`"a\\b\tc\r"`);
    assert.equal(gbnfLiteral("杭州 ✓ 😀"), '"杭州 ✓ 😀"');
  });

  it("writes control characters as \\x escapes (llama.cpp has no \\b or \\f)", () => {
    assert.equal(gbnfLiteral("\b\f\u0001\u007f"), String.raw`"\x08\x0C\x01\x7F"`);
  });
});

describe("jsonSchemaGrammar (text)", () => {
  it("names every rule under the prefix and the value rule prefix-root", () => {
    const gbnf = jsonSchemaGrammar({ type: "object", properties: { a: { type: "integer" } }, required: ["a"] }, "p-");
    for (const name of rulesOf(gbnf).keys()) assert.match(name, /^p-/);
    assert.ok(rulesOf(gbnf).has("p-root"));
  });

  it("required properties always, optional ones as an optional in-order chain", () => {
    const gbnf = jsonSchemaGrammar(
      { type: "object", properties: { a: { type: "integer" }, b: { type: "boolean" }, c: { type: "null" } }, required: ["a"] },
      "",
    );
    assert.match(gbnf, /"\\"a\\""/);
    // After a, an optional group holding b and/or c in order.
    assert.match(gbnf, /\( "," \[ \]\? \( \S+ \| \S+ \) \)\?/);
  });

  it("resolves $ref into $defs, recursive definitions included", () => {
    const gbnf = jsonSchemaGrammar(
      {
        $defs: { node: { type: "object", properties: { next: { oneOf: [{ $ref: "#/$defs/node" }, { type: "null" }] } }, required: ["next"] } },
        $ref: "#/$defs/node",
      },
      "",
    );
    const def = [...rulesOf(gbnf).keys()].find((k) => k.startsWith("def-node"));
    assert.ok(def);
    assert.ok(rulesOf(gbnf).get(def)!.length > 0);
    assert.throws(() => jsonSchemaGrammar({ $ref: "#/$defs/missing" }, ""), /unresolvable \$ref/);
  });

  it("array bounds become repetition counts", () => {
    assert.match(jsonSchemaGrammar({ type: "array", items: { type: "boolean" }, minItems: 2, maxItems: 3 }, ""), /\{1,2\}/);
    assert.match(jsonSchemaGrammar({ type: "array", items: { type: "boolean" }, maxItems: 0 }, ""), /"\[" \[ \]\? "\]"/);
  });
});
