/**
 * Versioned schema changes. Each dialect keeps its own ordered list (their DDL differs) and its
 * own runner; both record what ran in `schema_migrations(version, applied_at)` so reopening an
 * up-to-date database changes nothing. Never edit a released migration: append a new version.
 */

export interface Migration {
  /** Positive, strictly increasing within a dialect's list. */
  version: number;
  /** What the migration does, for people reading the list. */
  description: string;
  /** DDL statements, run together inside the migration transaction. */
  sql: string;
}

/** The migrations not yet applied, in version order; throws if the list itself is malformed. */
export function pendingMigrations(all: readonly Migration[], applied: ReadonlySet<number>): Migration[] {
  let previous = 0;
  for (const migration of all) {
    if (!Number.isSafeInteger(migration.version) || migration.version <= previous) {
      throw new Error(`migration versions must be positive and strictly increasing; ${migration.version} follows ${previous}`);
    }
    previous = migration.version;
  }
  return all.filter((migration) => !applied.has(migration.version));
}
