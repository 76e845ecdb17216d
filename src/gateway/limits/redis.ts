/**
 * Rate-limit counters in Redis, so several gateway instances enforce one limit per key together.
 * Each admission is one Lua script (check and count atomically on the server); see redisScripts.ts.
 */

import { Redis } from "ioredis";
import { checkAdmission, checkSettlement, concurrencyRejection, windowRejection } from "./admission.ts";
import { ADMIT_SCRIPT, LuaScript, SETTLE_SCRIPT } from "./redisScripts.ts";
import type { Admission, AdmitResult, LimitCounters, Settlement } from "./types.ts";
import { bucketOf, previousWeight, settleBucket, WINDOW_MS } from "./window.ts";

/** Key prefix when none is given: `openscope:limits:{keyId}:rpm:<bucket>` and so on. */
export const DEFAULT_LIMITS_PREFIX = "openscope:limits";

/** A TCP connect taking longer than this fails (the first connection and later reconnects). */
const CONNECT_TIMEOUT_MS = 2000;

/** `connect` fails after this long even if TCP connected but the server never became ready. */
const READY_DEADLINE_MS = 3000;

export interface RedisLimitCountersOptions {
  /** Prefix of every key (default DEFAULT_LIMITS_PREFIX): lets deployments or tests share a server. */
  prefix?: string;
  /** Clock in epoch ms (default Date.now), used when an admission has no `now` and by settle. */
  now?: () => number;
}

const admitScript = new LuaScript(ADMIT_SCRIPT);
const settleScript = new LuaScript(SETTLE_SCRIPT);

/**
 * Per-key sliding-window counters shared through Redis. Keys carry the API key id as a hash tag,
 * `{keyId}`, so one key's counters live in one cluster slot and one script can touch them all.
 * Bucket keys expire after two windows; the lease set expires after its longest lease TTL.
 */
export class RedisLimitCounters implements LimitCounters {
  readonly #client: Redis;
  readonly #prefix: string;
  readonly #now: () => number;
  /** True when `connect` made the client: then `close` quits it. */
  #ownsClient = false;

  /**
   * Uses a client the caller made and keeps owning: `close` leaves it open. For fail-fast
   * behaviour give it `enableOfflineQueue: false`, as `connect` does.
   */
  constructor(client: Redis, options: RedisLimitCountersOptions = {}) {
    this.#client = client;
    this.#prefix = options.prefix ?? DEFAULT_LIMITS_PREFIX;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Connects to `url` and resolves once the server is ready; rejects within about
   * CONNECT_TIMEOUT_MS, naming the server, when it cannot be reached (a gateway should not start
   * with limits it cannot enforce). Afterwards the client reconnects on its own, but commands
   * issued while it is disconnected fail at once instead of queueing, so `admit` rejects quickly
   * when Redis is down rather than hanging requests.
   */
  static async connect(url: string, options: RedisLimitCountersOptions = {}): Promise<RedisLimitCounters> {
    let connected = false;
    const client = new Redis(url, {
      lazyConnect: true,
      connectTimeout: CONNECT_TIMEOUT_MS,
      // No retries for the first connection (the caller gets the error instead); later, ioredis's
      // usual backoff.
      retryStrategy: (attempts: number) => (connected ? Math.min(attempts * 50, 2000) : null),
      // Fail commands while disconnected, and never replay one after a reconnect: a replayed
      // admission whose first reply was lost would be counted twice.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 0,
      autoResendUnfulfilledCommands: false,
      // How long `disconnect()` waits for the socket to close before destroying it; ioredis waits
      // the full time (default 2 s, keeping the process alive) when the socket is already dead.
      disconnectTimeout: 200,
    });
    let lastError: Error | undefined;
    // Without a listener ioredis prints every connection error; callers see failures via admit.
    client.on("error", (error: Error) => {
      lastError = error;
    });
    try {
      await withDeadline(client.connect(), READY_DEADLINE_MS, "the server did not become ready in time");
      connected = true;
    } catch (error) {
      if (client.status !== "end") client.disconnect();
      const reason = lastError?.message ?? (error instanceof Error ? error.message : String(error));
      throw new Error(`cannot connect to Redis for rate limits at ${redactUrl(url)}: ${reason}`, { cause: error });
    }
    const counters = new RedisLimitCounters(client, options);
    counters.#ownsClient = true;
    return counters;
  }

  async admit(admission: Admission): Promise<AdmitResult> {
    checkAdmission(admission);
    const now = admission.now ?? this.#now();
    const bucket = bucketOf(now);
    const { rpm, tpm, concurrency } = admission.limits;
    const keys = [
      this.#key(admission.keyId, `rpm:${bucket}`),
      this.#key(admission.keyId, `rpm:${bucket - 1}`),
      this.#key(admission.keyId, `tpm:${bucket}`),
      this.#key(admission.keyId, `tpm:${bucket - 1}`),
      this.#key(admission.keyId, "leases"),
    ];
    const args = [
      String(now),
      String(previousWeight(now)),
      limitArg(rpm),
      limitArg(tpm),
      limitArg(concurrency),
      String(admission.tokens),
      admission.leaseId,
      String(now + admission.leaseTtlMs),
      String(Math.ceil(admission.leaseTtlMs)),
      String(2 * WINDOW_MS),
    ];
    const reply = parseAdmitReply(await admitScript.run(this.#client, keys, args));
    switch (reply.kind) {
      case "ok":
        return { ok: true, at: now };
      case "concurrency":
        return concurrencyRejection();
      case "rpm":
        return windowRejection("rpm", reply, 1, rpm ?? 0, now);
      case "tpm":
        return windowRejection("tpm", reply, admission.tokens, tpm ?? 0, now);
    }
  }

  async settle(settlement: Settlement): Promise<void> {
    checkSettlement(settlement);
    const now = this.#now();
    const bucket = settleBucket(settlement.admittedAt, now);
    const keys = [this.#key(settlement.keyId, "leases")];
    if (bucket !== null) keys.push(this.#key(settlement.keyId, `tpm:${bucket}`));
    await settleScript.run(this.#client, keys, [String(now), settlement.leaseId, String(settlement.tokenDelta)]);
  }

  async close(): Promise<void> {
    if (!this.#ownsClient) return;
    try {
      await this.#client.quit();
    } catch {
      // Already disconnected (quit cannot be sent): just stop reconnecting.
      this.#client.disconnect();
    }
  }

  /** `${prefix}:{keyId}:${suffix}`; the id is URI-encoded so `{`, `}` or `:` in it cannot break the hash tag. */
  #key(keyId: string, suffix: string): string {
    return `${this.#prefix}:{${encodeURIComponent(keyId)}}:${suffix}`;
  }
}

type AdmitReply = { kind: "ok" | "concurrency" } | { kind: "rpm" | "tpm"; previous: number; current: number };

/** Validates the admit script's reply (a wrong reply must fail loudly, not admit). */
function parseAdmitReply(reply: unknown): AdmitReply {
  if (Array.isArray(reply)) {
    const [kind, previous, current] = reply as unknown[];
    if (kind === "ok" || kind === "concurrency") return { kind };
    if ((kind === "rpm" || kind === "tpm") && typeof previous === "string" && typeof current === "string") {
      return { kind, previous: Number(previous), current: Number(current) };
    }
  }
  throw new Error(`unexpected reply from the Redis admit script: ${JSON.stringify(reply)}`);
}

/** `promise`, or a rejection with `message` after `ms` (the timer never outlives the race). */
async function withDeadline<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  // The loser must not become an unhandled rejection; the race still sees it.
  promise.catch(() => undefined);
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  try {
    return await Promise.race([promise, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function limitArg(limit: number | null): string {
  return limit === null ? "" : String(limit);
}

/** The URL without its password, for error messages. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== "") parsed.password = "***";
    return parsed.toString();
  } catch {
    return "<invalid URL>";
  }
}
