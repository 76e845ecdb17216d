import {
  ApiError,
  errors,
  invalidParameter,
  type BackendStats,
  type EngineEvent,
  type FinishReason,
  type GenerationTrace,
  type Usage,
  SlotPool,
} from "../../core/index.ts";
import { ReplicaPool, type ReplicaConfig, type ReplicaState } from "./replicaPool.ts";
import { sseEvents, type SseEvent } from "./sseReader.ts";

/** Turns one upstream stream's events into engine events (one per attempt). */
export interface StreamTranslator {
  /** The engine events for one SSE event, or "done" at the stream's end marker. */
  translate(event: SseEvent): EngineEvent[] | "done";
  /** A choice's usage now (finish events are written after the last chunk, with the final counts). */
  usageOf(index: number): Usage;
  /** Choices that never finished. */
  unfinished(): number[];
}

/** How long to wait for replicas, and how long to leave a failing one alone. */
export interface UpstreamTimings {
  /** Until the response headers (connection, queueing, prefill start). */
  firstByteTimeoutMs: number;
  /** Longest silence between two events of a stream. */
  idleTimeoutMs: number;
  /** Active health checks; 0 turns them off. */
  healthIntervalMs: number;
  /** After 429, 5xx or a connection error (doubling with repeated failures). */
  cooldownMs: number;
  /** After 401/403. */
  authCooldownMs: number;
  /** Requests this server sends the model at once (all replicas together); absent = no cap. */
  maxConcurrency?: number | undefined;
  /** Requests waiting for one of those places; beyond it, 503 at once (with Retry-After). */
  maxQueue?: number | undefined;
}

/** A model on upstream replicas, as any upstream backend is configured. */
export interface UpstreamModel extends UpstreamTimings {
  /** The served model name (for messages). */
  name: string;
  /** The model name the engine knows. */
  upstreamModel: string;
  replicas: ReplicaConfig[];
  maxN: number;
  /** Media the model takes (config `modalities`). */
  modalities?: readonly ("image" | "video" | "audio")[];
}

export interface TransportOptions extends UpstreamTimings {
  name: string;
  replicas: ReplicaConfig[];
  /** Appended to a replica's base URL for generation and for health checks. */
  path: string;
  healthPath: string;
  /** Sent with every generation request. */
  headers: Record<string, string>;
}

interface Attempt {
  response: Response;
  replica: ReplicaState;
  release: () => void;
  /** Resets the idle timer; call on every event. */
  alive: () => void;
  /** Ends the exchange: timers cleared, the connection closed if still open (the engine stops generating). */
  stop: () => void;
}

/** Why the last replica tried failed, for the error when none is left. */
interface LastFailure {
  reason?: string;
}

function abortError(signal: AbortSignal): ApiError {
  return signal.reason instanceof ApiError ? signal.reason : errors.requestTimeout();
}

/** A refused request as the client's error: DashScope's `{code, message}` kept, anything else an InvalidParameter. */
async function refusal(response: Response): Promise<ApiError> {
  const text = await response.text().catch(() => "");
  try {
    const body = JSON.parse(text) as { code?: unknown; message?: unknown; error?: { message?: unknown } | string };
    if (typeof body.code === "string" && typeof body.message === "string") return errors.relayed(response.status, body.code, body.message);
    const message = typeof body.error === "string" ? body.error : (body.error?.message ?? body.message);
    return invalidParameter(`The upstream engine refused the request (HTTP ${response.status}): ${String(message ?? text)}`);
  } catch {
    return invalidParameter(`The upstream engine refused the request (HTTP ${response.status}): ${text.slice(0, 500)}`);
  }
}

/** A failed fetch's reason: undici hides the useful part (ECONNREFUSED, a timeout) in `cause`. */
function connectionFailure(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined;
  return cause && cause !== message ? `${message} (${cause})` : message;
}

/**
 * Streams requests to a model's upstream replicas: least-loaded healthy replica first; a failure
 * before any event reached the caller is retried on another replica; one after is an error.
 */
export class UpstreamTransport {
  readonly pool: ReplicaPool;
  readonly #options: TransportOptions;
  readonly #health: NodeJS.Timeout | undefined;
  /** The model's concurrency cap with its bounded queue (config `max_concurrency`, `max_queue`). */
  readonly #gate: SlotPool<number> | undefined;

  constructor(options: TransportOptions) {
    if (options.replicas.length === 0) throw new Error(`model "${options.name}": an upstream model needs at least one replica`);
    this.#options = options;
    this.pool = new ReplicaPool(options.replicas, { cooldownMs: options.cooldownMs, authCooldownMs: options.authCooldownMs });
    if (options.maxConcurrency !== undefined) {
      this.#gate = new SlotPool(
        Array.from({ length: options.maxConcurrency }, (_, i) => i),
        options.maxQueue ?? 64,
      );
    }
    if (options.healthIntervalMs > 0) {
      this.#health = setInterval(() => void this.checkHealth(), options.healthIntervalMs);
      this.#health.unref();
    }
  }

  /** One round of active health checks on every replica. */
  async checkHealth(): Promise<void> {
    await Promise.all(
      this.pool.replicas.map(async (replica) => {
        try {
          const response = await fetch(`${replica.config.url}${this.#options.healthPath}`, { headers: this.#auth(replica), signal: AbortSignal.timeout(5000) });
          await response.body?.cancel();
          this.pool.health(replica, response.ok);
        } catch {
          this.pool.health(replica, false);
        }
      }),
    );
  }

  /** Requests in flight and each replica's state, for metrics. */
  stats(): BackendStats {
    const now = Date.now();
    const replicas = this.pool.replicas.map((r) => ({ url: r.config.url, healthy: !r.unhealthy && r.coolingUntil <= now, inFlight: r.outstanding }));
    const gate = this.#gate;
    return { busy: replicas.reduce((sum, r) => sum + r.inFlight, 0), queued: gate?.queued ?? 0, ...(gate ? { slots: gate.size } : {}), replicas };
  }

  /** One request to the model, inside the model's concurrency cap when one is configured. */
  async *stream(body: string, translator: () => StreamTranslator, signal: AbortSignal, trace?: GenerationTrace, path?: string): AsyncGenerator<EngineEvent> {
    if (!this.#gate) return yield* this.#stream(body, translator, signal, trace, path);
    const place = await this.#gate.acquire(1, signal);
    try {
      yield* this.#stream(body, translator, signal, trace, path);
    } finally {
      this.#gate.release(place);
    }
  }

  async *#stream(body: string, translator: () => StreamTranslator, signal: AbortSignal, trace?: GenerationTrace, path?: string): AsyncGenerator<EngineEvent> {
    const tried = new Set<ReplicaState>();
    const lastFailure: LastFailure = {};
    for (;;) {
      const attempt = await this.#connect(body, tried, signal, lastFailure, path);
      if (trace) trace.replica = attempt.replica.config.url;
      const translate = translator();
      const finishes = new Map<number, FinishReason>();
      let sent = false;
      try {
        for await (const event of sseEvents(attempt.response.body!)) {
          attempt.alive();
          const events = translate.translate(event);
          if (events === "done") break;
          for (const e of events) {
            if (e.type === "finish") finishes.set(e.index, e.reason);
            else {
              sent = true;
              yield e;
            }
          }
        }
        if (finishes.size === 0 || translate.unfinished().length > 0) {
          throw errors.internal("The upstream engine ended the stream before finishing the answer.");
        }
        this.pool.succeeded(attempt.replica);
      } catch (error) {
        if (signal.aborted) throw abortError(signal);
        if (error instanceof ApiError && error.status < 500 && error.status !== 429) throw error;
        this.pool.failed(attempt.replica, "connection");
        const reason = (error as Error).message;
        lastFailure.reason = `${attempt.replica.config.url}: ${reason}`;
        // Nothing reached the caller yet: another replica can still answer the whole request.
        if (!sent) continue;
        throw errors.internal(`The upstream replica ${attempt.replica.config.url} failed mid-stream: ${reason}`).withCause(error);
      } finally {
        attempt.stop();
        attempt.release();
      }
      for (const [index, reason] of finishes) yield { type: "finish", index, reason, usage: translate.usageOf(index) };
      return;
    }
  }

  /** POSTs to the least-loaded usable replica, moving on to the next while replicas fail before answering. */
  async #connect(body: string, tried: Set<ReplicaState>, signal: AbortSignal, lastFailure: LastFailure, path = this.#options.path): Promise<Attempt> {
    for (;;) {
      const replica = this.pool.pick(tried);
      if (!replica) {
        throw errors.noUpstreamReplica(this.#options.name, this.pool.describe(), lastFailure.reason);
      }
      tried.add(replica);
      const release = this.pool.begin(replica);
      const controller = new AbortController();
      let timer = setTimeout(() => controller.abort(new Error("no response in time")), this.#options.firstByteTimeoutMs);
      const clear = () => clearTimeout(timer);
      try {
        const response = await fetch(`${replica.config.url}${path}`, {
          method: "POST",
          headers: { ...this.#auth(replica), ...this.#options.headers, "Content-Type": "application/json" },
          body,
          signal: AbortSignal.any([signal, controller.signal]),
        });
        if (response.ok && response.body) {
          const alive = () => {
            clear();
            timer = setTimeout(() => controller.abort(new Error("the stream went silent")), this.#options.idleTimeoutMs);
          };
          alive();
          const stop = () => {
            clear();
            controller.abort(new Error("done"));
          };
          return { response, replica, release, alive, stop };
        }
        lastFailure.reason = `${replica.config.url}: HTTP ${response.status}`;
        if (response.status === 401 || response.status === 403) this.pool.failed(replica, "auth");
        else if (response.status === 429 || response.status >= 500) this.pool.failed(replica, response.status === 429 ? "overloaded" : "server");
        else throw await refusal(response);
        await response.body?.cancel();
        clear();
        release();
      } catch (error) {
        clear();
        release();
        if (signal.aborted) throw abortError(signal);
        if (error instanceof ApiError) throw error;
        this.pool.failed(replica, "connection");
        lastFailure.reason = `${replica.config.url}: ${connectionFailure(error)}`;
      }
    }
  }

  #auth(replica: ReplicaState): Record<string, string> {
    return replica.config.apiKey ? { Authorization: `Bearer ${replica.config.apiKey}` } : {};
  }

  close(): void {
    if (this.#health) clearInterval(this.#health);
    this.#gate?.close();
  }
}
