import type { LlamaModel, Token } from "node-llama-cpp";

/**
 * GPT-2 byte-level BPE writes each byte as a printable character; this undoes that mapping
 * (the inverse of `bytes_to_unicode` in GPT-2's encoder).
 */
function gpt2ByteDecoder(): Map<string, number> {
  const printable: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) printable.push(b);
  for (let b = 0xa1; b <= 0xac; b++) printable.push(b);
  for (let b = 0xae; b <= 0xff; b++) printable.push(b);
  const decoder = new Map<string, number>();
  for (const b of printable) decoder.set(String.fromCodePoint(b), b);
  let shifted = 0;
  for (let b = 0; b < 256; b++) {
    if (!printable.includes(b)) decoder.set(String.fromCodePoint(256 + shifted++), b);
  }
  return decoder;
}

const GPT2_BYTES = gpt2ByteDecoder();
const utf8 = (text: string): number[] => [...Buffer.from(text, "utf8")];

/** A token's raw bytes from its vocabulary entry, for the tokenizer kinds GGUF models use. */
export function vocabTokenBytes(piece: string, tokenizerModel: string): number[] {
  if (tokenizerModel === "gpt2") {
    return [...piece].flatMap((ch) => {
      const byte = GPT2_BYTES.get(ch);
      return byte === undefined ? utf8(ch) : [byte];
    });
  }
  if (tokenizerModel === "llama") {
    const byte = /^<0x([0-9A-Fa-f]{2})>$/.exec(piece);
    if (byte) return [parseInt(byte[1]!, 16)];
    return utf8(piece.replace(/\u2581/g, " "));
  }
  return utf8(piece);
}

/** Text and exact bytes of each token of a model, for logprobs (cached: the same tokens recur). */
export class TokenDescriber {
  readonly #model: LlamaModel;
  readonly #pieces: readonly string[] | undefined;
  readonly #tokenizerModel: string;
  readonly #cache = new Map<number, { token: string; bytes: number[] }>();

  constructor(model: LlamaModel) {
    this.#model = model;
    const tokenizer = model.fileInfo.metadata?.tokenizer?.ggml;
    this.#pieces = Array.isArray(tokenizer?.tokens) ? (tokenizer.tokens as string[]) : undefined;
    this.#tokenizerModel = String(tokenizer?.model ?? "");
  }

  /** Tokens in the vocabulary (undefined when the file does not list them). */
  get vocabularySize(): number | undefined {
    return this.#pieces?.length;
  }

  describe = (token: number): { token: string; bytes: number[] } => {
    let described = this.#cache.get(token);
    if (!described) {
      const text = this.#model.detokenize([token as Token], true);
      const piece = this.#pieces?.[token];
      described = { token: text, bytes: piece === undefined ? utf8(text) : vocabTokenBytes(piece, this.#tokenizerModel) };
      if (this.#cache.size < 65536) this.#cache.set(token, described);
    }
    return described;
  };
}
