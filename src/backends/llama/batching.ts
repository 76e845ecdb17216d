import type { BatchItem, PrioritizedBatchItem } from "node-llama-cpp";

/** Prompt tokens one sequence may add to a decoding step while other sequences are generating. */
export const PREFILL_CHUNK_WHILE_GENERATING = 128;

/**
 * Which queued tokens go into the next batch. Every generating sequence (one queued token) gets
 * its token in; prompts share what is left, each at most `chunk` tokens while anything is
 * generating — so a long prompt is prefilled over several steps instead of stalling every
 * stream for the whole prefill. With nothing generating, prompts take the whole batch.
 */
export function chunkedPrefillStrategy(chunk = PREFILL_CHUNK_WHILE_GENERATING) {
  return ({ items, size }: { items: readonly BatchItem[]; size: number }): PrioritizedBatchItem[] => {
    const generating = items.filter((item) => item.tokens.length === 1);
    const prompts = items.filter((item) => item.tokens.length > 1);
    const chosen: PrioritizedBatchItem[] = [];
    let left = size;
    for (const item of generating) {
      if (left === 0) break;
      chosen.push({ item, processAmount: 1 });
      left--;
    }
    const cap = generating.length > 0 ? chunk : size;
    // Water-filling: equal shares, what short prompts leave over shared again among the others.
    const wants = prompts.map((item) => Math.min(item.tokens.length, cap));
    const taken = prompts.map(() => 0);
    for (let wanting = prompts.length; left > 0 && wanting > 0; ) {
      const share = Math.max(1, Math.floor(left / wanting));
      wanting = 0;
      for (let i = 0; i < prompts.length && left > 0; i++) {
        const extra = Math.min(wants[i]! - taken[i]!, share, left);
        taken[i]! += extra;
        left -= extra;
        if (taken[i]! < wants[i]!) wanting++;
      }
    }
    prompts.forEach((item, i) => {
      if (taken[i]! > 0) chosen.push({ item, processAmount: taken[i]! });
    });
    return chosen;
  };
}
