import { clipText, invalidParameter, jsonPreview, type JsonSchema } from "../../core/index.ts";

/**
 * JSON Schema as the grammar engine (gbnf.ts) understands it: type (one or several), const,
 * enum, oneOf, $ref into $defs, string min/maxLength and date / time / date-time / uuid formats,
 * object properties / required / additionalProperties, array items / prefixItems / min/maxItems.
 *
 * `prepareSchema` rewrites what can be rewritten without changing what validates (`anyOf` as
 * `oneOf`, `definitions` as `$defs`, a missing `type` from the keywords present, annotations
 * removed) and, for everything the grammar cannot enforce (`pattern`, `minimum`, `allOf`, ...),
 * either refuses (strict) or leaves the keyword out of the grammar (best effort).
 */

const ANNOTATIONS = new Set(["title", "$schema", "$id", "$comment", "default", "examples", "deprecated", "readOnly", "writeOnly"]);
/** Largest length / item-count bound the grammar enforces (llama.cpp unrolls repetitions). */
const BOUND_LIMIT = 256;
/** Deeper schemas are refused (they would only exhaust the stack). */
const MAX_DEPTH = 64;
const SCALAR_TYPES = new Set(["string", "number", "integer", "boolean", "null"]);
const FORMATS = new Set(["date-time", "time", "date", "uuid"]);
const KEYWORDS_BY_KIND: Record<string, ReadonlySet<string>> = {
  string: new Set(["minLength", "maxLength", "format"]),
  object: new Set(["properties", "additionalProperties", "required"]),
  array: new Set(["items", "prefixItems", "minItems", "maxItems"]),
};

/** Any JSON value, written with the keywords the grammar engine has. */
export const ANY_JSON_VALUE: JsonSchema = {
  oneOf: [{ type: ["string", "number", "boolean", "null"] }, { type: "object", additionalProperties: true }, { type: "array" }],
};

/** Any JSON object (response_format json_object). */
export const ANY_JSON_OBJECT: JsonSchema = { type: "object", additionalProperties: true };

export interface PrepareOptions {
  /** Refuse keywords the grammar cannot enforce (else they are left out of the grammar). */
  strict: boolean;
  /** Names the schema in error messages, e.g. `response_format.json_schema.schema`. */
  field: string;
}

export interface PreparedSchema {
  schema: JsonSchema;
  /** Keywords left out of the grammar (best effort only), as `keyword at #/path`. */
  unenforced: string[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

class SchemaPreparer {
  readonly unenforced: string[] = [];

  constructor(readonly options: PrepareOptions) {}

  unsupported(keyword: string, path: string, why = "is not supported by the grammar engine"): void {
    // Keywords and paths are the client's text: cut to size.
    keyword = clipText(keyword);
    path = clipText(path);
    if (this.options.strict) {
      throw invalidParameter(`${this.options.field}: "${keyword}" (at #${path}) ${why}; remove it or set "strict": false for best-effort output.`);
    }
    this.unenforced.push(`${keyword} at #${path}`);
  }

  prepare(raw: unknown, path: string): JsonSchema {
    if (path.split("/").length > MAX_DEPTH) {
      throw invalidParameter(`${this.options.field}: the schema nests deeper than ${MAX_DEPTH} levels (at #${path.slice(0, 80)}…).`);
    }
    if (raw === true || (isRecord(raw) && Object.keys(raw).every((k) => ANNOTATIONS.has(k) || k === "description"))) {
      return ANY_JSON_VALUE;
    }
    if (!isRecord(raw)) throw invalidParameter(`${this.options.field}: the schema at #${clipText(path)} must be an object.`);
    const several = this.splitTypeList(raw, path);
    if (several) return several;
    const out: JsonSchema = {};
    const kind = this.kindOf(raw, path);
    for (const [key, value] of Object.entries(raw)) {
      const at = `${path}/${key}`;
      if (ANNOTATIONS.has(key)) continue;
      if (key === "description") {
        if (typeof value === "string") out.description = value;
      } else if (key === "type") {
        out.type = value;
      } else if (key === "const") {
        out.const = value;
      } else if (key === "enum") {
        if (!Array.isArray(value) || value.length === 0)
          throw invalidParameter(`${this.options.field}: "enum" at #${clipText(path)} must be a non-empty array.`);
        out.enum = value;
      } else if (key === "oneOf" || key === "anyOf") {
        if (!Array.isArray(value) || value.length === 0)
          throw invalidParameter(`${this.options.field}: "${key}" at #${clipText(path)} must be a non-empty array.`);
        out.oneOf = value.map((s, i) => this.prepare(s, `${at}/${i}`));
      } else if (key === "$ref") {
        out.$ref = typeof value === "string" ? value.replace(/^#\/definitions\//, "#/$defs/") : value;
      } else if (key === "$defs" || key === "definitions") {
        if (!isRecord(value)) throw invalidParameter(`${this.options.field}: "${key}" at #${clipText(path)} must be an object.`);
        out.$defs = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, this.prepare(s, `${at}/${name}`)]));
      } else if (kind !== undefined && KEYWORDS_BY_KIND[kind]?.has(key)) {
        this.copyKindKeyword(out, key, value, at);
      } else {
        this.unsupported(key, path);
      }
    }
    if (Array.isArray(out.required)) {
      const known = Object.keys((out.properties ?? {}) as object);
      const unknown = (out.required as unknown[]).filter((name) => typeof name !== "string" || !known.includes(name));
      if (unknown.length > 0) {
        this.unsupported(
          "required",
          path,
          `names ${unknown
            .slice(0, 5)
            .map((n) => jsonPreview(n, 60))
            .join(", ")}${unknown.length > 5 ? ", …" : ""}, not among "properties"`,
        );
        out.required = (out.required as unknown[]).filter((name) => !unknown.includes(name));
      }
    }
    const constrained = (o: JsonSchema) => ["type", "const", "enum", "$ref", "oneOf"].some((k) => o[k] !== undefined);
    if (!constrained(out) && kind !== undefined) out.type = kind;
    // Nothing left that the grammar reads (every keyword was best effort): any value, as JSON Schema means.
    if (!constrained(out)) return out.description === undefined ? ANY_JSON_VALUE : { ...ANY_JSON_VALUE, description: out.description };
    return out;
  }

  /**
   * `type: ["object", "null"]` and the like: one alternative per type, each with the keywords
   * that apply to it (the grammar engine takes several types only when all are scalars).
   */
  splitTypeList(raw: Record<string, unknown>, path: string): JsonSchema | undefined {
    const types = raw.type;
    if (!Array.isArray(types) || types.every((t) => typeof t === "string" && SCALAR_TYPES.has(t))) return undefined;
    const bad = types.find((t) => typeof t !== "string" || (!SCALAR_TYPES.has(t) && t !== "object" && t !== "array"));
    if (bad !== undefined) throw invalidParameter(`${this.options.field}: unknown type ${jsonPreview(bad)} at #${clipText(path)}.`);
    const kindKeywords = new Set(Object.values(KEYWORDS_BY_KIND).flatMap((set) => [...set]));
    const alternatives = (types as string[]).map((type) => {
      const own = Object.entries(raw).filter(([k]) => k !== "type" && k !== "description" && (!kindKeywords.has(k) || KEYWORDS_BY_KIND[type]?.has(k)));
      return this.prepare({ ...Object.fromEntries(own), type }, path);
    });
    const out: JsonSchema = { oneOf: alternatives };
    if (typeof raw.description === "string") out.description = raw.description;
    return out;
  }

  /** object, array or string when the schema is (only) that type, from `type` or its keywords. */
  kindOf(raw: Record<string, unknown>, path: string): string | undefined {
    const type = raw.type;
    if (Array.isArray(type)) return undefined; // all scalar here: splitTypeList took the others
    if (typeof type === "string") {
      if (!SCALAR_TYPES.has(type) && type !== "object" && type !== "array") {
        throw invalidParameter(`${this.options.field}: unknown type ${jsonPreview(type)} at #${clipText(path)}.`);
      }
      return KEYWORDS_BY_KIND[type] ? type : undefined;
    }
    if (type !== undefined) throw invalidParameter(`${this.options.field}: "type" at #${clipText(path)} must be a string or an array of strings.`);
    return Object.keys(KEYWORDS_BY_KIND).find((kind) => Object.keys(raw).some((k) => KEYWORDS_BY_KIND[kind]!.has(k) && k !== "format"));
  }

  copyKindKeyword(out: JsonSchema, key: string, value: unknown, at: string): void {
    switch (key) {
      case "properties":
        if (!isRecord(value)) throw invalidParameter(`${this.options.field}: "properties" at #${clipText(at)} must be an object.`);
        out.properties = Object.fromEntries(Object.entries(value).map(([name, s]) => [name, this.prepare(s, `${at}/${name}`)]));
        return;
      case "additionalProperties":
        out.additionalProperties = typeof value === "boolean" ? value : this.prepare(value, at);
        return;
      case "items":
        if (typeof value === "boolean")
          out.items = value; // false: nothing beyond prefixItems; true: anything
        else if (Array.isArray(value)) out.prefixItems = value.map((s, i) => this.prepare(s, `${at}/${i}`));
        else out.items = this.prepare(value, at);
        return;
      case "prefixItems":
        if (!Array.isArray(value)) throw invalidParameter(`${this.options.field}: "prefixItems" at #${clipText(at)} must be an array.`);
        out.prefixItems = value.map((s, i) => this.prepare(s, `${at}/${i}`));
        return;
      case "format":
        if (typeof value === "string" && FORMATS.has(value)) out.format = value;
        else this.unsupported(`format: ${typeof value === "string" ? value : jsonPreview(value)}`, at.slice(0, at.lastIndexOf("/")));
        return;
      case "minLength":
      case "maxLength":
      case "minItems":
      case "maxItems":
        this.copyBound(out, key, value, at);
        return;
      default:
        out[key] = value;
    }
  }

  /**
   * Length and count bounds become repetitions in the grammar, which llama.cpp unrolls: bounds
   * up to BOUND_LIMIT are enforced; larger ones are refused (strict) or left out (best effort).
   */
  copyBound(out: JsonSchema, key: string, value: unknown, at: string): void {
    if (typeof value !== "number" || !Number.isInteger(value) || value < 0) {
      throw invalidParameter(`${this.options.field}: "${key}" at #${clipText(at)} must be a non-negative integer.`);
    }
    if (value > BOUND_LIMIT) {
      this.unsupported(key, at.slice(0, at.lastIndexOf("/")), `is ${value}, above the ${BOUND_LIMIT} the grammar engine enforces`);
      return;
    }
    out[key] = value;
    const [min, max] = key.endsWith("Length") ? ["minLength", "maxLength"] : ["minItems", "maxItems"];
    if (typeof out[min] === "number" && typeof out[max] === "number" && (out[min] as number) > (out[max] as number)) {
      throw invalidParameter(`${this.options.field}: "${min}" is greater than "${max}" at #${clipText(at.slice(0, at.lastIndexOf("/")))}: no value can match.`);
    }
  }
}

/** The client's schema rewritten for the grammar engine; throws InvalidParameter in strict mode for what it cannot enforce. */
export function prepareSchema(schema: unknown, options: PrepareOptions): PreparedSchema {
  const preparer = new SchemaPreparer(options);
  return { schema: preparer.prepare(schema, ""), unenforced: preparer.unenforced };
}
