import type { Llama, LlamaGrammar } from "node-llama-cpp";
import { invalidParameter } from "../../core/errors.ts";
import type { JsonSchema } from "../../core/types.ts";

/**
 * GBNF for openscope's constraints, built on node-llama-cpp's JSON-schema converter:
 * its rules are renamed under a prefix (so several schemas can share one grammar), its
 * whitespace is made compact (one optional space, as Qwen writes JSON in tool calls), and the
 * trailing newlines it adds for its own chat loop are removed.
 */

const RULE_LINE = /^([A-Za-z0-9-]+) ::= (.*)$/;
const TRAILER = / "\\n\\n\\n\\n" \[\\n\]\*$/;

/** Renames the rule references in a GBNF rule body, leaving literals, classes and counts alone. */
function renameReferences(body: string, names: ReadonlySet<string>, rename: (name: string) => string): string {
  let out = "";
  let i = 0;
  while (i < body.length) {
    const ch = body[i]!;
    const close = ch === '"' ? '"' : ch === "[" ? "]" : ch === "{" ? "}" : undefined;
    if (close) {
      let j = i + 1;
      while (j < body.length && body[j] !== close) j += body[j] === "\\" ? 2 : 1;
      out += body.slice(i, j + 1);
      i = j + 1;
      continue;
    }
    const word = /^[A-Za-z0-9-]+/.exec(body.slice(i));
    if (word) {
      out += names.has(word[0]) ? rename(word[0]) : word[0];
      i += word[0].length;
      continue;
    }
    out += ch;
    i++;
  }
  return out;
}

/** A converter grammar as rules under `prefix`, with its root named `${prefix}root`. */
export function prefixJsonRules(gbnf: string, prefix: string): string {
  const rules = gbnf
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => {
      const match = RULE_LINE.exec(line);
      if (!match) throw new Error(`unexpected GBNF line from the JSON-schema converter: ${line}`);
      return { name: match[1]!, body: match[2]! };
    });
  const names = new Set(rules.map((r) => r.name));
  const rename = (name: string) => `${prefix}${name}`;
  return rules
    .map(({ name, body }) => {
      let compact = body;
      if (name === "root") compact = body.replace(TRAILER, "");
      else if (name.startsWith("comma-whitespace-")) compact = '"," [ ]?';
      else if (name.startsWith("whitespace-")) compact = "[ ]?";
      return `${rename(name)} ::= ${renameReferences(compact, names, rename)}`;
    })
    .join("\n");
}

/** Compiles and caches grammars (the same schemas recur across requests; a grammar is immutable). */
export class GrammarCompiler {
  readonly #llama: Llama;
  readonly #grammars = new Map<string, Promise<LlamaGrammar>>();
  readonly #jsonRules = new Map<string, Promise<string>>();
  static readonly MAX_CACHED = 128;

  constructor(llama: Llama) {
    this.#llama = llama;
  }

  /** Rules for values matching `schema`, rooted at `${prefix}root`. */
  jsonRules(schema: JsonSchema, prefix: string): Promise<string> {
    const key = `${prefix}\u0000${JSON.stringify(schema)}`;
    return this.#cached(this.#jsonRules, key, async () => {
      try {
        const grammar = await this.#llama.createGrammarForJsonSchema(schema as never);
        return prefixJsonRules(grammar.grammar, prefix);
      } catch (error) {
        throw invalidParameter(`The JSON schema cannot be turned into a grammar: ${(error as Error).message}`);
      }
    });
  }

  compile(gbnf: string): Promise<LlamaGrammar> {
    return this.#cached(this.#grammars, gbnf, () => this.#llama.createGrammar({ grammar: gbnf }));
  }

  #cached<T>(cache: Map<string, Promise<T>>, key: string, make: () => Promise<T>): Promise<T> {
    let value = cache.get(key);
    if (!value) {
      if (cache.size >= GrammarCompiler.MAX_CACHED) cache.delete(cache.keys().next().value!);
      value = make();
      value.catch(() => cache.delete(key));
      cache.set(key, value);
    }
    return value;
  }
}

/** A GBNF string literal (JSON escapes, but llama.cpp knows no `\b` or `\f`: those as `\x..`). */
export function gbnfLiteral(text: string): string {
  return JSON.stringify(text).replace(/\\([bf])/g, (escape, letter: string, offset: number, all: string) => {
    // Only a real escape (an odd run of backslashes before the letter) is rewritten.
    let run = 0;
    for (let i = offset; i >= 0 && all[i] === "\\"; i--) run++;
    if (run % 2 === 0) return escape;
    return letter === "b" ? "\\x08" : "\\x0C";
  });
}
