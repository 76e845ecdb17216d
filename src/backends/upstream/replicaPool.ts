/** One upstream server of a model. */
export interface ReplicaConfig {
  /** OpenAI-compatible base URL, e.g. `http://10.0.0.5:8000/v1`. */
  url: string;
  apiKey?: string;
}

export interface ReplicaState {
  readonly config: ReplicaConfig;
  /** Requests sent and not finished. */
  outstanding: number;
  /** Not chosen before this time (ms since epoch) after a failure. */
  coolingUntil: number;
  /** The last active health check failed. */
  unhealthy: boolean;
  failures: number;
}

export type FailureKind = "overloaded" | "server" | "connection" | "auth";

export interface PoolTimings {
  /** Cooldown after 429, 5xx or a connection error; doubles with consecutive failures, up to 8x. */
  cooldownMs: number;
  /** Cooldown after 401/403: a misconfigured key does not fix itself soon. */
  authCooldownMs: number;
}

/**
 * The replicas of one model: least-outstanding-requests routing among the healthy ones,
 * cooldowns after failures, and health state fed by active checks.
 */
export class ReplicaPool {
  readonly replicas: ReplicaState[];

  constructor(
    configs: readonly ReplicaConfig[],
    readonly timings: PoolTimings,
    readonly now: () => number = Date.now,
  ) {
    this.replicas = configs.map((config) => ({ config, outstanding: 0, coolingUntil: 0, unhealthy: false, failures: 0 }));
  }

  /** The replica to try next, skipping `tried`; undefined when none is usable. */
  pick(tried: ReadonlySet<ReplicaState>): ReplicaState | undefined {
    const now = this.now();
    const usable = this.replicas.filter((r) => !tried.has(r) && !r.unhealthy && r.coolingUntil <= now);
    return usable.reduce<ReplicaState | undefined>((best, r) => (best === undefined || r.outstanding < best.outstanding ? r : best), undefined);
  }

  begin(replica: ReplicaState): () => void {
    replica.outstanding++;
    let done = false;
    return () => {
      if (!done) replica.outstanding--;
      done = true;
    };
  }

  succeeded(replica: ReplicaState): void {
    replica.failures = 0;
    replica.coolingUntil = 0;
  }

  failed(replica: ReplicaState, kind: FailureKind): void {
    replica.failures++;
    const base = kind === "auth" ? this.timings.authCooldownMs : this.timings.cooldownMs;
    replica.coolingUntil = this.now() + base * Math.min(8, 2 ** (replica.failures - 1));
  }

  health(replica: ReplicaState, healthy: boolean): void {
    replica.unhealthy = !healthy;
    if (healthy && replica.coolingUntil > this.now() && replica.failures > 0) {
      // A passing check ends a cooldown early: the replica is back.
      replica.coolingUntil = 0;
      replica.failures = 0;
    }
  }

  /** A short description for logs and errors. */
  describe(): string {
    const now = this.now();
    return this.replicas
      .map((r) => `${r.config.url} (${r.unhealthy ? "unhealthy" : r.coolingUntil > now ? "cooling down" : "up"}, ${r.outstanding} in flight)`)
      .join("; ");
  }
}
