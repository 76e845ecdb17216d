import type { ToolCallDelta } from "../../core/index.ts";
import { ReasoningSplitter } from "../thinking/index.ts";
import { ToolCallParser, type ToolParameterTypes } from "../tools/index.ts";

export interface OutputPiece {
  reasoning: string;
  content: string;
  toolCalls: ToolCallDelta[];
}

export interface OutputParserOptions {
  /** Split `<think>` … `</think>` off as reasoning. */
  thinking: boolean;
  /** The prompt already opened the thought (the model starts inside it). */
  startInReasoning: boolean;
  /** Parse tool calls out of the answer (absent: the answer is all content). */
  tools?: { parameterTypes?: ToolParameterTypes; newId?: () => string };
}

/**
 * A model's raw output text as the API shows it: reasoning, answer content and tool calls, each
 * piece safe to send as soon as it is returned, however the text was chunked.
 */
export class OutputParser {
  readonly #splitter: ReasoningSplitter | undefined;
  readonly #tools: ToolCallParser | undefined;
  /** A call's first piece, held until its first argument text, so the two go out together (§6.5). */
  #heldStart: ToolCallDelta | undefined;

  constructor(options: OutputParserOptions) {
    this.#splitter = options.thinking ? new ReasoningSplitter({ startInReasoning: options.startInReasoning }) : undefined;
    this.#tools = options.tools ? new ToolCallParser(options.tools) : undefined;
  }

  /** Still inside the thought (nothing of the answer yet). */
  get inReasoning(): boolean {
    return this.#splitter !== undefined && !this.#splitter.answerStarted;
  }

  get insideToolCall(): boolean {
    return this.#tools?.insideCall ?? false;
  }

  get completedToolCalls(): number {
    return this.#tools?.completedCalls ?? 0;
  }

  push(text: string): OutputPiece {
    const split = this.#splitter ? this.#splitter.push(text) : { reasoning: "", content: text };
    return this.#answer(split.reasoning, split.content, false);
  }

  finish(): OutputPiece {
    const split = this.#splitter ? this.#splitter.finish() : { reasoning: "", content: "" };
    return this.#answer(split.reasoning, split.content, true);
  }

  #answer(reasoning: string, content: string, final: boolean): OutputPiece {
    if (!this.#tools) return { reasoning, content, toolCalls: [] };
    const parsed = this.#tools.push(content);
    if (!final) return { reasoning, content: parsed.content, toolCalls: this.#joinStarts(parsed.toolCalls, false) };
    const rest = this.#tools.finish();
    return {
      reasoning,
      content: parsed.content + rest.content,
      toolCalls: this.#joinStarts([...parsed.toolCalls, ...rest.toolCalls], true),
    };
  }

  #joinStarts(deltas: ToolCallDelta[], final: boolean): ToolCallDelta[] {
    const out: ToolCallDelta[] = [];
    for (const delta of deltas) {
      const held = this.#heldStart;
      if (held && held.index === delta.index) {
        this.#heldStart = undefined;
        out.push({ ...held, arguments: held.arguments + delta.arguments });
        continue;
      }
      if (held) out.push(held);
      this.#heldStart = delta.id !== undefined && delta.arguments === "" ? delta : undefined;
      if (!this.#heldStart) out.push(delta);
    }
    if (final && this.#heldStart) {
      out.push(this.#heldStart);
      this.#heldStart = undefined;
    }
    return out;
  }
}
