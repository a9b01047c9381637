// DuckDB schema of the events table, derived from the shared column list. Migrations (migrations.ts)
// create and upgrade it; this module only says what the current shape is.
import { EVENT_COLUMNS, type ColumnType } from '../columns.js';

const DUCKDB_TYPES: Record<ColumnType, string> = {
  varchar: 'VARCHAR',
  'varchar[]': 'VARCHAR[]',
  integer: 'INTEGER',
  double: 'DOUBLE',
  timestamp: 'TIMESTAMP',
  json: 'JSON',
};

const NOT_NULL = new Set(['cluster', 'audit_id', 'stage', 'content_hash', 'ts', 'level', 'verb', 'event']);

/** CREATE TABLE statement for the events table under the given name. */
export function createEventsTableSql(table = 'events'): string {
  const cols = EVENT_COLUMNS.map(
    ([name, type]) => `  "${name}" ${DUCKDB_TYPES[type]}${NOT_NULL.has(name) ? ' NOT NULL' : ''}`,
  );
  return `CREATE TABLE IF NOT EXISTS ${table} (\n${cols.join(',\n')}\n)`;
}
