import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../../core/errors.ts";
import type { JsonSchema } from "../../core/types.ts";
import { ANY_JSON_VALUE, prepareSchema, type PreparedSchema } from "./jsonSchema.ts";

const FIELD = "response_format.json_schema.schema";

const strict = (schema: unknown): PreparedSchema => prepareSchema(schema, { strict: true, field: FIELD });
const lenient = (schema: unknown): PreparedSchema => prepareSchema(schema, { strict: false, field: FIELD });

/** An assert.throws validator: a 400 InvalidParameter ApiError whose message contains every fragment. */
function invalidParameter(...fragments: string[]) {
  return (error: unknown): true => {
    assert.ok(error instanceof ApiError, `expected an ApiError, got ${String(error)}`);
    assert.equal(error.status, 400);
    assert.equal(error.code, "InvalidParameter");
    for (const fragment of fragments) assert.ok(error.message.includes(fragment), `"${error.message}" should contain ${fragment}`);
    return true;
  };
}

describe("prepareSchema: rewrites that keep what validates", () => {
  it("turns anyOf into oneOf, preparing each alternative", () => {
    const { schema } = strict({ anyOf: [{ type: "string", title: "S" }, { type: "null" }] });
    assert.deepEqual(schema, { oneOf: [{ type: "string" }, { type: "null" }] });
  });

  it("moves definitions to $defs and points #/definitions/ references there", () => {
    const { schema } = strict({
      type: "object",
      properties: { pet: { $ref: "#/definitions/Pet" }, owner: { $ref: "#/$defs/Owner" } },
      definitions: { Pet: { type: "object", properties: { name: { type: "string" } } } },
    });
    assert.deepEqual(schema, {
      type: "object",
      properties: { pet: { $ref: "#/$defs/Pet" }, owner: { $ref: "#/$defs/Owner" } },
      $defs: { Pet: { type: "object", properties: { name: { type: "string" } } } },
    });
  });

  it("removes annotations and keeps the description", () => {
    const { schema, unenforced } = strict({
      $schema: "https://json-schema.org/draft/2020-12/schema",
      $id: "urn:x",
      $comment: "c",
      title: "Person",
      description: "A person",
      default: { age: 1 },
      examples: [{ age: 2 }],
      deprecated: false,
      readOnly: true,
      writeOnly: false,
      type: "object",
      properties: { age: { type: "integer", title: "Age", description: "in years" } },
    });
    assert.deepEqual(schema, {
      description: "A person",
      type: "object",
      properties: { age: { type: "integer", description: "in years" } },
    });
    assert.deepEqual(unenforced, []);
  });

  it("infers a missing type: object from properties, array from items, string from minLength", () => {
    assert.deepEqual(strict({ properties: { a: { type: "string" } }, required: ["a"] }).schema, {
      properties: { a: { type: "string" } },
      required: ["a"],
      type: "object",
    });
    assert.deepEqual(strict({ items: { type: "number" }, minItems: 1 }).schema, { items: { type: "number" }, minItems: 1, type: "array" });
    assert.deepEqual(strict({ minLength: 2 }).schema, { minLength: 2, type: "string" });
  });

  it("writes items given as an array as prefixItems", () => {
    const { schema } = strict({ type: "array", items: [{ type: "string" }, { type: "number", title: "n" }] });
    assert.deepEqual(schema, { type: "array", prefixItems: [{ type: "string" }, { type: "number" }] });
  });

  it("reads {}, true and annotation-only schemas as any JSON value", () => {
    for (const raw of [{}, true, { description: "anything" }, { title: "T", default: 3 }]) {
      assert.deepEqual(strict(raw).schema, ANY_JSON_VALUE, JSON.stringify(raw));
    }
  });

  it("keeps const, enum and the date/time string formats", () => {
    assert.deepEqual(strict({ type: "string", format: "date-time" }).schema, { type: "string", format: "date-time" });
    assert.deepEqual(strict({ type: "string", format: "date" }).schema, { type: "string", format: "date" });
    assert.deepEqual(strict({ type: "string", format: "uuid" }).schema, { type: "string", format: "uuid" });
    assert.deepEqual(strict({ enum: ["a", 1] }).schema, { enum: ["a", 1] });
    assert.deepEqual(strict({ const: "x" }).schema, { const: "x" });
  });

  it("prepares nested schemas recursively", () => {
    const { schema } = strict({
      type: "object",
      properties: {
        tags: { items: { anyOf: [{ type: "string" }, { type: "integer" }] } },
        meta: { title: "Meta", additionalProperties: { type: "string", examples: ["x"] } },
        when: { type: "string", format: "time", default: "12:00" },
      },
    });
    assert.deepEqual(schema, {
      type: "object",
      properties: {
        tags: { items: { oneOf: [{ type: "string" }, { type: "integer" }] }, type: "array" },
        meta: { additionalProperties: { type: "string" }, type: "object" },
        when: { type: "string", format: "time" },
      },
    });
  });

  it("does not modify the client's schema", () => {
    const raw = { title: "T", anyOf: [{ type: "string" }], definitions: { A: { type: "null" } } };
    const copy = structuredClone(raw);
    strict(raw);
    assert.deepEqual(raw, copy);
  });
});

describe("prepareSchema: what the grammar cannot enforce", () => {
  // [case, schema, keyword named in the message, best-effort schema]
  const cases: Array<[string, JsonSchema, string, JsonSchema]> = [
    ["pattern", { type: "string", pattern: "^[A-Z]+$" }, '"pattern" (at #)', { type: "string" }],
    ["minimum", { type: "number", minimum: 0 }, '"minimum" (at #)', { type: "number" }],
    ["allOf", { type: "object", allOf: [{ required: ["a"] }] }, '"allOf" (at #)', { type: "object" }],
    ["not", { type: "string", not: { const: "x" } }, '"not" (at #)', { type: "string" }],
    ["uniqueItems", { type: "array", items: { type: "string" }, uniqueItems: true }, '"uniqueItems" (at #)', { type: "array", items: { type: "string" } }],
    ["format: email", { type: "string", format: "email" }, '"format: email" (at #)', { type: "string" }],
    [
      "minProperties",
      { type: "object", properties: { a: { type: "null" } }, minProperties: 1 },
      '"minProperties" (at #)',
      { type: "object", properties: { a: { type: "null" } } },
    ],
  ];

  for (const [keyword, schema, named, bestEffort] of cases) {
    it(`${keyword}: strict refuses naming it, best effort leaves it out and lists it`, () => {
      assert.throws(() => strict(schema), invalidParameter(FIELD, named, '"strict": false'));
      const prepared = lenient(schema);
      assert.deepEqual(prepared.schema, bestEffort);
      assert.deepEqual(prepared.unenforced, [`${keyword} at #`]);
    });
  }

  it("names the path of a nested keyword as a JSON pointer from #", () => {
    const schema = { type: "object", properties: { code: { type: "string", pattern: "^[0-9]+$" } } };
    assert.throws(() => strict(schema), invalidParameter('"pattern" (at #/properties/code)'));
    const prepared = lenient(schema);
    assert.deepEqual(prepared.schema, { type: "object", properties: { code: { type: "string" } } });
    assert.deepEqual(prepared.unenforced, ["pattern at #/properties/code"]);
  });

  it("splits a type list that includes object or array into one alternative per type", () => {
    const raw = { type: ["object", "null"], description: "maybe", properties: { a: { type: "string" } }, required: ["a"], maxLength: 3 };
    for (const prepare of [strict, lenient]) {
      assert.deepEqual(prepare(raw), {
        schema: {
          oneOf: [{ properties: { a: { type: "string" } }, required: ["a"], type: "object" }, { type: "null" }],
          description: "maybe",
        },
        unenforced: [],
      });
    }
    assert.deepEqual(strict({ type: ["array", "string"], items: { type: "number" }, maxLength: 3 }).schema, {
      oneOf: [
        { items: { type: "number" }, type: "array" },
        { maxLength: 3, type: "string" },
      ],
    });
  });

  it("keeps a type list of scalar types", () => {
    assert.deepEqual(strict({ type: ["string", "null"] }).schema, { type: ["string", "null"] });
  });

  it("allows any value where best effort removed every keyword", () => {
    assert.deepEqual(lenient({ properties: { n: { minimum: 0 } } }), {
      schema: { properties: { n: ANY_JSON_VALUE }, type: "object" },
      unenforced: ["minimum at #/properties/n"],
    });
    assert.deepEqual(lenient({ allOf: [{ $ref: "#/$defs/A" }], description: "the pet" }), {
      schema: { ...ANY_JSON_VALUE, description: "the pet" },
      unenforced: ["allOf at #"],
    });
  });

  it("throws on an unknown type, strict or not", () => {
    for (const prepare of [strict, lenient]) {
      assert.throws(() => prepare({ type: "object", properties: { a: { type: "str" } } }), invalidParameter(FIELD, 'unknown type "str" at #/properties/a'));
      assert.throws(() => prepare({ type: ["object", "str"] }), invalidParameter(FIELD, 'unknown type "str"'));
    }
  });
});

describe("prepareSchema: bounds and impossible schemas", () => {
  const prepare = (schema: unknown, strict = true) => prepareSchema(schema, { strict, field: "f" });
  const refused = (schema: unknown, message: RegExp, strict = true) =>
    assert.throws(
      () => prepare(schema, strict),
      (e: unknown) => e instanceof ApiError && e.status === 400 && message.test(e.message),
    );

  it("length and item bounds up to 256 are kept; larger ones refused (strict) or left out", () => {
    assert.equal(prepare({ type: "string", maxLength: 256 }).schema.maxLength, 256);
    refused({ type: "string", maxLength: 1000 }, /"maxLength" \(at #\) is 1000, above the 256/);
    assert.deepEqual(prepare({ type: "array", items: { type: "null" }, maxItems: 1000 }, false).unenforced, ["maxItems at #"]);
  });

  it("bounds must be non-negative integers with min <= max, in either mode", () => {
    refused({ type: "string", minLength: -1 }, /must be a non-negative integer/, false);
    refused({ type: "string", minLength: 3, maxLength: 2 }, /"minLength" is greater than "maxLength"/, false);
    refused({ type: "array", maxItems: 1, minItems: 2 }, /"minItems" is greater than "maxItems"/, false);
  });

  it("empty enum, required names outside properties, nesting too deep", () => {
    refused({ enum: [] }, /"enum" at # must be a non-empty array/, false);
    refused({ type: "object", properties: { a: { type: "null" } }, required: ["a", "zz"] }, /"required" \(at #\) names "zz", not among "properties"/);
    assert.deepEqual(prepare({ type: "object", properties: { a: { type: "null" } }, required: ["a", "zz"] }, false).schema.required, ["a"]);
    let deep: Record<string, unknown> = { type: "null" };
    for (let i = 0; i < 100; i++) deep = { type: "object", properties: { a: deep } };
    refused(deep, /nests deeper than 64 levels/, false);
  });
});

describe("prepareSchema: client values in messages", () => {
  /** A value nested `depth` levels, built without recursion. */
  const deep = (depth: number): unknown => {
    let value: unknown = 1;
    for (let i = 0; i < depth; i++) value = [value];
    return value;
  };
  const field = "response_format.json_schema.schema";

  it("a type nested 100,000 levels deep is a 400, not a stack overflow", () => {
    for (const schema of [{ type: deep(100_000) }, { type: ["object", deep(100_000)] }]) {
      assert.throws(
        () => prepareSchema(schema, { strict: true, field }),
        (error: unknown) => error instanceof ApiError && error.status === 400 && /unknown type \[\[\[\[/.test(error.message) && error.message.length < 400,
      );
    }
  });

  it("an unsupported format or keyword is quoted cut short", () => {
    assert.throws(
      () => prepareSchema({ type: "string", format: deep(100_000) }, { strict: true, field }),
      (error: unknown) => error instanceof ApiError && /"format: \[\[\[\[/.test(error.message) && error.message.length < 400,
    );
    const prepared = prepareSchema({ type: "object", ["k".repeat(100_000)]: 1 }, { strict: false, field });
    assert.ok(prepared.unenforced.every((line) => line.length < 300));
  });
});
