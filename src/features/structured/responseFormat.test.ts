import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { ApiError } from "../../core/errors.ts";
import type { ChatMessage, GenerationRequest, JsonSchema, ResponseFormat } from "../../core/types.ts";
import { ANY_JSON_OBJECT } from "./jsonSchema.ts";
import { answerSchema, checkJsonObject, JSON_WORD_MESSAGE, structuredOutputStage } from "./responseFormat.ts";

/** A text part's text ("" for media parts). */
const partText = (part: { type: string; text?: string }): string => (part.type === "text" ? (part.text ?? "") : "");

const message = (role: ChatMessage["role"], text: string): ChatMessage => ({ role, content: [{ type: "text", text }] });

function request(messages: ChatMessage[], responseFormat?: ResponseFormat): GenerationRequest {
  return {
    requestId: "req-1",
    model: "qwen-plus",
    messages,
    sampling: { stop: { strings: [], tokenIds: [] }, n: 1 },
    features: responseFormat ? { responseFormat } : {},
  };
}

const jsonSchema = (schema: JsonSchema, strict = false, description?: string): ResponseFormat => ({
  type: "json_schema",
  name: "answer",
  schema,
  strict,
  ...(description === undefined ? {} : { description }),
});

const SCHEMA: JsonSchema = { type: "object", properties: { value: { anyOf: [{ type: "string" }, { type: "null" }] } }, required: ["value"] };
const PREPARED: JsonSchema = { type: "object", properties: { value: { oneOf: [{ type: "string" }, { type: "null" }] } }, required: ["value"] };

function invalidParameter(check: (message: string) => void) {
  return (error: unknown): true => {
    assert.ok(error instanceof ApiError);
    assert.equal(error.status, 400);
    assert.equal(error.code, "InvalidParameter");
    check(error.message);
    return true;
  };
}

describe("checkJsonObject", () => {
  it("refuses when no message mentions JSON", () => {
    const req = request([message("system", "Be brief."), message("user", "List three colours.")], { type: "json_object" });
    assert.throws(
      () => checkJsonObject(req),
      invalidParameter((m) => assert.equal(m, JSON_WORD_MESSAGE)),
    );
  });

  it("accepts the word in any case, in any message, and leaves the request as it is", () => {
    for (const messages of [
      [message("user", "Answer in JSON.")],
      [message("system", "Reply with json"), message("user", "Colours?")],
      [message("user", "Colours?"), message("assistant", "Sure, as Json:"), message("user", "go")],
    ]) {
      const req = request(messages, { type: "json_object" });
      assert.deepEqual(checkJsonObject(req), request(messages, { type: "json_object" }));
      assert.deepEqual(structuredOutputStage(req), request(messages, { type: "json_object" }), "json_object needs no grammar preparation");
    }
  });
});

describe("structuredOutputStage: json_schema", () => {
  it("prepares the schema for the grammar", () => {
    const out = structuredOutputStage(request([message("user", "Hi")], jsonSchema(SCHEMA)));
    assert.deepEqual(out.features.responseFormat, jsonSchema(PREPARED));
  });

  it("adds the schema instruction to the existing system message", () => {
    const out = structuredOutputStage(request([message("system", "Be brief."), message("user", "Hi")], jsonSchema(SCHEMA)));
    assert.equal(out.messages.length, 2);
    const system = out.messages[0]!;
    assert.equal(system.role, "system");
    assert.equal(partText(system.content[0]!), "Be brief.");
    const instruction = system.content
      .slice(1)
      .map((p) => (p.type === "text" ? p.text : ""))
      .join("");
    assert.ok(instruction.startsWith("\n\n"));
    assert.ok(instruction.includes('"answer"'));
    assert.ok(instruction.includes(JSON.stringify(SCHEMA)));
    assert.deepEqual(out.messages[1], message("user", "Hi"));
  });

  it("adds the instruction as a new first system message when there is none", () => {
    const out = structuredOutputStage(request([message("user", "Hi")], jsonSchema(SCHEMA, false, "the result")));
    assert.equal(out.messages.length, 2);
    assert.equal(out.messages[0]!.role, "system");
    const instruction = out.messages[0]!.content.map((p) => (p.type === "text" ? p.text : "")).join("");
    assert.ok(instruction.includes(JSON.stringify(SCHEMA)));
    assert.ok(instruction.includes("the result"));
    assert.deepEqual(out.messages[1], message("user", "Hi"));
  });

  it("refuses a strict schema with pattern, naming it, and drops it otherwise", () => {
    const schema = { type: "object", properties: { code: { type: "string", pattern: "^[A-Z]{3}$" } } };
    assert.throws(
      () => structuredOutputStage(request([message("user", "Hi")], jsonSchema(schema, true))),
      invalidParameter((m) => assert.ok(m.includes(`"pattern" (at #/properties/code)`) && m.includes("response_format.json_schema.schema"), m)),
    );
    const out = structuredOutputStage(request([message("user", "Hi")], jsonSchema(schema, false)));
    assert.deepEqual(out.features.responseFormat, jsonSchema({ type: "object", properties: { code: { type: "string" } } }, false));
  });

  it("leaves a request without response_format alone", () => {
    const req = request([message("user", "Hi")]);
    assert.deepEqual(structuredOutputStage(req), request([message("user", "Hi")]));
  });
});

describe("answerSchema", () => {
  it("is any JSON object for json_object and the schema for json_schema", () => {
    assert.deepEqual(answerSchema({ type: "json_object" }), ANY_JSON_OBJECT);
    assert.deepEqual(answerSchema(jsonSchema(PREPARED)), PREPARED);
  });
});
