/**
 * PostgreSQL schema names reach SQL as identifiers (CREATE SCHEMA, SET search_path), where a
 * placeholder cannot go, so they are checked against a strict pattern before any use.
 */

const SCHEMA_NAME = /^[a-z_][a-z0-9_]*$/;

/** The schema name double-quoted for SQL; throws unless it is lower-case letters, digits and `_` (at most 63, PostgreSQL's limit). */
export function quoteSchemaName(name: string): string {
  if (!SCHEMA_NAME.test(name) || name.length > 63) {
    throw new Error(`invalid PostgreSQL schema name ${JSON.stringify(name)}: use lower-case letters, digits and _ (at most 63)`);
  }
  return `"${name}"`;
}
