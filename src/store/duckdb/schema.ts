// DuckDB schema of the events table, derived from the shared column list. Migrations (migrations.ts)
// create and upgrade it; this module only says what the current shape is.
import { EVENT_COLUMNS, type ColumnType } from '../columns.js';

const DUCKDB_TYPES: Record<ColumnType, string> = {
  varchar: 'VARCHAR',
  'varchar[]': 'VARCHAR[]',
  integer: 'INTEGER',
  double: 'DOUBLE',
  timestamp: 'TIMESTAMP',
  // JSON text is stored as VARCHAR: the JSON functions read it all the same, and inserts skip a parse.
  json: 'VARCHAR',
};

const NOT_NULL = new Set(['cluster', 'audit_id', 'stage', 'content_hash', 'ts', 'level', 'verb', 'event']);

/** CREATE TABLE statement for the events table under the given name. */
export function createEventsTableSql(table = 'events'): string {
  const cols = EVENT_COLUMNS.map(
    ([name, type]) => `  "${name}" ${DUCKDB_TYPES[type]}${NOT_NULL.has(name) ? ' NOT NULL' : ''}`,
  );
  return `CREATE TABLE IF NOT EXISTS ${table} (\n${cols.join(',\n')}\n)`;
}

/**
 * The staging table the writer appends to: the same columns in cheap-to-append types (timestamps as
 * epoch microseconds in a DOUBLE, lists as JSON text), converted by STAGING_SELECT on the way in.
 */
export function createStagingTableSql(table = 'kt_staging'): string {
  const cols = EVENT_COLUMNS.map(([name, type]) => {
    const t =
      type === 'timestamp' || type === 'double' ? 'DOUBLE' : type === 'integer' ? 'INTEGER' : 'VARCHAR';
    return `  "${name}" ${t}`;
  });
  return `CREATE TEMP TABLE IF NOT EXISTS ${table} (\n${cols.join(',\n')}\n)`;
}

/** Select list that turns staging rows into events rows. */
export const STAGING_SELECT = EVENT_COLUMNS.map(([name, type]) => {
  if (type === 'timestamp') return `make_timestamp(CAST(s."${name}" AS BIGINT))`;
  if (type === 'varchar[]') return `CAST(from_json(s."${name}", '["VARCHAR"]') AS VARCHAR[])`;
  return `s."${name}"`;
}).join(', ');

/** STAGING_SELECT with each column named: staging rows as they are stored, for hashing them. */
export const STAGING_ROWS_SELECT = EVENT_COLUMNS.map(([name, type]) => {
  if (type === 'timestamp') return `make_timestamp(CAST(s."${name}" AS BIGINT)) AS "${name}"`;
  if (type === 'varchar[]') return `CAST(from_json(s."${name}", '["VARCHAR"]') AS VARCHAR[]) AS "${name}"`;
  return `s."${name}" AS "${name}"`;
}).join(', ');

/** A column as it enters a row's canonical encoding: timestamps as integer epoch µs, the rest as stored. */
const canonicalCell = ([name, type]: readonly [string, string]) =>
  type === 'timestamp' ? `epoch_us("${name}")` : `"${name}"`;

/**
 * The canonical encoding of a stored row for its digest entry, as SQL over the events table's columns
 * (version 2): every column but the event, in table order, in a JSON array (timestamps as integer epoch
 * µs, lists as arrays, text as strings, absent values null), a newline, then the event's text as stored;
 * and its SHA-256. The JSON array holds no raw newline (JSON escapes it in strings), so the first newline
 * ends it and the encoding is unambiguous. The same expression hashes a row when it is inserted and when
 * verification reads it back, so both always agree on an untouched row. The event text is hashed as it
 * is, not escaped into the array: escaping ~1 KB per row cost most of a write's digest time.
 */
export const ROW_HASH_SQL = `sha256(CAST(json_array(${EVENT_COLUMNS.filter(([name]) => name !== 'event')
  .map(canonicalCell)
  .join(', ')}) AS VARCHAR) || chr(10) || "event")`;

/**
 * Version 1 of the encoding: every column, the event included, in one JSON array. Entries written before
 * version 2 hold these hashes; verification computes both while the store holds such entries
 * (LEGACY_ROW_HASH_META).
 */
export const ROW_HASH_V1_SQL = `sha256(CAST(json_array(${EVENT_COLUMNS.map(canonicalCell).join(', ')}) AS VARCHAR))`;

/**
 * Meta key set (by migration 3) in a store whose digest entries include version 1 row hashes. Its value
 * is the time span (epoch µs) of the rows they name, `{"from":…,"to":…}`; `true` (written by earlier
 * builds) stands for all time.
 */
export const LEGACY_ROW_HASH_META = 'digest.row_hash_v1';

/**
 * The tables of tamper evidence: the digest records (one JSON record each, with the columns reads select
 * on), the entries of batch records (by time, one row per stored row they name), and the verifications
 * kept. Entries are written in record order, so DuckDB's zone maps on seq and ts keep range reads cheap.
 */
export const DIGEST_TABLES_SQL: readonly string[] = [
  `CREATE TABLE IF NOT EXISTS kt_digests (
  writer VARCHAR NOT NULL,
  seq BIGINT NOT NULL,
  kind VARCHAR NOT NULL,
  from_us BIGINT,
  to_us BIGINT,
  record VARCHAR NOT NULL
)`,
  `CREATE TABLE IF NOT EXISTS kt_digest_entries (
  writer VARCHAR NOT NULL,
  seq BIGINT NOT NULL,
  ts BIGINT NOT NULL,
  cluster VARCHAR NOT NULL,
  audit_id VARCHAR NOT NULL,
  stage VARCHAR NOT NULL,
  hash VARCHAR NOT NULL
)`,
  `CREATE TABLE IF NOT EXISTS kt_verifications (verified_at VARCHAR NOT NULL, record VARCHAR NOT NULL)`,
];
