import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { after, describe, it } from "node:test";
import pg from "pg";
import { openStore } from "./index.ts";
import { PostgresStore } from "./postgres.ts";
import { POSTGRES_MIGRATIONS } from "./postgresMigrations.ts";
import { describeStoreContract } from "../../test/helpers/storeContract.ts";

const url = process.env.OPENSCOPE_TEST_PG_URL;
const skipReason = url ? undefined : "set OPENSCOPE_TEST_PG_URL (source scripts/test-services.sh) to run the PostgreSQL store tests";
const options = skipReason === undefined ? {} : { skip: skipReason };

/** Fresh schemas for this run, dropped (CASCADE) when it ends. */
const runTag = randomBytes(4).toString("hex");
const contractSchema = `openscope_test_${runTag}`;
const schemasToDrop = [contractSchema];

after(async () => {
  if (url === undefined) return;
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    // Names come from the fixed pattern above (hex tag), never from input.
    for (const schema of schemasToDrop) await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  } finally {
    await client.end();
  }
});

describeStoreContract("postgres", () => PostgresStore.open(url ?? "", { schema: contractSchema }), skipReason);

describe("postgres store specifics", () => {
  it("two opens racing on a fresh schema both succeed and migrate once", options, async () => {
    const schema = `openscope_test_${runTag}_race`;
    schemasToDrop.push(schema);
    const stores = await Promise.all([PostgresStore.open(url ?? "", { schema }), PostgresStore.open(url ?? "", { schema })]);
    try {
      const applied = stores.flatMap((store) => store.migrationsApplied).sort((a, b) => a - b);
      assert.deepEqual(
        applied,
        POSTGRES_MIGRATIONS.map((migration) => migration.version),
      );
      const [one, two] = stores;
      assert.ok(one && two);
      await one.appendUsage([]);
      assert.equal(await one.countKeys(), 0);
      assert.equal(await two.countKeys(), 0);
    } finally {
      await Promise.all(stores.map((store) => store.close()));
    }
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const rows = await client.query<{ version: number }>(`SELECT version FROM "${schema}".schema_migrations ORDER BY version`);
      assert.deepEqual(
        rows.rows.map((row) => row.version),
        POSTGRES_MIGRATIONS.map((migration) => migration.version),
      );
    } finally {
      await client.end();
    }
  });

  it("keeps its tables in the given schema only", options, async () => {
    const store = await PostgresStore.open(url ?? "", { schema: contractSchema });
    await store.close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    try {
      const tables = await client.query<{ table_name: string }>(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1 ORDER BY table_name",
        [contractSchema],
      );
      assert.deepEqual(
        tables.rows.map((row) => row.table_name),
        ["api_keys", "files", "schema_migrations", "usage"],
      );
    } finally {
      await client.end();
    }
  });

  it("rejects a schema name that is not a plain lower-case identifier", options, async () => {
    await assert.rejects(PostgresStore.open(url ?? "", { schema: 'x"; DROP TABLE y; --' }), /invalid PostgreSQL schema name/);
    await assert.rejects(PostgresStore.open(url ?? "", { schema: "Upper" }), /invalid PostgreSQL schema name/);
  });

  it('openStore({ type: "postgres" }) opens a PostgresStore in the schema', options, async () => {
    const store = await openStore({ type: "postgres", url: url ?? "", schema: contractSchema });
    try {
      assert.ok(store instanceof PostgresStore);
      assert.equal(store.kind, "postgres");
      assert.deepEqual(store.migrationsApplied, []);
    } finally {
      await store.close();
    }
  });
});
