/**
 * The store's SQL, written once for both engines so they filter, group and order identically.
 * Only placeholders and text ordering differ, and a `Dialect` supplies those. Every value is a
 * bound parameter; the only text spliced in is column names and the dialect's fixed fragments.
 */
import { FILE_COLUMNS, KEY_COLUMNS, USAGE_COLUMNS, type SqlValue } from "./rows.ts";
import type { FileFilter, UsageFilter } from "./types.ts";

export interface Dialect {
  /** The placeholder for the `position`-th (1-based) bound value: `?` in SQLite, `$n` in PostgreSQL. */
  placeholder(position: number): string;
  /**
   * Appended to text ORDER BY terms so both engines sort by bytes: SQLite's default BINARY
   * collation does, PostgreSQL's default follows the database locale (case-insensitive-ish).
   */
  byteOrder: string;
}

export const SQLITE_DIALECT: Dialect = { placeholder: () => "?", byteOrder: "" };
export const POSTGRES_DIALECT: Dialect = { placeholder: (position) => `$${position}`, byteOrder: ' COLLATE "C"' };

/** SQL text and the values for its placeholders, in order. */
export interface Query {
  text: string;
  values: SqlValue[];
}

/** Collects bound values and hands out their placeholders, so builders never splice a value. */
class Binder {
  readonly values: SqlValue[] = [];
  constructor(private readonly dialect: Dialect) {}

  bind(value: SqlValue): string {
    this.values.push(value);
    return this.dialect.placeholder(this.values.length);
  }
}

const KEY_SELECT = `SELECT ${KEY_COLUMNS.join(", ")} FROM api_keys`;
const USAGE_SELECT = `SELECT ${USAGE_COLUMNS.join(", ")} FROM usage`;

export function insertKeySql(dialect: Dialect): string {
  const placeholders = KEY_COLUMNS.map((_, index) => dialect.placeholder(index + 1));
  return `INSERT INTO api_keys (${KEY_COLUMNS.join(", ")}) VALUES (${placeholders.join(", ")})`;
}

export function findKeyByHashSql(dialect: Dialect): string {
  return `${KEY_SELECT} WHERE hash = ${dialect.placeholder(1)}`;
}

/** Oldest first; the id breaks ties between keys created in the same millisecond. */
export function listKeysSql(dialect: Dialect): string {
  return `${KEY_SELECT} ORDER BY created_at, id${dialect.byteOrder}`;
}

/** Keys whose id or prefix equals the one value (bound twice); `chooseRevokeTarget` picks among them. */
export function revokeCandidatesSql(dialect: Dialect): string {
  return `SELECT id, prefix FROM api_keys WHERE id = ${dialect.placeholder(1)} OR prefix = ${dialect.placeholder(2)}`;
}

/** Sets `revoked_at` (first revocation wins) on one key by id and returns the row. Values: at, id. */
export function revokeKeySql(dialect: Dialect): string {
  return (
    `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, ${dialect.placeholder(1)}) ` +
    `WHERE id = ${dialect.placeholder(2)} RETURNING ${KEY_COLUMNS.join(", ")}`
  );
}

export const COUNT_KEYS_SQL = "SELECT COUNT(*) AS count FROM api_keys";

/** A multi-row insert of `rowCount` usage records (values: `usageParams` of each, concatenated). */
export function insertUsageSql(dialect: Dialect, rowCount: number): string {
  const rows: string[] = [];
  let position = 0;
  for (let row = 0; row < rowCount; row++) {
    const placeholders = USAGE_COLUMNS.map(() => dialect.placeholder(++position));
    rows.push(`(${placeholders.join(", ")})`);
  }
  return `INSERT INTO usage (${USAGE_COLUMNS.join(", ")}) VALUES ${rows.join(", ")}`;
}

/** Sums grouped by (key, model), keys then models in byte order, the null key first. */
export function usageTotalsQuery(dialect: Dialect, filter: UsageFilter): Query {
  const binder = new Binder(dialect);
  const where = usageWhere(binder, filter);
  const sums = ["input_tokens", "output_tokens", "reasoning_tokens", "cached_tokens", "image_tokens", "video_tokens", "audio_tokens"]
    .map((column) => `SUM(${column}) AS ${column}`)
    .join(", ");
  const text =
    `SELECT key_id, model, COUNT(*) AS requests, COUNT(code) AS errors, ${sums} FROM usage${where} ` +
    `GROUP BY key_id, model ORDER BY key_id${dialect.byteOrder} NULLS FIRST, model${dialect.byteOrder}`;
  return { text, values: binder.values };
}

/** Matching records oldest first; `seq` (insertion order) breaks ties between equal times. */
export function usageRecordsQuery(dialect: Dialect, filter: UsageFilter, limit: number): Query {
  if (!Number.isSafeInteger(limit) || limit < 0) throw new RangeError(`usage limit must be a non-negative integer, got ${limit}`);
  const binder = new Binder(dialect);
  const where = usageWhere(binder, filter);
  const text = `${USAGE_SELECT}${where} ORDER BY time, seq LIMIT ${binder.bind(limit)}`;
  return { text, values: binder.values };
}

/** The WHERE clause of a usage filter ("" when it has no conditions). */
function usageWhere(binder: Binder, filter: UsageFilter): string {
  const conditions: string[] = [];
  if (filter.since !== undefined) conditions.push(`time >= ${binder.bind(checkedTime("since", filter.since))}`);
  if (filter.until !== undefined) conditions.push(`time < ${binder.bind(checkedTime("until", filter.until))}`);
  if (filter.keyId !== undefined) conditions.push(`key_id = ${binder.bind(filter.keyId)}`);
  if (filter.model !== undefined) conditions.push(`model = ${binder.bind(filter.model)}`);
  return conditions.length === 0 ? "" : ` WHERE ${conditions.join(" AND ")}`;
}

/** Bounds must be whole epoch milliseconds: PostgreSQL rejects a fraction for a bigint, SQLite would not, and the two must agree. */
function checkedTime(name: string, value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`usage filter ${name} must be an integer epoch-ms time, got ${value}`);
  return value;
}

const FILE_SELECT = `SELECT ${FILE_COLUMNS.join(", ")} FROM files`;

export function insertFileSql(dialect: Dialect): string {
  const placeholders = FILE_COLUMNS.map((_, index) => dialect.placeholder(index + 1));
  return `INSERT INTO files (${FILE_COLUMNS.join(", ")}) VALUES (${placeholders.join(", ")})`;
}

export function getFileSql(dialect: Dialect): string {
  return `${FILE_SELECT} WHERE id = ${dialect.placeholder(1)}`;
}

/** Deletes one file by id, returning its id when there was one. */
export function deleteFileSql(dialect: Dialect): string {
  return `DELETE FROM files WHERE id = ${dialect.placeholder(1)} RETURNING id`;
}

/**
 * Matching files newest first, ties by id in descending byte order; one row beyond `limit` is
 * fetched so the caller can tell whether more follow. `after` keeps the files that sort after
 * that file in this order (none when no such file exists: the subqueries are NULL).
 */
export function listFilesQuery(dialect: Dialect, filter: FileFilter): Query {
  if (!Number.isSafeInteger(filter.limit) || filter.limit < 0) throw new RangeError(`file list limit must be a non-negative integer, got ${filter.limit}`);
  const binder = new Binder(dialect);
  const conditions: string[] = [];
  if (filter.ownerKeyId === null) conditions.push("owner_key_id IS NULL");
  else if (filter.ownerKeyId !== undefined) conditions.push(`owner_key_id = ${binder.bind(filter.ownerKeyId)}`);
  if (filter.purpose !== undefined) conditions.push(`purpose = ${binder.bind(filter.purpose)}`);
  if (filter.createdAfter !== undefined) conditions.push(`created_at >= ${binder.bind(checkedFileTime("createdAfter", filter.createdAfter))}`);
  if (filter.createdBefore !== undefined) conditions.push(`created_at < ${binder.bind(checkedFileTime("createdBefore", filter.createdBefore))}`);
  if (filter.after !== undefined) {
    const cursorTime = (value: string) => `(SELECT created_at FROM files WHERE id = ${binder.bind(value)})`;
    conditions.push(
      `(created_at < ${cursorTime(filter.after)} OR (created_at = ${cursorTime(filter.after)} AND id${dialect.byteOrder} < ${binder.bind(filter.after)}${dialect.byteOrder}))`,
    );
  }
  const where = conditions.length === 0 ? "" : ` WHERE ${conditions.join(" AND ")}`;
  const text = `${FILE_SELECT}${where} ORDER BY created_at DESC, id${dialect.byteOrder} DESC LIMIT ${binder.bind(filter.limit + 1)}`;
  return { text, values: binder.values };
}

function checkedFileTime(name: string, value: number): number {
  if (!Number.isSafeInteger(value)) throw new RangeError(`file filter ${name} must be an integer epoch-ms time, got ${value}`);
  return value;
}
