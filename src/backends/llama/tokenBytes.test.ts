import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { vocabTokenBytes } from "./tokenBytes.ts";

/** GPT-2's `bytes_to_unicode`: the printable character byte-level BPE writes for each byte. */
function bytesToUnicode(): string[] {
  const bs: number[] = [];
  for (let b = "!".charCodeAt(0); b <= "~".charCodeAt(0); b++) bs.push(b);
  for (let b = "¡".charCodeAt(0); b <= "¬".charCodeAt(0); b++) bs.push(b);
  for (let b = "®".charCodeAt(0); b <= "ÿ".charCodeAt(0); b++) bs.push(b);
  const cs = [...bs];
  let n = 0;
  for (let b = 0; b < 256; b++) {
    if (!bs.includes(b)) {
      bs.push(b);
      cs.push(256 + n++);
    }
  }
  const table: string[] = [];
  bs.forEach((b, i) => {
    table[b] = String.fromCodePoint(cs[i]!);
  });
  return table;
}

const BYTE_CHAR = bytesToUnicode();
/** The byte-level vocabulary piece for these bytes. */
const gpt2Piece = (bytes: Iterable<number>): string => [...bytes].map((b) => BYTE_CHAR[b]!).join("");
const utf8 = (text: string): number[] => [...Buffer.from(text, "utf8")];

describe("vocabTokenBytes: GPT-2 byte-level pieces", () => {
  it("decodes the space and newline markers", () => {
    assert.deepEqual(vocabTokenBytes("Ġhello", "gpt2"), utf8(" hello"));
    assert.deepEqual(vocabTokenBytes("Ċ", "gpt2"), [10]);
    assert.deepEqual(vocabTokenBytes("ĊĊ", "gpt2"), [10, 10]);
  });

  it("round-trips every byte", () => {
    for (let b = 0; b < 256; b++) assert.deepEqual(vocabTokenBytes(gpt2Piece([b]), "gpt2"), [b], `byte ${b}`);
  });

  it("gives the partial bytes of a character split across tokens", () => {
    const bytes = utf8("画"); // E7 94 BB
    const first = vocabTokenBytes(gpt2Piece(bytes.slice(0, 2)), "gpt2");
    const second = vocabTokenBytes(gpt2Piece(bytes.slice(2)), "gpt2");
    assert.deepEqual(first, [0xe7, 0x94]);
    assert.deepEqual(second, [0xbb]);
    assert.equal(Buffer.from([...first, ...second]).toString("utf8"), "画");
  });

  it("decodes whole multi-byte text", () => {
    const text = " 你好, world!\n";
    assert.deepEqual(vocabTokenBytes(gpt2Piece(utf8(text)), "gpt2"), utf8(text));
  });

  it("reads added tokens written in plain ASCII as their text", () => {
    assert.deepEqual(vocabTokenBytes("<|im_start|>", "gpt2"), utf8("<|im_start|>"));
  });
});

describe("vocabTokenBytes: llama (SentencePiece) pieces", () => {
  it("turns ▁ into a space", () => {
    assert.deepEqual(vocabTokenBytes("▁the", "llama"), utf8(" the"));
    assert.deepEqual(vocabTokenBytes("▁▁x", "llama"), utf8("  x"));
  });

  it("reads byte-fallback pieces as one byte", () => {
    assert.deepEqual(vocabTokenBytes("<0xE4>", "llama"), [0xe4]);
    assert.deepEqual(vocabTokenBytes("<0x0A>", "llama"), [10]);
    assert.deepEqual(vocabTokenBytes("<0xff>", "llama"), [0xff]);
  });

  it("gives other pieces as UTF-8", () => {
    assert.deepEqual(vocabTokenBytes("杭州", "llama"), utf8("杭州"));
    assert.deepEqual(vocabTokenBytes("<s>", "llama"), utf8("<s>"));
  });
});

describe("vocabTokenBytes: other tokenizer kinds", () => {
  it("gives the piece as UTF-8", () => {
    for (const kind of ["", "bert", "t5"]) {
      assert.deepEqual(vocabTokenBytes("Ġhi▁<0xE4>", kind), utf8("Ġhi▁<0xE4>"), kind);
    }
  });
});
