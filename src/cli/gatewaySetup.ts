import { join } from "node:path";
import type { GatewayConfig, ServerConfig } from "../config/config.ts";
import { Authenticator, Gateway, KeyService, LedgerWriter } from "../gateway/index.ts";
import { MemoryLimitCounters, RedisLimitCounters, type LimitCounters } from "../gateway/limits/index.ts";
import { openStore, type Store } from "../store/index.ts";
import type { Logger } from "./serve.ts";

/** The SQLite file in the data directory, or PostgreSQL when `store_url` is set. */
export function openConfiguredStore(config: GatewayConfig): Promise<Store> {
  return config.storeUrl ? openStore({ type: "postgres", url: config.storeUrl }) : openStore({ type: "sqlite", path: join(config.dataDir, "openscope.db") });
}

async function openLimits(config: GatewayConfig): Promise<LimitCounters | undefined> {
  if (!config.limits) return undefined;
  return config.redisUrl ? RedisLimitCounters.connect(config.redisUrl) : new MemoryLimitCounters();
}

export interface GatewaySetup {
  gateway: Gateway;
  store: Store;
  close(): Promise<void>;
}

/** Store, managed keys, limit counters (memory or Redis) and the usage ledger, as configured. */
export async function setupGateway(config: ServerConfig, log: Logger): Promise<GatewaySetup> {
  const g = config.gateway;
  const store = await openConfiguredStore(g);
  let limits: LimitCounters | undefined;
  try {
    limits = await openLimits(g);
  } catch (error) {
    await store.close();
    throw error;
  }
  const keys = new KeyService(store);
  const ledger = g.ledger.enabled
    ? new LedgerWriter(store, { flushMs: g.ledger.flushMs, onError: (error) => log.warn(`usage ledger write failed (will retry): ${(error as Error).message}`) })
    : undefined;
  const auth = new Authenticator({ staticKeys: config.apiKeys, adminKey: g.adminKey, keys });
  // A lease outlives its request only when an instance dies mid-request.
  const gateway = new Gateway({ auth, keys, limits, ledger, leaseTtlMs: config.requestTimeoutMs + 60_000 });
  log.info(
    `gateway: store ${store.kind}${store.kind === "sqlite" ? ` in ${g.dataDir}` : ""}, limits ${limits ? (g.redisUrl ? "in Redis" : "in memory") : "off"}, ` +
      `usage ledger ${ledger ? `on (written every ${g.ledger.flushMs} ms)` : "off"}, admin API ${g.adminKey ? "on" : "off"}`,
  );
  return {
    gateway,
    store,
    async close() {
      await gateway.close();
      await store.close();
    },
  };
}
