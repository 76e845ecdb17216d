/**
 * Splits the streamed output of a Qwen thinking model into the thought (`<think>` … `</think>`) and the answer.
 * Pure and chunking-independent: however the text is cut into pushes, the concatenated output is the same.
 */

import { heldBackStart } from "../text/index.ts";

export const THINK_OPEN = "<think>";
export const THINK_CLOSE = "</think>";

export interface SplitPiece {
  reasoning: string;
  content: string;
}

type Phase =
  | "undecided" // no thought opened by the prompt: waiting to see whether the text starts with <think>
  | "reasoning" // inside the thought
  | "answerWhitespace" // the thought closed: dropping whitespace before the answer
  | "answer"; // everything from here on is content, verbatim

export class ReasoningSplitter {
  private phase: Phase;
  /** Received text not yet emitted: whitespace, or what may be the start of a tag. */
  private held = "";
  /** Whether any reasoning was emitted yet: until then, whitespace at the start of the thought is dropped. */
  private reasoningBegun = false;

  constructor(options: { startInReasoning: boolean }) {
    this.phase = options.startInReasoning ? "reasoning" : "undecided";
  }

  /** Currently inside the thought. */
  get inReasoning(): boolean {
    return this.phase === "reasoning";
  }

  /** The thought is over (or there was none): following text is the answer. */
  get answerStarted(): boolean {
    return this.phase === "answerWhitespace" || this.phase === "answer";
  }

  /** Takes the next piece of generated text; returns what is now safe to emit of each kind. */
  push(text: string): SplitPiece {
    const out: SplitPiece = { reasoning: "", content: "" };
    this.held += text;

    if (this.phase === "undecided") {
      const start = this.held.trimStart();
      if (start.startsWith(THINK_OPEN)) {
        this.phase = "reasoning";
        this.held = start.slice(THINK_OPEN.length);
      } else if (THINK_OPEN.startsWith(start)) {
        return out; // only whitespace, or what may still become <think>
      } else {
        this.phase = "answer";
        this.held = start;
      }
    }

    if (this.phase === "reasoning") {
      if (!this.reasoningBegun) this.held = this.held.trimStart();
      const close = this.held.indexOf(THINK_CLOSE);
      if (close < 0) {
        const keep = heldBackStart(this.held, THINK_CLOSE);
        if (keep > 0) this.reasoningBegun = true;
        out.reasoning += this.held.slice(0, keep);
        this.held = this.held.slice(keep);
        return out;
      }
      out.reasoning += this.held.slice(0, close).trimEnd();
      this.held = this.held.slice(close + THINK_CLOSE.length);
      this.phase = "answerWhitespace";
    }

    if (this.phase === "answerWhitespace") {
      this.held = this.held.trimStart();
      if (this.held === "") return out;
      this.phase = "answer";
    }

    out.content += this.held;
    this.held = "";
    return out;
  }

  /** End of generation: flushes what was held back. */
  finish(): SplitPiece {
    const out: SplitPiece = { reasoning: "", content: "" };
    // "undecided" holds whitespace plus a proper prefix of <think>, which was content after all;
    // "answerWhitespace" holds only whitespace, dropped; "answer" holds nothing.
    if (this.phase === "undecided") out.content = this.held.trimStart();
    // A partial </think> is part of the thought; trailing whitespace of the thought is dropped.
    if (this.phase === "reasoning") out.reasoning = this.held.trimEnd();
    this.held = "";
    return out;
  }
}
