/**
 * The JSON-schema grammars on the real engine: a tiny random-weight model samples under each
 * grammar, and every finished output must parse and validate (ajv). Random weights rarely pick a
 * token the grammar allows, so most steps take llama.cpp's slow path (grammar over the whole
 * vocabulary): the samples are few and short, each (schema, seed) is sampled once, and the model
 * is llama-tiny, whose 32,000-token vocabulary makes that path ~5x cheaper than Qwen3's 151,936
 * (the grammars do not depend on the model; Qwen3 under them is tested end to end in
 * test/e2e/capabilities.test.ts).
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { Ajv2020 } from "ajv/dist/2020.js";
import { LlamaGrammarEvaluationState, type LlamaModel, type Token } from "node-llama-cpp";
import type { JsonSchema } from "../../core/types.ts";
import { prepareSchema } from "../../features/index.ts";
import { GrammarCompiler } from "./grammar.ts";
import { llamaRuntime } from "./runtime.ts";

const TINY = join(import.meta.dirname, "../../../models/test/llama-tiny.gguf");

let model: LlamaModel;
let compiler: GrammarCompiler;
before(async () => {
  assert.ok(existsSync(TINY), `${TINY} is missing: run npm run models:test`);
  const llama = await llamaRuntime(false);
  model = await llama.loadModel({ modelPath: TINY });
  compiler = new GrammarCompiler(llama);
});
after(async () => {
  await model?.dispose();
});

const samples = new Map<string, Promise<string | undefined>>();

/** One output under the named schema's grammar for this seed (sampled once, then remembered); undefined when it did not finish in 100 tokens. */
function sampleOnce(name: string, schema: JsonSchema, seed: number): Promise<string | undefined> {
  const key = `${name}/${seed}`;
  let found = samples.get(key);
  if (found === undefined) {
    found = sample(schema, seed);
    samples.set(key, found);
  }
  return found;
}

/** Samples one output under the schema's grammar; undefined when it did not finish in `limit` tokens. */
async function sample(schema: JsonSchema, seed: number, limit = 100): Promise<string | undefined> {
  const grammar = await compiler.compile(`root ::= json-root\n${compiler.jsonRules(schema, "json-")}`);
  const context = await model.createContext({ contextSize: 512, threads: 1 });
  try {
    const sequence = context.getSequence();
    const state = new LlamaGrammarEvaluationState({ model, grammar });
    const out: Token[] = [];
    const prompt = model.tokenize("<|im_start|>user\nJSON please<|im_end|>\n<|im_start|>assistant\n", true);
    for await (const token of sequence.evaluate(prompt, { temperature: 1, topK: 40, topP: 1, seed, yieldEogToken: true, grammarEvaluationState: state })) {
      if (model.isEogToken(token)) return model.detokenize(out);
      out.push(token);
      if (out.length >= limit) return undefined;
    }
    return model.detokenize(out);
  } finally {
    await context.dispose();
  }
}

const SCHEMAS: Record<string, JsonSchema> = {
  "optional properties": {
    type: "object",
    properties: { a: { type: "boolean" }, b: { enum: ["x", "y"] }, c: { type: "null" }, d: { type: "integer" } },
    required: ["b"],
    additionalProperties: false,
  },
  "arrays with bounds and tuples": {
    type: "object",
    properties: {
      list: { type: "array", items: { enum: [1, 2, 3] }, minItems: 1, maxItems: 3 },
      pair: { type: "array", prefixItems: [{ type: "boolean" }, { const: "k" }], items: false, minItems: 2 },
    },
    required: ["list", "pair"],
    additionalProperties: false,
  },
  "formats and bounded strings": {
    type: "object",
    properties: {
      day: { type: "string", format: "date" },
      at: { type: "string", format: "date-time" },
      id: { type: "string", format: "uuid" },
      code: { type: "string", minLength: 2, maxLength: 3 },
    },
    required: ["day", "at", "id", "code"],
    additionalProperties: false,
  },
  "nullable type lists, anyOf and $defs": {
    type: "object",
    $defs: { level: { enum: ["low", "high"] } },
    properties: { level: { $ref: "#/$defs/level" }, maybe: { type: ["boolean", "null"] }, either: { anyOf: [{ type: "integer" }, { const: "none" }] } },
    required: ["level", "maybe", "either"],
    additionalProperties: false,
  },
};

describe("JSON-schema grammars on the engine", () => {
  for (const [name, raw] of Object.entries(SCHEMAS)) {
    it(`${name}: every finished sample parses and validates`, async () => {
      const validate = new Ajv2020({ strict: false, validateFormats: false }).compile(raw);
      const schema = prepareSchema(raw, { strict: true, field: "test" }).schema;
      let finished = 0;
      for (let seed = 1; seed <= 3; seed++) {
        const text = await sampleOnce(name, schema, seed);
        if (text === undefined) continue;
        finished++;
        const value = JSON.parse(text) as { day: string; id: string };
        assert.ok(validate(value), `${text}: ${JSON.stringify(validate.errors)}`);
        if (name.startsWith("formats")) {
          assert.match(value.day, /^\d{4}-\d{2}-\d{2}$/);
          assert.match(value.id, /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i);
        }
      }
      assert.ok(finished >= 2, `only ${finished} of 3 samples finished`);
    });
  }

  it("optional properties are really optional: some samples leave them out", async () => {
    const schema = prepareSchema(SCHEMAS["optional properties"]!, { strict: true, field: "test" }).schema;
    const keys = new Set<string>();
    for (let seed = 1; seed <= 5; seed++) {
      const text = await sampleOnce("optional properties", schema, seed);
      if (text !== undefined) keys.add(Object.keys(JSON.parse(text)).sort().join(","));
    }
    assert.ok(keys.size >= 2, `key sets seen: ${[...keys].join(" | ")}`);
  });
});
