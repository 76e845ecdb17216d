/**
 * The PostgreSQL store: for several gateway instances sharing keys and one usage ledger.
 * Optionally confined to one schema (created when missing), which also lets tests isolate
 * themselves in a throwaway schema.
 */
import pg from "pg";
import { migratePostgres } from "./postgresMigrations.ts";
import { quoteSchemaName } from "./pgSchema.ts";
import { chooseRevokeTarget } from "./revokeTarget.ts";
import {
  fileFromRow,
  fileParams,
  keyFromRow,
  keyParams,
  totalsFromRow,
  usageFromRow,
  usageParams,
  type FileRow,
  type KeyRow,
  type SqlValue,
  type TotalsRow,
  type UsageRow,
} from "./rows.ts";
import {
  COUNT_KEYS_SQL,
  deleteFileSql,
  getFileSql,
  insertFileSql,
  listFilesQuery,
  POSTGRES_DIALECT,
  findKeyByHashSql,
  insertKeySql,
  insertUsageSql,
  listKeysSql,
  revokeCandidatesSql,
  revokeKeySql,
  usageRecordsQuery,
  usageTotalsQuery,
} from "./sqlText.ts";
import type { ApiKeyRecord, FileFilter, FileRecord, Store, UsageFilter, UsageRecord, UsageTotals } from "./types.ts";

/** Rows per INSERT: 500 × 20 columns stays far below PostgreSQL's 65535 bind-parameter limit. */
const USAGE_ROWS_PER_INSERT = 500;

/**
 * Type parsers for this store's pool only (the global `pg.types` belongs to the whole process):
 * bigint (epoch-ms times, COUNT, SUM of integer columns) comes back as a JS number, not a
 * string. Exact up to 2^53, far beyond any epoch-ms time or token total.
 */
const INT8_AS_NUMBER: pg.CustomTypesConfig = {
  getTypeParser: (oid, format) => (oid === pg.types.builtins.INT8 ? Number : pg.types.getTypeParser(oid, format)),
};

export interface PostgresStoreOptions {
  /** Keep the tables in this schema (lower-case letters, digits, `_`), creating it when missing; default: the connection's search_path. */
  schema?: string;
}

export class PostgresStore implements Store {
  readonly kind = "postgres" as const;
  private closing: Promise<void> | undefined;

  private constructor(
    private readonly pool: pg.Pool,
    /** Migration versions this open applied (empty when the schema was already current); for logs and tests. */
    readonly migrationsApplied: readonly number[],
  ) {}

  /** Connects a pool of up to 10 connections to `url` and runs pending migrations before returning. */
  static async open(url: string, options: PostgresStoreOptions = {}): Promise<PostgresStore> {
    const searchPath = options.schema === undefined ? undefined : `SET search_path TO ${quoteSchemaName(options.schema)}`;
    const pool = new pg.Pool({
      connectionString: url,
      max: 10,
      types: INT8_AS_NUMBER,
      // Awaited by the pool before it hands the connection out; a failure discards the connection.
      // (Not the `options` startup parameter: an `options` in the URL would silently replace it.)
      onConnect:
        searchPath === undefined
          ? undefined
          : async (client) => {
              await client.query(searchPath);
            },
    });
    // An idle connection that dies (server restart, network) is reported here; the pool drops it
    // and the next query opens a fresh one. Without a listener the process would crash.
    pool.on("error", () => undefined);
    try {
      const client = await pool.connect();
      try {
        return new PostgresStore(pool, await migratePostgres(client, options.schema));
      } finally {
        client.release();
      }
    } catch (error) {
      await pool.end();
      throw error;
    }
  }

  async insertKey(record: ApiKeyRecord): Promise<void> {
    await this.pool.query(insertKeySql(POSTGRES_DIALECT), keyParams(record));
  }

  async findKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const result = await this.pool.query<KeyRow>(findKeyByHashSql(POSTGRES_DIALECT), [hash]);
    const row = result.rows[0];
    return row === undefined ? undefined : keyFromRow(row);
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    const result = await this.pool.query<KeyRow>(listKeysSql(POSTGRES_DIALECT));
    return result.rows.map(keyFromRow);
  }

  /** Two statements without a transaction is safe: keys are never deleted and their id and prefix never change. */
  async revokeKey(idOrPrefix: string, at: number): Promise<ApiKeyRecord | undefined> {
    const candidates = await this.pool.query<{ id: string; prefix: string }>(revokeCandidatesSql(POSTGRES_DIALECT), [idOrPrefix, idOrPrefix]);
    const id = chooseRevokeTarget(candidates.rows, idOrPrefix);
    if (id === undefined) return undefined;
    const result = await this.pool.query<KeyRow>(revokeKeySql(POSTGRES_DIALECT), [at, id]);
    const row = result.rows[0];
    return row === undefined ? undefined : keyFromRow(row);
  }

  async countKeys(): Promise<number> {
    const result = await this.pool.query<{ count: number }>(COUNT_KEYS_SQL);
    return result.rows[0]?.count ?? 0;
  }

  /** One multi-row INSERT per 500 records; a single statement is atomic by itself, more run in one transaction. */
  async appendUsage(records: readonly UsageRecord[]): Promise<void> {
    if (records.length === 0) return;
    if (records.length <= USAGE_ROWS_PER_INSERT) {
      await this.insertUsageRows(this.pool, records);
      return;
    }
    const client = await this.pool.connect();
    try {
      await client.query("BEGIN");
      for (let start = 0; start < records.length; start += USAGE_ROWS_PER_INSERT) {
        await this.insertUsageRows(client, records.slice(start, start + USAGE_ROWS_PER_INSERT));
      }
      await client.query("COMMIT");
    } catch (error) {
      await client.query("ROLLBACK").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async usageTotals(filter: UsageFilter): Promise<UsageTotals[]> {
    const query = usageTotalsQuery(POSTGRES_DIALECT, filter);
    const result = await this.pool.query<TotalsRow>(query.text, query.values);
    return result.rows.map(totalsFromRow);
  }

  async usageRecords(filter: UsageFilter, limit: number): Promise<UsageRecord[]> {
    const query = usageRecordsQuery(POSTGRES_DIALECT, filter, limit);
    const result = await this.pool.query<UsageRow>(query.text, query.values);
    return result.rows.map(usageFromRow);
  }

  async insertFile(record: FileRecord): Promise<void> {
    await this.pool.query(insertFileSql(POSTGRES_DIALECT), fileParams(record));
  }

  async getFile(id: string): Promise<FileRecord | undefined> {
    const result = await this.pool.query<FileRow>(getFileSql(POSTGRES_DIALECT), [id]);
    const row = result.rows[0];
    return row === undefined ? undefined : fileFromRow(row);
  }

  async listFiles(filter: FileFilter): Promise<{ files: FileRecord[]; hasMore: boolean }> {
    const query = listFilesQuery(POSTGRES_DIALECT, filter);
    const result = await this.pool.query<FileRow>(query.text, query.values);
    return { files: result.rows.slice(0, filter.limit).map(fileFromRow), hasMore: result.rows.length > filter.limit };
  }

  async deleteFile(id: string): Promise<boolean> {
    const result = await this.pool.query<{ id: string }>(deleteFileSql(POSTGRES_DIALECT), [id]);
    return result.rows.length > 0;
  }

  /** Waits for queries in flight, then closes every connection; calling it again is harmless. */
  async close(): Promise<void> {
    this.closing ??= this.pool.end();
    await this.closing;
  }

  private async insertUsageRows(target: pg.Pool | pg.PoolClient, records: readonly UsageRecord[]): Promise<void> {
    const values: SqlValue[] = [];
    for (const record of records) values.push(...usageParams(record, (value) => value));
    await target.query(insertUsageSql(POSTGRES_DIALECT, records.length), values);
  }
}
