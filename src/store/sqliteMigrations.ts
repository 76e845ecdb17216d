/**
 * The SQLite schema and the runner that brings a database file up to date.
 * Tables are STRICT so SQLite rejects wrongly typed values the way PostgreSQL does.
 */
import type Database from "better-sqlite3";
import { pendingMigrations, type Migration } from "./migrations.ts";

export const SQLITE_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: "api_keys and the usage ledger",
    sql: `
      CREATE TABLE api_keys (
        id TEXT PRIMARY KEY,
        name TEXT NOT NULL,
        prefix TEXT NOT NULL,
        hash TEXT NOT NULL UNIQUE,
        models TEXT,
        rpm INTEGER,
        tpm INTEGER,
        concurrency INTEGER,
        workspace TEXT,
        created_at INTEGER NOT NULL,
        expires_at INTEGER,
        revoked_at INTEGER
      ) STRICT;
      CREATE INDEX api_keys_prefix ON api_keys (prefix);

      CREATE TABLE usage (
        seq INTEGER PRIMARY KEY,
        request_id TEXT NOT NULL,
        time INTEGER NOT NULL,
        key_id TEXT,
        workspace TEXT,
        model TEXT NOT NULL,
        endpoint TEXT NOT NULL,
        backend TEXT NOT NULL,
        replica TEXT,
        stream INTEGER NOT NULL CHECK (stream IN (0, 1)),
        input_tokens INTEGER NOT NULL,
        output_tokens INTEGER NOT NULL,
        reasoning_tokens INTEGER NOT NULL,
        cached_tokens INTEGER NOT NULL,
        image_tokens INTEGER NOT NULL,
        video_tokens INTEGER NOT NULL,
        audio_tokens INTEGER NOT NULL,
        ttft_ms REAL,
        duration_ms REAL NOT NULL,
        status INTEGER NOT NULL,
        code TEXT
      ) STRICT;
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
        id TEXT PRIMARY KEY,
        owner_key_id TEXT,
        filename TEXT NOT NULL,
        bytes INTEGER NOT NULL,
        purpose TEXT NOT NULL,
        status TEXT NOT NULL,
        status_details TEXT,
        description TEXT,
        md5 TEXT NOT NULL,
        created_at INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX files_created ON files (created_at);
      CREATE INDEX files_owner_created ON files (owner_key_id, created_at);
    `,
  },
];

/**
 * Applies the pending migrations in one IMMEDIATE transaction: it takes the write lock before
 * reading `schema_migrations`, so a second process opening the same file waits (busy_timeout)
 * and then finds nothing left to do. Returns the versions this call applied.
 */
export function migrateSqlite(db: Database.Database, migrations: readonly Migration[] = SQLITE_MIGRATIONS): number[] {
  const migrate = db.transaction((): number[] => {
    db.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at INTEGER NOT NULL) STRICT");
    const rows = db.prepare<[], { version: number }>("SELECT version FROM schema_migrations").all();
    const pending = pendingMigrations(migrations, new Set(rows.map((row) => row.version)));
    const record = db.prepare<[number, number]>("INSERT INTO schema_migrations (version, applied_at) VALUES (?, ?)");
    for (const migration of pending) {
      db.exec(migration.sql);
      record.run(migration.version, Date.now());
    }
    return pending.map((migration) => migration.version);
  });
  return migrate.immediate();
}
