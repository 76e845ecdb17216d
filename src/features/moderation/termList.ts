import type { ModeratedSide, Moderator, Verdict } from "./moderator.ts";

export interface TermListOptions {
  /** Words or phrases, matched case-insensitively anywhere in the text. */
  terms?: readonly string[];
  /** Regular expressions (JavaScript syntax), matched case-insensitively. */
  patterns?: readonly string[];
}

/** Zero-width and other invisible characters people insert to slip a word past a filter. */
const INVISIBLE = /[\u00AD\u200B-\u200F\u2060-\u2064\uFEFF]/g;

/** Text as the lists see it: NFKC (full-width and compatibility forms folded), invisible characters gone, lower case. */
export function normalizeForMatching(text: string): string {
  return text.normalize("NFKC").replace(INVISIBLE, "").toLowerCase();
}

/**
 * The default moderator: operator-configured term and pattern lists. Cheap enough to run on every
 * streamed delta, so a flagged answer is cut as soon as the offending text is complete.
 */
export class TermListModerator implements Moderator {
  readonly streaming = true;
  readonly #terms: string[];
  readonly #patterns: RegExp[];

  constructor(options: TermListOptions) {
    this.#terms = (options.terms ?? []).map(normalizeForMatching).filter((term) => term !== "");
    this.#patterns = (options.patterns ?? []).map((source) => new RegExp(source, "iu"));
  }

  get empty(): boolean {
    return this.#terms.length === 0 && this.#patterns.length === 0;
  }

  async check(_side: ModeratedSide, text: string): Promise<Verdict> {
    const normalized = normalizeForMatching(text);
    const term = this.#terms.find((t) => normalized.includes(t));
    if (term !== undefined) return { flagged: true, reason: `term "${term}"` };
    const pattern = this.#patterns.find((p) => p.test(normalized));
    if (pattern) return { flagged: true, reason: `pattern /${pattern.source}/` };
    return { flagged: false };
  }
}
