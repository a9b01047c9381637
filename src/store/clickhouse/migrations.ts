// Versioned schema migrations of the ClickHouse store, recorded in kt_schema_migrations. Several
// collectors may start at once against one server, and ClickHouse has no transactions: every statement
// is idempotent (IF NOT EXISTS), so running a migration twice is harmless, and the table's
// ReplacingMergeTree keeps one row per version. A database written by a newer kubetrail is refused.
import type { ClickHouseClient } from '@clickhouse/client';
import { KubetrailError } from '../../core/errors.js';
import { sqlLiteral } from '../../query/compile/clickhouse.js';
import { createAlertTablesSql } from './alerts.js';
import { createDigestTablesSql } from './digest-tables.js';
import { createEventsTableSql } from './schema.js';

export interface Migration {
  version: number;
  description: string;
  statements: (database: string) => readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'events table',
    statements: (db) => [createEventsTableSql(db, 'events')],
  },
  {
    version: 2,
    description: 'alerts and their acknowledgements',
    statements: (db) => createAlertTablesSql(db),
  },
  {
    version: 3,
    description: 'key/value metadata (encryption state)',
    // Read with argMax(value, version) (src/store/clickhouse/encryption.ts): no merge or FINAL needed.
    statements: (db) => [
      `CREATE TABLE IF NOT EXISTS ${db}.kt_meta (key String, value String, version UInt64) ENGINE = ReplacingMergeTree(version) ORDER BY key`,
    ],
  },
  {
    version: 4,
    description: 'digest records, their entries and verifications',
    statements: (db) => createDigestTablesSql(db),
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export async function currentVersion(client: ClickHouseClient, database: string): Promise<number> {
  await client.command({
    query: `CREATE TABLE IF NOT EXISTS ${database}.kt_schema_migrations (version UInt32, description String, applied_at DateTime DEFAULT now()) ENGINE = ReplacingMergeTree() ORDER BY version`,
  });
  const rs = await client.query({
    query: `SELECT max(version) AS v FROM ${database}.kt_schema_migrations`,
    format: 'JSONEachRow',
  });
  const rows = await rs.json<{ v: number | string }>();
  return Number(rows[0]?.v ?? 0);
}

/** Applies the migrations the database lacks; refuses databases from a newer schema. */
export async function migrate(client: ClickHouseClient, database: string, where: string): Promise<number> {
  const have = await currentVersion(client, database);
  if (have > SCHEMA_VERSION) {
    throw new KubetrailError(
      'KT_STORE_SCHEMA',
      `${where} has schema version ${have}; this kubetrail knows up to ${SCHEMA_VERSION}`,
      { where: { file: where } },
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= have) continue;
    try {
      for (const s of m.statements(database)) await client.command({ query: s });
      await client.command({
        query: `INSERT INTO ${database}.kt_schema_migrations (version, description) VALUES (${sqlLiteral(m.version)}, ${sqlLiteral(m.description)})`,
      });
    } catch (err) {
      throw new KubetrailError(
        'KT_STORE_SCHEMA',
        `migration ${m.version} (${m.description}) failed: ${String(err)}`,
        { where: { file: where }, cause: err },
      );
    }
  }
  return SCHEMA_VERSION;
}
