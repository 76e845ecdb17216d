import type { StopConditions } from "../../core/index.ts";

/** Turns tokens into text; `lastTokens` precede `tokens` (some tokenizers need them for spacing). */
export type Detokenize = (tokens: readonly number[], lastTokens: readonly number[]) => string;

export interface AssemblerStep {
  /** Newly visible text: whole characters, never part of a possible stop sequence. */
  text: string;
  /** A stop string or stop token sequence was produced; generation must end. */
  stopped: boolean;
}

/** Bytes a UTF-8 character can span; a token run longer than this that still decodes to U+FFFD is taken as is. */
const MAX_PENDING_TOKENS = 4;
const REPLACEMENT = "\uFFFD";
const CONTEXT_TOKENS = 4;

/**
 * Assembles a generation's visible text token by token:
 * - holds tokens back while they end inside a UTF-8 character (byte-level BPE splits CJK
 *   characters across tokens), so every emitted piece is whole characters;
 * - holds text back while it could be the start of a stop string or stop token sequence, and
 *   cuts the output before the stop once it is complete (stops are never shown).
 */
export class OutputAssembler {
  readonly #detokenize: Detokenize;
  readonly #stopStrings: string[];
  readonly #stopTokenIds: number[][];
  readonly #tokens: number[] = [];
  /** Text length once token i is decoded (tokens decoded together share an end). */
  readonly #textEnds: number[] = [];
  #pending: number[] = [];
  #text = "";
  #emitted = 0;
  #stopped = false;

  constructor(detokenize: Detokenize, stop: StopConditions) {
    this.#detokenize = detokenize;
    this.#stopStrings = stop.strings.filter((s) => s.length > 0);
    this.#stopTokenIds = stop.tokenIds.filter((ids) => ids.length > 0);
  }

  get text(): string {
    return this.#text.slice(0, this.#emitted);
  }

  push(token: number): AssemblerStep {
    if (this.#stopped) return { text: "", stopped: true };
    this.#tokens.push(token);
    this.#pending.push(token);
    this.#decodePending(false);
    return this.#advance(false);
  }

  /** End of generation: flush whatever is held back (a partial stop is ordinary text now). */
  finish(): AssemblerStep {
    if (this.#stopped) return { text: "", stopped: true };
    this.#decodePending(true);
    return this.#advance(true);
  }

  #decodePending(force: boolean): void {
    if (this.#pending.length === 0) return;
    const before = this.#tokens.slice(Math.max(0, this.#tokens.length - this.#pending.length - CONTEXT_TOKENS), this.#tokens.length - this.#pending.length);
    const piece = this.#detokenize(this.#pending, before);
    if (!force && piece.endsWith(REPLACEMENT) && this.#pending.length < MAX_PENDING_TOKENS) return;
    this.#text += piece;
    for (let i = 0; i < this.#pending.length; i++) this.#textEnds.push(this.#text.length);
    this.#pending = [];
  }

  /** Text position where token i starts. */
  #tokenStart(i: number): number {
    return i <= 0 ? 0 : (this.#textEnds[i - 1] ?? this.#text.length);
  }

  #advance(final: boolean): AssemblerStep {
    let cut = this.#findStopString();
    const tokenStop = this.#findStopTokens();
    if (tokenStop !== undefined) cut = cut === undefined ? tokenStop : Math.min(cut, tokenStop);
    if (cut !== undefined) {
      this.#stopped = true;
      return { text: this.#emit(Math.max(cut, this.#emitted)), stopped: true };
    }
    const safe = final ? this.#text.length : Math.min(this.#text.length - this.#stringHoldback(), this.#tokenHoldback());
    return { text: this.#emit(safe), stopped: false };
  }

  #emit(end: number): string {
    if (end <= this.#emitted) return "";
    const piece = this.#text.slice(this.#emitted, end);
    this.#emitted = end;
    return piece;
  }

  #findStopString(): number | undefined {
    let best: number | undefined;
    for (const stop of this.#stopStrings) {
      const at = this.#text.indexOf(stop, this.#emitted);
      if (at !== -1 && (best === undefined || at < best)) best = at;
    }
    return best;
  }

  #findStopTokens(): number | undefined {
    const tokens = this.#tokens;
    for (const ids of this.#stopTokenIds) {
      if (ids.length > tokens.length) continue;
      const start = tokens.length - ids.length;
      if (ids.every((id, k) => tokens[start + k] === id)) return this.#tokenStart(start);
    }
    return undefined;
  }

  /** Length of the longest text suffix that is a proper prefix of a stop string. */
  #stringHoldback(): number {
    let hold = 0;
    for (const stop of this.#stopStrings) {
      const max = Math.min(stop.length - 1, this.#text.length - this.#emitted);
      for (let len = max; len > hold; len--) {
        if (this.#text.endsWith(stop.slice(0, len))) {
          hold = len;
          break;
        }
      }
    }
    return hold;
  }

  /** Text position before which output is safe from stop token sequences still in progress. */
  #tokenHoldback(): number {
    const tokens = this.#tokens;
    let safe = this.#text.length;
    for (const ids of this.#stopTokenIds) {
      for (let len = Math.min(ids.length - 1, tokens.length); len > 0; len--) {
        const start = tokens.length - len;
        if (ids.slice(0, len).every((id, k) => tokens[start + k] === id)) {
          safe = Math.min(safe, this.#tokenStart(start));
          break;
        }
      }
    }
    return safe;
  }
}
