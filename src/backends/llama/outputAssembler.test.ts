import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { OutputAssembler, type Detokenize } from "./outputAssembler.ts";

/** A byte-level vocabulary: token i is the byte sequence vocab[i], as in Qwen's BPE. */
function byteVocab(pieces: Uint8Array[]): Detokenize {
  const decoder = new TextDecoder("utf-8", { fatal: false });
  return (tokens) => decoder.decode(Buffer.concat(tokens.map((t) => pieces[t]!)));
}

function run(assembler: OutputAssembler, tokens: number[]): { pieces: string[]; stopped: boolean } {
  const pieces: string[] = [];
  for (const token of tokens) {
    const step = assembler.push(token);
    if (step.text) pieces.push(step.text);
    if (step.stopped) return { pieces, stopped: true };
  }
  const last = assembler.finish();
  if (last.text) pieces.push(last.text);
  return { pieces, stopped: false };
}

const noStop = { strings: [], tokenIds: [] };

describe("OutputAssembler", () => {
  it("emits only whole UTF-8 characters when a token ends mid-character", () => {
    const bytes = Buffer.from("你好", "utf8"); // 6 bytes, split 2+2+2 across tokens
    const vocab = [bytes.subarray(0, 2), bytes.subarray(2, 4), bytes.subarray(4, 6)];
    const { pieces } = run(new OutputAssembler(byteVocab(vocab), noStop), [0, 1, 2]);
    assert.equal(pieces.join(""), "你好");
    for (const piece of pieces) assert.ok(!piece.includes("\uFFFD"));
  });

  it("cuts the output before a stop string, even when it spans tokens", () => {
    const vocab = ["Hello", " wor", "ld", "!", " more"].map((s) => Buffer.from(s));
    const result = run(new OutputAssembler(byteVocab(vocab), { strings: ["world!"], tokenIds: [] }), [0, 1, 2, 3, 4]);
    assert.equal(result.pieces.join(""), "Hello ");
    assert.equal(result.stopped, true);
  });

  it("releases held-back text once it cannot be a stop string any more", () => {
    const vocab = ["ab", "c", "x"].map((s) => Buffer.from(s));
    const assembler = new OutputAssembler(byteVocab(vocab), { strings: ["abcd"], tokenIds: [] });
    assert.equal(assembler.push(0).text, "");
    assert.equal(assembler.push(1).text, "");
    assert.equal(assembler.push(2).text, "abcx");
  });

  it("flushes a partial stop string at the end as ordinary text", () => {
    const vocab = ["The ", "en"].map((s) => Buffer.from(s));
    const { pieces, stopped } = run(new OutputAssembler(byteVocab(vocab), { strings: ["end"], tokenIds: [] }), [0, 1]);
    assert.equal(pieces.join(""), "The en");
    assert.equal(stopped, false);
  });

  it("stops on a token-id sequence and hides its text", () => {
    const vocab = ["a", "b", "c", "d"].map((s) => Buffer.from(s));
    const result = run(new OutputAssembler(byteVocab(vocab), { strings: [], tokenIds: [[2, 3]] }), [0, 1, 2, 3, 0]);
    assert.equal(result.pieces.join(""), "ab");
    assert.equal(result.stopped, true);
  });

  it("releases a token held as a possible stop-id prefix when the sequence breaks", () => {
    const vocab = ["a", "b", "c", "d"].map((s) => Buffer.from(s));
    const assembler = new OutputAssembler(byteVocab(vocab), { strings: [], tokenIds: [[2, 3]] });
    assert.equal(assembler.push(0).text, "a");
    assert.equal(assembler.push(2).text, "");
    assert.equal(assembler.push(1).text, "cb");
  });

  it("concatenated pieces equal the plain decode of all tokens", () => {
    const text = "混合 mixed 文本 with emoji 😀 and 中文。";
    const bytes = Buffer.from(text, "utf8");
    const vocab: Uint8Array[] = [];
    for (let i = 0; i < bytes.length; i += 3) vocab.push(bytes.subarray(i, Math.min(bytes.length, i + 3)));
    const { pieces } = run(
      new OutputAssembler(byteVocab(vocab), noStop),
      vocab.map((_, i) => i),
    );
    assert.equal(pieces.join(""), text);
  });
});
