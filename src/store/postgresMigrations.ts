/**
 * The PostgreSQL schema and the runner that brings a database (or one schema of it) up to date.
 */
import type pg from "pg";
import { pendingMigrations, type Migration } from "./migrations.ts";
import { quoteSchemaName } from "./pgSchema.ts";

export const POSTGRES_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "api_keys and the usage ledger",
    sql: `
      CREATE TABLE api_keys (
        id text PRIMARY KEY,
        name text NOT NULL,
        prefix text NOT NULL,
        hash text NOT NULL UNIQUE,
        models text,
        rpm integer,
        tpm bigint,
        concurrency integer,
        workspace text,
        created_at bigint NOT NULL,
        expires_at bigint,
        revoked_at bigint
      );
      CREATE INDEX api_keys_prefix ON api_keys (prefix);

      CREATE TABLE usage (
        seq bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        request_id text NOT NULL,
        time bigint NOT NULL,
        key_id text,
        workspace text,
        model text NOT NULL,
        endpoint text NOT NULL,
        backend text NOT NULL,
        replica text,
        stream boolean NOT NULL,
        input_tokens integer NOT NULL,
        output_tokens integer NOT NULL,
        reasoning_tokens integer NOT NULL,
        cached_tokens integer NOT NULL,
        image_tokens integer NOT NULL,
        video_tokens integer NOT NULL,
        audio_tokens integer NOT NULL,
        ttft_ms double precision,
        duration_ms double precision NOT NULL,
        status integer NOT NULL,
        code text
      );
      CREATE INDEX usage_time ON usage (time);
      CREATE INDEX usage_key_time ON usage (key_id, time);
      CREATE INDEX usage_model_time ON usage (model, time);
    `,
  },
  {
    version: 2,
    description: "files: uploaded documents' metadata",
    sql: `
      CREATE TABLE files (
        id text PRIMARY KEY,
        owner_key_id text,
        filename text NOT NULL,
        bytes bigint NOT NULL,
        purpose text NOT NULL,
        status text NOT NULL,
        status_details text,
        description text,
        md5 text NOT NULL,
        created_at bigint NOT NULL
      );
      CREATE INDEX files_created ON files (created_at);
      CREATE INDEX files_owner_created ON files (owner_key_id, created_at);
    `,
  },
];

/**
 * Advisory-lock key shared by every openscope instance on a database (ASCII "opnscp"): instances
 * starting together queue on it instead of racing to create the same tables.
 */
const MIGRATION_LOCK_KEY = "122528680076144";

/**
 * Applies the pending migrations in one transaction under `pg_advisory_xact_lock`, creating
 * `schema` first when it is given and missing. The client's search_path must already point at
 * that schema (PostgresStore sets it on every pooled connection). Returns the versions applied.
 */
export async function migratePostgres(
  client: pg.ClientBase,
  schema: string | undefined,
  migrations: readonly Migration[] = POSTGRES_MIGRATIONS,
): Promise<number[]> {
  await client.query("BEGIN");
  try {
    await client.query("SELECT pg_advisory_xact_lock($1::bigint)", [MIGRATION_LOCK_KEY]);
    if (schema !== undefined) {
      // Look first: CREATE SCHEMA IF NOT EXISTS still needs CREATE on the database, which a
      // deployment that pre-created its schema may not grant.
      const existing = await client.query("SELECT 1 FROM pg_namespace WHERE nspname = $1", [schema]);
      if (existing.rowCount === 0) await client.query(`CREATE SCHEMA ${quoteSchemaName(schema)}`);
    }
    await client.query("CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, applied_at bigint NOT NULL)");
    const rows = await client.query<{ version: number }>("SELECT version FROM schema_migrations");
    const pending = pendingMigrations(migrations, new Set(rows.rows.map((row) => row.version)));
    for (const migration of pending) {
      await client.query(migration.sql);
      await client.query("INSERT INTO schema_migrations (version, applied_at) VALUES ($1, $2)", [migration.version, Date.now()]);
    }
    await client.query("COMMIT");
    return pending.map((migration) => migration.version);
  } catch (error) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw error;
  }
}
