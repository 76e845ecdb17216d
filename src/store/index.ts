/**
 * The gateway's durable store: pick an engine from configuration with `openStore`, or open one
 * directly. Both engines pass the same contract suite (`test/helpers/storeContract.ts`).
 */
import { PostgresStore } from "./postgres.ts";
import { SqliteStore } from "./sqlite.ts";
import type { Store } from "./types.ts";

export * from "./types.ts";
export { SqliteStore } from "./sqlite.ts";

/** Where the store lives: a SQLite file (or ":memory:"), or a PostgreSQL URL with an optional schema. */
export type StoreConfig = { type: "sqlite"; path: string } | { type: "postgres"; url: string; schema?: string };

/** Opens the configured store, migrated and ready. */
export async function openStore(config: StoreConfig): Promise<Store> {
  switch (config.type) {
    case "sqlite":
      return SqliteStore.open(config.path);
    case "postgres":
      return PostgresStore.open(config.url, config.schema === undefined ? {} : { schema: config.schema });
  }
}
