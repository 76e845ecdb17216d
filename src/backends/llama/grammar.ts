import type { Llama, LlamaGrammar } from "node-llama-cpp";
import { invalidParameter, type JsonSchema } from "../../core/index.ts";
import { jsonSchemaGrammar } from "../../features/index.ts";

/** Compiles and caches grammars (the same schemas recur across requests; a grammar is immutable). */
export class GrammarCompiler {
  readonly #llama: Llama;
  readonly #grammars = new Map<string, Promise<LlamaGrammar>>();
  static readonly MAX_CACHED = 128;

  constructor(llama: Llama) {
    this.#llama = llama;
  }

  /** Rules for values matching a prepared schema, rooted at `${prefix}root`. */
  jsonRules(schema: JsonSchema, prefix: string): string {
    try {
      return jsonSchemaGrammar(schema, prefix);
    } catch (error) {
      throw invalidParameter(`The JSON schema cannot be turned into a grammar: ${(error as Error).message}`);
    }
  }

  compile(gbnf: string): Promise<LlamaGrammar> {
    let grammar = this.#grammars.get(gbnf);
    if (!grammar) {
      if (this.#grammars.size >= GrammarCompiler.MAX_CACHED) this.#grammars.delete(this.#grammars.keys().next().value!);
      grammar = this.#llama.createGrammar({ grammar: gbnf }).catch((error: unknown) => {
        this.#grammars.delete(gbnf);
        // What reaches here comes from the client's schemas (e.g. a definition that only refers to itself).
        throw invalidParameter(`The schema cannot be turned into a grammar: ${(error as Error).message}`);
      });
      this.#grammars.set(gbnf, grammar);
    }
    return grammar;
  }
}
