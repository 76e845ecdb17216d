/** One side of a conversation, as a moderator sees it. */
export type ModeratedSide = "input" | "output";

export interface Verdict {
  flagged: boolean;
  /** What matched or what the classifier said (for logs, never sent to the client). */
  reason?: string;
}

/**
 * Decides whether text is inappropriate. `text` is the whole input (every message) or the output
 * so far; `context` is the conversation the output answers, for classifiers that judge replies.
 */
export interface Moderator {
  /** Output moderators that are cheap run on every delta; others only once the answer is complete. */
  readonly streaming: boolean;
  check(side: ModeratedSide, text: string, context?: string): Promise<Verdict>;
}

/** Flags when any of the moderators flags (in order; the first verdict that flags wins). */
export class AnyOfModerators implements Moderator {
  readonly streaming: boolean;

  constructor(readonly moderators: readonly Moderator[]) {
    this.streaming = moderators.every((m) => m.streaming);
  }

  async check(side: ModeratedSide, text: string, context?: string): Promise<Verdict> {
    for (const moderator of this.moderators) {
      const verdict = await moderator.check(side, text, context);
      if (verdict.flagged) return verdict;
    }
    return { flagged: false };
  }
}
