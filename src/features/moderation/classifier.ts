import { randomUUID } from "node:crypto";
import type { ChatMessage, GenerationRequest, ModelRoute } from "../../core/index.ts";
import type { ModeratedSide, Moderator, Verdict } from "./moderator.ts";

/** A guard model's verdicts (Qwen3Guard-Gen writes `Safety: Safe|Unsafe|Controversial`). */
export type GuardLabel = "safe" | "unsafe" | "controversial";

export interface ClassifierOptions {
  /** Labels that refuse the text (default: unsafe). */
  block?: readonly GuardLabel[];
  /** An answer without a readable verdict refuses (default) or lets the text through. */
  onUnreadable?: "block" | "allow";
  timeoutMs?: number;
}

/** The verdict in a guard model's answer, if it gives one. */
export function readGuardVerdict(answer: string): GuardLabel | undefined {
  const match = /safety\s*:\s*(safe|unsafe|controversial)\b/i.exec(answer);
  return match ? (match[1]!.toLowerCase() as GuardLabel) : undefined;
}

const text = (role: ChatMessage["role"], content: string): ChatMessage => ({ role, content: [{ type: "text", text: content }] });

/**
 * A classifier model served by any configured backend (e.g. Qwen3Guard on the embedded engine or
 * on vLLM): the input is judged as a user turn, the output as the assistant's reply to it. It runs
 * once per side (the whole input; the finished answer), not per streamed delta.
 */
export class ClassifierModerator implements Moderator {
  readonly streaming = false;
  readonly #route: () => ModelRoute;
  readonly #block: readonly GuardLabel[];
  readonly #onUnreadable: "block" | "allow";
  readonly #timeoutMs: number;

  constructor(route: () => ModelRoute, options: ClassifierOptions = {}) {
    this.#route = route;
    this.#block = options.block ?? ["unsafe"];
    this.#onUnreadable = options.onUnreadable ?? "block";
    this.#timeoutMs = options.timeoutMs ?? 30_000;
  }

  async check(side: ModeratedSide, content: string, context?: string): Promise<Verdict> {
    const route = this.#route();
    const messages = side === "input" ? [text("user", content)] : [text("user", context ?? ""), text("assistant", content)];
    const request: GenerationRequest = {
      requestId: `moderation-${randomUUID()}`,
      model: route.name,
      messages,
      sampling: { temperature: 0, topK: 1, maxTokens: 64, stop: { strings: [], tokenIds: [] }, n: 1 },
      features: { thinking: { enabled: false } },
    };
    let answer = "";
    for await (const event of route.backend.generate(request, AbortSignal.timeout(this.#timeoutMs))) {
      if (event.type === "delta" && event.content) answer += event.content;
    }
    const label = readGuardVerdict(answer);
    if (label === undefined)
      return { flagged: this.#onUnreadable === "block", reason: `no verdict in the classifier's answer: ${JSON.stringify(answer.slice(0, 80))}` };
    return { flagged: this.#block.includes(label), reason: `classifier: ${label}` };
  }
}
