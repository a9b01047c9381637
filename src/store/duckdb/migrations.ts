// Versioned schema migrations of the DuckDB store. Each migration runs once, in order, inside a
// transaction, and is recorded in kt_schema_migrations. A file written by a newer kubetrail (a version
// this build does not know) is refused rather than guessed at.
import type { DuckDBConnection } from '@duckdb/node-api';
import { KubetrailError } from '../../core/errors.js';
import { createEventsTableSql, DIGEST_TABLES_SQL, LEGACY_ROW_HASH_META } from './schema.js';

export interface Migration {
  version: number;
  description: string;
  statements: readonly string[];
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'events table and key/value metadata',
    statements: [
      createEventsTableSql('events'),
      `CREATE TABLE IF NOT EXISTS kt_meta (key VARCHAR PRIMARY KEY, value VARCHAR NOT NULL)`,
    ],
  },
  {
    version: 2,
    description: 'tamper evidence: digest records, their entries, verifications',
    statements: DIGEST_TABLES_SQL,
  },
  {
    version: 3,
    description: 'row hashes of digest entries, version 2 (entries written before keep version 1)',
    statements: [
      // The time span of the rows those entries name: only rows in it are hashed both ways.
      `INSERT INTO kt_meta (key, value)
       SELECT '${LEGACY_ROW_HASH_META}', json_object('from', min(ts), 'to', max(ts))::VARCHAR
       FROM kt_digest_entries HAVING count(*) > 0 ON CONFLICT DO NOTHING`,
    ],
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]!.version;

export async function currentVersion(conn: DuckDBConnection): Promise<number> {
  await conn.run(
    `CREATE TABLE IF NOT EXISTS kt_schema_migrations (version INTEGER PRIMARY KEY, description VARCHAR, applied_at TIMESTAMP DEFAULT current_timestamp)`,
  );
  const r = await conn.runAndReadAll(`SELECT coalesce(max(version), 0) AS v FROM kt_schema_migrations`);
  return Number(r.getRows()[0]![0]);
}

/** Applies the migrations this file lacks; refuses files from a newer schema. */
export async function migrate(conn: DuckDBConnection, file: string): Promise<number> {
  const have = await currentVersion(conn);
  if (have > SCHEMA_VERSION) {
    throw new KubetrailError(
      'KT_STORE_SCHEMA',
      `${file} has schema version ${have}; this kubetrail knows up to ${SCHEMA_VERSION}`,
      { where: { file } },
    );
  }
  for (const m of MIGRATIONS) {
    if (m.version <= have) continue;
    await conn.run('BEGIN TRANSACTION');
    try {
      for (const s of m.statements) await conn.run(s);
      await conn.run(`INSERT INTO kt_schema_migrations (version, description) VALUES (?, ?)`, [
        m.version,
        m.description,
      ]);
      await conn.run('COMMIT');
    } catch (err) {
      await conn.run('ROLLBACK');
      throw new KubetrailError(
        'KT_STORE_SCHEMA',
        `migration ${m.version} (${m.description}) failed: ${String(err)}`,
        {
          where: { file },
          cause: err,
        },
      );
    }
  }
  return SCHEMA_VERSION;
}
