import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { chunkings as cut, LONE_SURROGATE } from "../../../test/helpers/chunkings.ts";
import { ReasoningSplitter, type SplitPiece } from "./reasoningSplitter.ts";

const chunkings = (input: string) => cut(input, 6);

function split(chunks: string[], startInReasoning: boolean): SplitPiece {
  const splitter = new ReasoningSplitter({ startInReasoning });
  const total: SplitPiece = { reasoning: "", content: "" };
  for (const piece of [...chunks.map((chunk) => splitter.push(chunk)), splitter.finish()]) {
    assert.doesNotMatch(piece.reasoning, LONE_SURROGATE);
    assert.doesNotMatch(piece.content, LONE_SURROGATE);
    total.reasoning += piece.reasoning;
    total.content += piece.content;
  }
  return total;
}

function assertSplits(input: string, startInReasoning: boolean, expected: SplitPiece): void {
  for (const { label, chunks } of chunkings(input)) {
    assert.deepEqual(split(chunks, startInReasoning), expected, `${label}: ${JSON.stringify(input)}`);
  }
}

describe("ReasoningSplitter, thought opened by the model", () => {
  it("splits a think block from the answer, dropping whitespace around both", () => {
    assertSplits("<think>\nLet me see.\n2 + 2 = 4.\n</think>\n\nThe answer is 4.", false, {
      reasoning: "Let me see.\n2 + 2 = 4.",
      content: "The answer is 4.",
    });
  });

  it("allows whitespace before <think>", () => {
    assertSplits("\n  <think>hmm</think>ok", false, { reasoning: "hmm", content: "ok" });
  });

  it("passes text without a think block through as content, minus leading whitespace", () => {
    assertSplits("Hello there.\n", false, { reasoning: "", content: "Hello there.\n" });
    assertSplits("  \n Hello", false, { reasoning: "", content: "Hello" });
    assertSplits("<thinking> is not a tag", false, { reasoning: "", content: "<thinking> is not a tag" });
    assertSplits("<b>bold</b>", false, { reasoning: "", content: "<b>bold</b>" });
  });

  it("keeps a later <think> in the answer as content", () => {
    assertSplits("Hi <think>x</think> there", false, { reasoning: "", content: "Hi <think>x</think> there" });
    assertSplits("<think>a</think>b <think>c</think>", false, { reasoning: "a", content: "b <think>c</think>" });
  });

  it("handles an empty thought", () => {
    assertSplits("<think>\n\n</think>\n\nAnswer", false, { reasoning: "", content: "Answer" });
  });

  it("emits an undecided start as content at finish", () => {
    assertSplits("<thi", false, { reasoning: "", content: "<thi" });
    assertSplits("  <", false, { reasoning: "", content: "<" });
    assertSplits(" \n ", false, { reasoning: "", content: "" });
    assertSplits("", false, { reasoning: "", content: "" });
  });
});

describe("ReasoningSplitter, thought opened by the prompt", () => {
  it("is in reasoning from the first character", () => {
    assertSplits("\nLet me think.\n</think>\n\nThe answer.", true, {
      reasoning: "Let me think.",
      content: "The answer.",
    });
  });

  it("keeps inner whitespace and drops it only at the edges of the thought", () => {
    assertSplits("  a  \n\n b \t\n</think>  c  d \n", true, { reasoning: "a  \n\n b", content: "c  d \n" });
  });

  it("keeps text that only looks like the start of </think>", () => {
    assertSplits("a < b </ c </thin k </think>d", true, { reasoning: "a < b </ c </thin k", content: "d" });
    assertSplits("x </think </think>y", true, { reasoning: "x </think", content: "y" });
  });

  it("emits a partial closing tag as reasoning at finish, dropping trailing whitespace", () => {
    assertSplits("abc </thi", true, { reasoning: "abc </thi", content: "" });
    assertSplits("abc  \n", true, { reasoning: "abc", content: "" });
    assertSplits("  ", true, { reasoning: "", content: "" });
  });

  it("drops whitespace after the thought even when nothing follows", () => {
    assertSplits("r</think> \n ", true, { reasoning: "r", content: "" });
  });

  it("never splits a surrogate pair", () => {
    assertSplits("思考 😀 中 \n</think>\n回答 🎉", true, { reasoning: "思考 😀 中", content: "回答 🎉" });
    assertSplits("😀<think>", false, { reasoning: "", content: "😀<think>" });
  });
});

describe("ReasoningSplitter state", () => {
  it("reports where it is", () => {
    const splitter = new ReasoningSplitter({ startInReasoning: false });
    assert.deepEqual(splitter.push(" <thi"), { reasoning: "", content: "" });
    assert.equal(splitter.inReasoning, false);
    assert.equal(splitter.answerStarted, false);
    assert.deepEqual(splitter.push("nk>\nA "), { reasoning: "A", content: "" });
    assert.equal(splitter.inReasoning, true);
    assert.deepEqual(splitter.push("</think>\n"), { reasoning: "", content: "" });
    assert.equal(splitter.inReasoning, false);
    assert.equal(splitter.answerStarted, true);
    assert.deepEqual(splitter.push("B"), { reasoning: "", content: "B" });
    assert.deepEqual(splitter.finish(), { reasoning: "", content: "" });

    const direct = new ReasoningSplitter({ startInReasoning: false });
    direct.push("Hi");
    assert.equal(direct.answerStarted, true);
    assert.equal(new ReasoningSplitter({ startInReasoning: true }).inReasoning, true);
  });
});
