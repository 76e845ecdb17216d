import { join } from "node:path";
import { redactUrl, type GatewayConfig, type NamedSetting, type ServerConfig } from "../config/index.ts";
import { Authenticator, Gateway, KeyService, LedgerWriter } from "../gateway/index.ts";
import { MemoryLimitCounters, RedisLimitCounters, type LimitCounters } from "../gateway/limits/index.ts";
import { openStore, type Store } from "../store/index.ts";
import { prepareDirectory, StartupError } from "./errors.ts";
import type { Logger } from "./logger.ts";

type SettingNames = Partial<Record<NamedSetting, string>>;

/** How long opening PostgreSQL may take before startup gives up (pg itself waits for the TCP timeout). */
const STORE_CONNECT_TIMEOUT_MS = 15_000;

/** Why a store could not be opened, in a few words. */
function storeProblem(error: unknown): string {
  const e = error as { code?: string; message?: string };
  switch (e.code) {
    case "ECONNREFUSED":
      return "connection refused (is PostgreSQL running there?)";
    case "ENOTFOUND":
    case "EAI_AGAIN":
      return "the host name does not resolve";
    case "ETIMEDOUT":
      return "the connection timed out";
    case "28P01":
    case "28000":
      return `authentication failed (${(e.message ?? "").split("\n")[0]})`;
    case "3D000":
      return (e.message ?? "the database does not exist").split("\n")[0]!;
    default:
      return `${(e.message ?? String(error)).split("\n")[0]}${e.code && !(e.message ?? "").includes(e.code) ? ` (${e.code})` : ""}`;
  }
}

/**
 * The SQLite file in the data directory, or PostgreSQL when `store_url` is set. The data directory
 * must be one this user can write (it also holds uploads and files with PostgreSQL); every failure
 * is one line naming the setting.
 */
export async function openConfiguredStore(config: GatewayConfig, names: SettingNames = {}): Promise<Store> {
  const dataDirName = names.data_dir ?? "data_dir";
  await prepareDirectory(config.dataDir, dataDirName, "the server's data");
  if (config.storeUrl) {
    const where = names.store_url ?? "store_url";
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no answer within ${STORE_CONNECT_TIMEOUT_MS / 1000} s`)), STORE_CONNECT_TIMEOUT_MS);
      timer.unref();
    });
    try {
      return await Promise.race([openStore({ type: "postgres", url: config.storeUrl }), timeout]);
    } catch (error) {
      throw new StartupError(`cannot open the store at ${where} ${redactUrl(config.storeUrl)}: ${storeProblem(error)}`);
    } finally {
      clearTimeout(timer);
    }
  }
  const path = join(config.dataDir, "openscope.db");
  try {
    return await openStore({ type: "sqlite", path });
  } catch (error) {
    throw new StartupError(`cannot open the SQLite store ${path} (${dataDirName}): ${storeProblem(error)}`);
  }
}

async function openLimits(config: GatewayConfig, names: SettingNames): Promise<LimitCounters | undefined> {
  if (!config.limits) return undefined;
  if (!config.redisUrl) return new MemoryLimitCounters();
  try {
    return await RedisLimitCounters.connect(config.redisUrl);
  } catch (error) {
    throw new StartupError(`${names.redis_url ?? "redis_url"}: ${(error as Error).message.split("\n")[0]}`);
  }
}

export interface GatewaySetup {
  gateway: Gateway;
  store: Store;
  close(): Promise<void>;
}

/** Store, managed keys, limit counters (memory or Redis) and the usage ledger, as configured. */
export async function setupGateway(config: ServerConfig, log: Logger): Promise<GatewaySetup> {
  const g = config.gateway;
  const store = await openConfiguredStore(g, config.settingNames);
  let limits: LimitCounters | undefined;
  try {
    limits = await openLimits(g, config.settingNames);
  } catch (error) {
    await store.close();
    throw error;
  }
  const keys = new KeyService(store);
  const ledger = g.ledger.enabled
    ? new LedgerWriter(store, {
        flushMs: g.ledger.flushMs,
        onError: (error) => log.warn(`usage ledger write failed (will retry): ${(error as Error).message}`),
      })
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
