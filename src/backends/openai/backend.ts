import { AsyncQueue } from "../../core/asyncQueue.ts";
import { ApiError, errors, invalidParameter } from "../../core/errors.ts";
import type { Backend, Capabilities, EngineEvent, FinishReason, GenerationRequest, TokenizeResult } from "../../core/types.ts";
import { ChunkTranslator } from "./chunkEvents.ts";
import { KIND_TRAITS, type KindTraits, type UpstreamKind } from "./kinds.ts";
import { ReplicaPool, type ReplicaConfig, type ReplicaState } from "./replicaPool.ts";
import { upstreamBody } from "./requestBody.ts";
import { sseData } from "./sseReader.ts";

export interface UpstreamOptions {
  /** The served model name (for messages). */
  name: string;
  kind: UpstreamKind;
  /** The model name the engine knows. */
  upstreamModel: string;
  replicas: ReplicaConfig[];
  /** Until the response headers (connection, queueing, prefill start). */
  firstByteTimeoutMs: number;
  /** Longest silence between two chunks of a stream. */
  idleTimeoutMs: number;
  /** Active health checks (GET <url>/models); 0 turns them off. */
  healthIntervalMs: number;
  cooldownMs: number;
  authCooldownMs: number;
  maxN: number;
}

interface Attempt {
  response: Response;
  replica: ReplicaState;
  release: () => void;
  /** Resets the idle timer; call on every chunk. */
  alive: () => void;
  /** Ends the exchange: timers cleared, the connection closed if still open (the engine stops generating). */
  stop: () => void;
}

function abortError(signal: AbortSignal): ApiError {
  return signal.reason instanceof ApiError ? signal.reason : errors.requestTimeout();
}

async function upstreamMessage(response: Response): Promise<string> {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { error?: { message?: string } | string; message?: string };
    const error = body.error;
    return (typeof error === "string" ? error : error?.message) ?? body.message ?? text;
  } catch {
    return text.slice(0, 500) || `HTTP ${response.status}`;
  }
}

/**
 * A model served by OpenAI-compatible engines (vLLM, SGLang, llama-server, Ollama, any OpenAI API)
 * on one or more replicas. Requests go to the least-loaded healthy replica; a failure before the
 * first event is retried on another; a failure mid-stream ends the stream with an error.
 */
export class OpenAiUpstreamBackend implements Backend {
  readonly capabilities: Capabilities;
  readonly pool: ReplicaPool;
  readonly #options: UpstreamOptions;
  readonly #traits: KindTraits;
  readonly #health: NodeJS.Timeout | undefined;

  constructor(options: UpstreamOptions) {
    if (options.replicas.length === 0) throw new Error(`model "${options.name}": an upstream model needs at least one replica`);
    this.#options = options;
    this.#traits = KIND_TRAITS[options.kind];
    this.pool = new ReplicaPool(options.replicas, { cooldownMs: options.cooldownMs, authCooldownMs: options.authCooldownMs });
    this.capabilities = {
      tools: true,
      thinking: this.#traits.thinking !== undefined,
      grammar: true,
      logprobs: true,
      vision: false,
      audio: false,
      maxN: options.maxN,
      stopTokenIds: this.#traits.stopTokenIds !== undefined,
      topK: this.#traits.topK,
      repetitionPenalty: this.#traits.repetitionPenalty !== undefined,
      logitBias: this.#traits.logitBias,
      thinkingBudget: this.#traits.thinkingBudget,
    };
    if (options.healthIntervalMs > 0) {
      this.#health = setInterval(() => void this.checkHealth(), options.healthIntervalMs);
      this.#health.unref();
    }
  }

  /** One round of active health checks: GET <url>/models on every replica. */
  async checkHealth(): Promise<void> {
    await Promise.all(
      this.pool.replicas.map(async (replica) => {
        try {
          const response = await fetch(`${replica.config.url}/models`, { headers: this.#headers(replica), signal: AbortSignal.timeout(5000) });
          await response.body?.cancel();
          this.pool.health(replica, response.ok);
        } catch {
          this.pool.health(replica, false);
        }
      }),
    );
  }

  async *generate(request: GenerationRequest, signal: AbortSignal): AsyncIterable<EngineEvent> {
    const stop = request.sampling.stop;
    if (stop.tokenIds.length > 0 && stop.strings.length > 0 && this.#traits.stopTokenIds === "sequences") {
      throw invalidParameter(`Model "${this.#options.name}" takes stop strings or stop token ids, not both in one request.`);
    }
    if (this.#traits.stopTokenIds === "single" && stop.tokenIds.some((ids) => ids.length > 1)) {
      throw invalidParameter(`Stop token sequences longer than one token are not supported by model "${this.#options.name}" (${this.#options.kind}).`);
    }
    const n = request.sampling.n;
    const parts = this.#traits.nativeN || n === 1 ? [{ offset: 0, n }] : Array.from({ length: n }, (_, i) => ({ offset: i, n: 1 }));
    if (parts.length === 1) {
      yield* this.#stream(request, parts[0]!.offset, parts[0]!.n, signal);
      return;
    }
    // Engines without `n`: one request per choice, merged.
    const inner = new AbortController();
    const forward = () => inner.abort(signal.reason);
    signal.addEventListener("abort", forward, { once: true });
    const queue = new AsyncQueue<EngineEvent>();
    const runs = parts.map(async (part) => {
      for await (const event of this.#stream(request, part.offset, part.n, inner.signal)) queue.push(event);
    });
    const all = Promise.all(runs).then(
      () => queue.end(),
      (error: unknown) => queue.fail(error),
    );
    try {
      yield* queue;
    } finally {
      signal.removeEventListener("abort", forward);
      inner.abort(errors.serviceShuttingDown());
      await Promise.allSettled([all, ...runs]);
    }
  }

  async *#stream(request: GenerationRequest, offset: number, n: number, signal: AbortSignal): AsyncGenerator<EngineEvent> {
    const body = JSON.stringify(upstreamBody(request, this.#options.upstreamModel, this.#traits, n, offset));
    const tried = new Set<ReplicaState>();
    for (;;) {
      const attempt = await this.#connect(body, tried, signal);
      const translator = new ChunkTranslator(offset, request.features.thinking?.enabled === true);
      const finishes = new Map<number, FinishReason>();
      let sent = false;
      try {
        for await (const data of sseData(attempt.response.body!)) {
          attempt.alive();
          if (data.trim() === "[DONE]") break;
          let chunk: Record<string, unknown>;
          try {
            chunk = JSON.parse(data) as Record<string, unknown>;
          } catch {
            throw new ApiError(500, "InternalError", `The upstream engine sent a chunk that is not JSON: ${data.slice(0, 200)}`);
          }
          for (const event of translator.translate(chunk)) {
            if (event.type === "finish") finishes.set(event.index, event.reason);
            else {
              sent = true;
              yield event;
            }
          }
        }
        if (finishes.size === 0 || translator.unfinished().length > 0) {
          throw new ApiError(500, "InternalError", "The upstream engine ended the stream before finishing the answer.");
        }
        this.pool.succeeded(attempt.replica);
      } catch (error) {
        if (signal.aborted) throw abortError(signal);
        if (error instanceof ApiError && error.status < 500) throw error;
        this.pool.failed(attempt.replica, "connection");
        // Nothing reached the client yet: another replica can still answer the whole request.
        if (!sent) continue;
        const reason = error instanceof ApiError ? error.message : (error as Error).message;
        throw new ApiError(500, "InternalError", `The upstream replica ${attempt.replica.config.url} failed mid-stream: ${reason}`);
      } finally {
        attempt.stop();
        attempt.release();
      }
      for (const [index, reason] of finishes) yield { type: "finish", index, reason, usage: translator.usageOf(index) };
      return;
    }
  }

  /** POSTs to the least-loaded usable replica, moving on to the next while replicas fail before answering. */
  async #connect(body: string, tried: Set<ReplicaState>, signal: AbortSignal): Promise<Attempt> {
    for (;;) {
      const replica = this.pool.pick(tried);
      if (!replica) {
        throw new ApiError(503, "ServiceUnavailable", `No upstream replica of model "${this.#options.name}" is available: ${this.pool.describe()}.`);
      }
      tried.add(replica);
      const release = this.pool.begin(replica);
      const controller = new AbortController();
      let timer = setTimeout(() => controller.abort(new Error("no response in time")), this.#options.firstByteTimeoutMs);
      const clear = () => clearTimeout(timer);
      try {
        const response = await fetch(`${replica.config.url}/chat/completions`, {
          method: "POST",
          headers: { ...this.#headers(replica), "Content-Type": "application/json", Accept: "text/event-stream" },
          body,
          signal: AbortSignal.any([signal, controller.signal]),
        });
        if (response.ok && response.body) {
          const alive = () => {
            clearTimeout(timer);
            timer = setTimeout(() => controller.abort(new Error("the stream went silent")), this.#options.idleTimeoutMs);
          };
          alive();
          const stop = () => {
            clear();
            controller.abort(new Error("done"));
          };
          return { response, replica, release, alive, stop };
        }
        const message = await upstreamMessage(response);
        clear();
        release();
        if (response.status === 401 || response.status === 403) this.pool.failed(replica, "auth");
        else if (response.status === 429 || response.status >= 500) this.pool.failed(replica, response.status === 429 ? "overloaded" : "server");
        else throw invalidParameter(`The upstream engine refused the request (HTTP ${response.status}): ${message}`);
      } catch (error) {
        clear();
        release();
        if (signal.aborted) throw abortError(signal);
        if (error instanceof ApiError) throw error;
        this.pool.failed(replica, "connection");
      }
    }
  }

  #headers(replica: ReplicaState): Record<string, string> {
    return replica.config.apiKey ? { Authorization: `Bearer ${replica.config.apiKey}` } : {};
  }

  async tokenize(): Promise<TokenizeResult> {
    throw invalidParameter(`The tokenizer API is not available for model "${this.#options.name}", which an upstream ${this.#options.kind} engine serves.`);
  }

  async close(): Promise<void> {
    if (this.#health) clearInterval(this.#health);
  }
}
