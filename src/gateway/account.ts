import { type ApiError, type EngineEvent, type GenerationTrace, type Usage, sumUsage } from "../core/index.ts";
import type { UsageRecord } from "../store/index.ts";
import type { Caller } from "./auth.ts";

/**
 * Everything the gateway learns about one request while it runs: who called, which model and
 * backend served it, when the first event came, the usage of each choice, and how it ended.
 * It becomes one usage-ledger record and one set of metric observations when the response closes.
 */
export class RequestAccount {
  readonly requestId: string;
  readonly endpoint: string;
  readonly startedAt: number;
  readonly #clock: () => number;
  caller: Caller = { kind: "open" };
  /** Served model name once resolved. */
  model = "";
  backend = "";
  stream = false;
  readonly trace: GenerationTrace = {};
  firstEventAt: number | undefined;
  readonly #usages = new Map<number, Usage>();
  /** The error the client was told about (also when it came as a stream's last frame). */
  error: ApiError | undefined;
  /** Called once when the request ends, with its real usage (limit settlement, model slot release). */
  readonly #onEnd: ((usage: Usage) => void)[] = [];
  #ended = false;
  /** The answer text of choice 0, kept only when content logging is configured. */
  #captured: string[] | undefined;

  constructor(requestId: string, endpoint: string, clock: () => number = Date.now) {
    this.requestId = requestId;
    this.endpoint = endpoint;
    this.#clock = clock;
    this.startedAt = clock();
  }

  /** Keep choice 0's answer text for the access log (config `log_content`). */
  captureContent(): void {
    this.#captured = [];
  }

  get capturedContent(): string | undefined {
    return this.#captured?.join("");
  }

  /** Passes events through, noting the first one's time and each choice's latest usage. */
  async *observe(events: AsyncIterable<EngineEvent>): AsyncGenerator<EngineEvent> {
    for await (const event of events) {
      this.firstEventAt ??= this.#clock();
      this.#usages.set(event.index, event.usage);
      if (this.#captured && event.type === "delta" && event.index === 0 && event.content) this.#captured.push(event.content);
      yield event;
    }
  }

  /** Usage of a request that produced no events (tokenizer). */
  noteUsage(usage: Usage): void {
    this.#usages.set(0, usage);
  }

  get usage(): Usage {
    return sumUsage([...this.#usages.entries()].sort(([a], [b]) => a - b).map(([, usage]) => usage));
  }

  onEnd(callback: (usage: Usage) => void): void {
    this.#onEnd.push(callback);
  }

  /** Runs the end callbacks once; later calls do nothing. */
  end(): void {
    if (this.#ended) return;
    this.#ended = true;
    const usage = this.usage;
    for (const callback of this.#onEnd) callback(usage);
  }

  record(status: number, now = this.#clock()): UsageRecord {
    const usage = this.usage;
    const caller = this.caller;
    return {
      requestId: this.requestId,
      time: this.startedAt,
      keyId: caller.kind === "managed" ? caller.key.id : null,
      workspace: caller.kind === "managed" ? caller.key.workspace : null,
      model: this.model,
      endpoint: this.endpoint,
      backend: this.backend,
      replica: this.trace.replica ?? null,
      stream: this.stream,
      inputTokens: usage.inputTokens,
      outputTokens: usage.outputTokens,
      reasoningTokens: usage.reasoningTokens ?? 0,
      cachedTokens: usage.cachedTokens ?? 0,
      imageTokens: usage.imageTokens ?? 0,
      videoTokens: usage.videoTokens ?? 0,
      audioTokens: usage.audioTokens ?? 0,
      ttftMs: this.firstEventAt === undefined ? null : this.firstEventAt - this.startedAt,
      durationMs: now - this.startedAt,
      status,
      code: this.error?.code ?? null,
    };
  }
}
