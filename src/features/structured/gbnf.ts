import { jsonPreview, type JsonSchema } from "../../core/index.ts";

/**
 * JSON Schema (as `prepareSchema` leaves it) to GBNF, the grammar language of llama.cpp.
 *
 * Compact JSON (at most one space between tokens, as Qwen writes tool-call arguments). Object
 * properties come in the schema's order; required ones are always there and optional ones may be
 * left out (the approach of llama.cpp's own json-schema-to-grammar). Numbers and unconstrained
 * strings are bounded in digits, not in length. Every rule is named under a prefix so several
 * schemas can share one grammar; the value rule is `${prefix}root`.
 */

type Schema = Record<string, unknown>;

const SPACE = "[ ]?";
const PRIMITIVES: Record<string, string> = {
  boolean: '("true" | "false")',
  null: '"null"',
  integer: '("-"? ([0-9] | [1-9] [0-9]{1,15}))',
  number: '("-"? ([0-9] | [1-9] [0-9]{1,15}) ("." [0-9]{1,16})? ([eE] [-+]? [0-9]{1,5})?)',
};
const CHAR = '([^"\\\\\\x7F\\x00-\\x1F] | "\\\\" (["\\\\/bfnrt] | "u" [0-9a-fA-F]{4}))';
const FORMATS: Record<string, string> = {
  date: '"\\"" [0-9]{4} "-" ("0" [1-9] | "1" [0-2]) "-" ("0" [1-9] | [12] [0-9] | "3" [01]) "\\""',
  time: '"\\"" ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? ("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9]) "\\""',
  "date-time":
    '"\\"" [0-9]{4} "-" ("0" [1-9] | "1" [0-2]) "-" ("0" [1-9] | [12] [0-9] | "3" [01]) "T" ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9] ":" [0-5] [0-9] ("." [0-9]{1,6})? ("Z" | [+-] ([01] [0-9] | "2" [0-3]) ":" [0-5] [0-9]) "\\""',
  uuid: '"\\"" [0-9a-fA-F]{8} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{4} "-" [0-9a-fA-F]{12} "\\""',
};

/** A GBNF string literal: JSON escapes, except the two llama.cpp lacks (`\b`, `\f`). */
export function gbnfLiteral(text: string): string {
  let out = '"';
  for (const ch of text) {
    const code = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0").toUpperCase()}`;
    else out += ch;
  }
  return `${out}"`;
}

function repeat(item: string, min: number, max: number | undefined): string {
  if (max === 0) return "";
  if (max === undefined) return `${item}{${min},}`;
  return min === max ? `${item}{${min}}` : `${item}{${min},${max}}`;
}

class GbnfBuilder {
  readonly #rules = new Map<string, string>();
  readonly #byBody = new Map<string, string>();
  readonly #defs = new Map<string, Schema>();
  readonly #defRules = new Map<string, string>();
  #next = 0;

  constructor(readonly prefix: string) {}

  /** A named rule for this body (bodies that repeat share one rule). */
  rule(body: string, name?: string): string {
    if (name === undefined) {
      const existing = this.#byBody.get(body);
      if (existing) return existing;
      name = `${this.prefix}r${this.#next++}`;
      this.#byBody.set(body, name);
    }
    this.#rules.set(name, body);
    return name;
  }

  rules(): string {
    return [...this.#rules].map(([name, body]) => `${name} ::= ${body}`).join("\n");
  }

  registerDefs(schema: Schema): void {
    const defs = schema.$defs;
    if (typeof defs === "object" && defs !== null) {
      for (const [name, def] of Object.entries(defs as Record<string, Schema>)) if (!this.#defs.has(name)) this.#defs.set(name, def);
    }
  }

  /** The GBNF expression (a rule name or a small inline expression) for values of `schema`. */
  value(schema: Schema): string {
    this.registerDefs(schema);
    if (typeof schema.$ref === "string") return this.ref(schema.$ref);
    if ("const" in schema) return gbnfLiteral(JSON.stringify(schema.const));
    if (Array.isArray(schema.enum)) return this.rule(schema.enum.map((v) => gbnfLiteral(JSON.stringify(v))).join(" | "));
    if (Array.isArray(schema.oneOf)) return this.rule((schema.oneOf as Schema[]).map((s) => this.value(s)).join(" | "));
    const type = schema.type;
    if (Array.isArray(type)) return this.rule((type as string[]).map((t) => this.value({ ...schema, type: t })).join(" | "));
    switch (type) {
      case "string":
        return this.string(schema);
      case "object":
        return this.object(schema);
      case "array":
        return this.array(schema);
      case "boolean":
      case "null":
      case "integer":
      case "number":
        return this.rule(PRIMITIVES[type]!);
      default:
        return this.any();
    }
  }

  ref(ref: string): string {
    const name = /^#\/\$defs\/(.+)$/.exec(ref)?.[1];
    const def = name === undefined ? undefined : this.#defs.get(name);
    if (name === undefined || def === undefined) throw new Error(`unresolvable $ref ${jsonPreview(ref)}`);
    let rule = this.#defRules.get(name);
    if (!rule) {
      rule = `${this.prefix}def-${name.replace(/[^A-Za-z0-9]+/g, "-")}-${this.#next++}`;
      this.#defRules.set(name, rule);
      this.rule("", rule); // reserve the name: recursive definitions refer to it
      this.rule(this.value(def), rule);
    }
    return rule;
  }

  string(schema: Schema): string {
    if (typeof schema.format === "string" && FORMATS[schema.format]) return this.rule(FORMATS[schema.format]!);
    const min = typeof schema.minLength === "number" ? schema.minLength : 0;
    const max = typeof schema.maxLength === "number" ? schema.maxLength : undefined;
    const chars = this.rule(CHAR, `${this.prefix}char`);
    return this.rule(`"\\"" ${repeat(chars, min, max) || ""} "\\""`.replace("  ", " "));
  }

  object(schema: Schema): string {
    const properties = (schema.properties ?? {}) as Record<string, Schema>;
    const required = new Set(Array.isArray(schema.required) ? (schema.required as string[]) : []);
    const pair = (key: string, value: Schema) => this.rule(`${gbnfLiteral(JSON.stringify(key))} ${SPACE} ":" ${SPACE} ${this.value(value)}`);
    const names = Object.keys(properties);
    const must = names.filter((k) => required.has(k)).map((k) => pair(k, properties[k]!));
    const may = names.filter((k) => !required.has(k)).map((k) => pair(k, properties[k]!));
    const extra = schema.additionalProperties;
    if (extra === true || (typeof extra === "object" && extra !== null)) {
      const value = extra === true ? this.any() : this.value(extra as Schema);
      may.push(`${this.rule(`${this.string({})} ${SPACE} ":" ${SPACE} ${value}`)}*`);
    }
    const comma = `"," ${SPACE}`;
    let body = `"{" ${SPACE}`;
    body += must.join(` ${comma} `);
    if (may.length > 0) {
      // Any in-order subset of the optional pairs, with commas only between pairs.
      const chain = (from: number, first: boolean): string => {
        const item = may[from]!;
        const repeated = item.endsWith("*");
        const plain = repeated ? item.slice(0, -1) : item;
        let out = first ? (repeated ? `${plain} ( ${comma} ${plain} )*` : plain) : `( ${comma} ${plain} )${repeated ? "*" : "?"}`;
        if (from + 1 < may.length) out += ` ${chain(from + 1, false)}`;
        return out;
      };
      const alternatives = may.map((_, i) => this.rule(chain(i, true))).join(" | ");
      body += must.length > 0 ? ` ( ${comma} ( ${alternatives} ) )?` : ` ( ${alternatives} )?`;
    }
    body += ` ${SPACE} "}"`;
    return this.rule(body);
  }

  array(schema: Schema): string {
    const comma = `"," ${SPACE}`;
    if (Array.isArray(schema.prefixItems)) {
      const items = (schema.prefixItems as Schema[]).map((s) => this.value(s));
      return this.rule(`"[" ${SPACE} ${items.join(` ${comma} `)} ${SPACE} "]"`.replace(/ {2,}/g, " "));
    }
    if (schema.items === false) return this.rule(`"[" ${SPACE} "]"`);
    const item = schema.items === undefined || schema.items === true ? this.any() : this.value(schema.items as Schema);
    const min = typeof schema.minItems === "number" ? schema.minItems : 0;
    const max = typeof schema.maxItems === "number" ? schema.maxItems : undefined;
    if (max === 0) return this.rule(`"[" ${SPACE} "]"`);
    const rest = repeat(`( ${comma} ${item} )`, Math.max(0, min - 1), max === undefined ? undefined : max - 1);
    const list = `${item}${rest ? ` ${rest}` : ""}`;
    return this.rule(`"[" ${SPACE} ${min > 0 ? list : `( ${list} )?`} ${SPACE} "]"`);
  }

  /** Any JSON value. */
  any(): string {
    const name = `${this.prefix}any`;
    if (!this.#rules.has(name)) {
      this.rule("", name);
      const string = this.string({});
      const pair = `${string} ${SPACE} ":" ${SPACE} ${name}`;
      const object = `"{" ${SPACE} ( ${pair} ( "," ${SPACE} ${pair} )* )? ${SPACE} "}"`;
      const array = `"[" ${SPACE} ( ${name} ( "," ${SPACE} ${name} )* )? ${SPACE} "]"`;
      this.rule([object, array, string, PRIMITIVES.number, PRIMITIVES.boolean, PRIMITIVES.null].join(" | "), name);
    }
    return name;
  }
}

/** GBNF rules for JSON values matching a prepared schema; the value rule is `${prefix}root`. */
export function jsonSchemaGrammar(schema: JsonSchema, prefix: string): string {
  const builder = new GbnfBuilder(prefix);
  builder.rule(builder.value(schema), `${prefix}root`);
  return builder.rules();
}
