/**
 * The SQLite store: zero setup, one file. WAL mode and a busy timeout let two gateway processes
 * share the file (readers never block the writer; writers queue instead of failing).
 */
import Database from "better-sqlite3";
import { closeSync, mkdirSync, openSync } from "node:fs";
import { dirname } from "node:path";
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
  SQLITE_DIALECT,
  findKeyByHashSql,
  insertKeySql,
  insertUsageSql,
  listKeysSql,
  revokeCandidatesSql,
  revokeKeySql,
  usageRecordsQuery,
  usageTotalsQuery,
} from "./sqlText.ts";
import { migrateSqlite } from "./sqliteMigrations.ts";
import type { ApiKeyRecord, FileFilter, FileRecord, Store, UsageFilter, UsageRecord, UsageTotals } from "./types.ts";

/** better-sqlite3 binds no booleans; the `stream` column holds 0/1. */
const encodeBool = (value: boolean): number => (value ? 1 : 0);

export class SqliteStore implements Store {
  readonly kind = "sqlite" as const;
  /** Prepared statements by SQL text: the usage queries vary only with which filters are set, so this stays small. */
  private readonly statements = new Map<string, Database.Statement<SqlValue[], unknown>>();
  private readonly insertUsageBatch: Database.Transaction<(records: readonly UsageRecord[]) => void>;

  private constructor(
    private readonly db: Database.Database,
    /** Migration versions this open applied (empty when the file was already current); for logs and tests. */
    readonly migrationsApplied: readonly number[],
  ) {
    const insertUsage = this.statement(insertUsageSql(SQLITE_DIALECT, 1));
    this.insertUsageBatch = db.transaction((records: readonly UsageRecord[]) => {
      for (const record of records) insertUsage.run(...usageParams(record, encodeBool));
    });
  }

  /**
   * Opens (creating when missing) the database at `path`, or a private in-memory one for
   * ":memory:". A new file and its directories are created owner-only: the file holds key hashes
   * and the usage ledger. Runs pending migrations before returning.
   */
  static open(path: string): SqliteStore {
    if (path !== ":memory:") createPrivateFile(path);
    const db = new Database(path);
    try {
      db.pragma("busy_timeout = 5000");
      db.pragma("journal_mode = WAL");
      db.pragma("synchronous = NORMAL");
      return new SqliteStore(db, migrateSqlite(db));
    } catch (error) {
      db.close();
      throw error;
    }
  }

  async insertKey(record: ApiKeyRecord): Promise<void> {
    this.statement(insertKeySql(SQLITE_DIALECT)).run(...keyParams(record));
  }

  async findKeyByHash(hash: string): Promise<ApiKeyRecord | undefined> {
    const row = this.statement<KeyRow>(findKeyByHashSql(SQLITE_DIALECT)).get(hash);
    return row === undefined ? undefined : keyFromRow(row);
  }

  async listKeys(): Promise<ApiKeyRecord[]> {
    return this.statement<KeyRow>(listKeysSql(SQLITE_DIALECT)).all().map(keyFromRow);
  }

  async revokeKey(idOrPrefix: string, at: number): Promise<ApiKeyRecord | undefined> {
    const candidates = this.statement<{ id: string; prefix: string }>(revokeCandidatesSql(SQLITE_DIALECT)).all(idOrPrefix, idOrPrefix);
    const id = chooseRevokeTarget(candidates, idOrPrefix);
    if (id === undefined) return undefined;
    const row = this.statement<KeyRow>(revokeKeySql(SQLITE_DIALECT)).get(at, id);
    return row === undefined ? undefined : keyFromRow(row);
  }

  async countKeys(): Promise<number> {
    const row = this.statement<{ count: number }>(COUNT_KEYS_SQL).get();
    return row?.count ?? 0;
  }

  async appendUsage(records: readonly UsageRecord[]): Promise<void> {
    if (records.length > 0) this.insertUsageBatch(records);
  }

  async usageTotals(filter: UsageFilter): Promise<UsageTotals[]> {
    const query = usageTotalsQuery(SQLITE_DIALECT, filter);
    return this.statement<TotalsRow>(query.text)
      .all(...query.values)
      .map(totalsFromRow);
  }

  async usageRecords(filter: UsageFilter, limit: number): Promise<UsageRecord[]> {
    const query = usageRecordsQuery(SQLITE_DIALECT, filter, limit);
    return this.statement<UsageRow>(query.text)
      .all(...query.values)
      .map(usageFromRow);
  }

  async insertFile(record: FileRecord): Promise<void> {
    this.statement(insertFileSql(SQLITE_DIALECT)).run(...fileParams(record));
  }

  async getFile(id: string): Promise<FileRecord | undefined> {
    const row = this.statement<FileRow>(getFileSql(SQLITE_DIALECT)).get(id);
    return row === undefined ? undefined : fileFromRow(row);
  }

  async listFiles(filter: FileFilter): Promise<{ files: FileRecord[]; hasMore: boolean }> {
    const query = listFilesQuery(SQLITE_DIALECT, filter);
    const rows = this.statement<FileRow>(query.text).all(...query.values);
    return { files: rows.slice(0, filter.limit).map(fileFromRow), hasMore: rows.length > filter.limit };
  }

  async deleteFile(id: string): Promise<boolean> {
    return this.statement<{ id: string }>(deleteFileSql(SQLITE_DIALECT)).get(id) !== undefined;
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }

  /** The cached prepared statement for `sql`, typed by the row shape its caller expects. */
  private statement<Row = unknown>(sql: string): Database.Statement<SqlValue[], Row> {
    let statement = this.statements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare<SqlValue[], unknown>(sql);
      this.statements.set(sql, statement);
    }
    return statement as Database.Statement<SqlValue[], Row>;
  }
}

/** Creates the directories (owner-only) and an empty 0600 file when missing; an existing file keeps its mode. */
function createPrivateFile(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  closeSync(openSync(path, "a", 0o600));
}
