// ClickHouse schema of the events table, derived from the shared column list. Migrations
// (migrations.ts) create and upgrade it; this module only says what the current shape is and how a row
// is written in the insert format.
//
// - ReplacingMergeTree: rows with the same sorting key are collapsed at merge time. The key ends with
//   (ts, content_hash) and everything before it is a function of the event, so only identical events
//   collapse: the backstop behind the store's check-before-insert deduplication.
// - Partitioned by UTC day (an integer day number, independent of the server's time zone), so retention
//   drops whole partitions.
// - Sorting key (cluster, hour, user, resource, ts, content_hash): the filters people use most.
// - Times are Int64 epoch microseconds (DateTime64 does not exist before 20.1).
// - Single-valued strings are non-Nullable with '' for absent (cheaper, and allowed in the sorting key);
//   the field catalog treats an empty string as absent too, and the ClickHouse dialect relies on it.
import type { EventRow } from '../columns.js';
import { EVENT_COLUMNS, type ColumnType } from '../columns.js';

export const DAY_US = 86_400_000_000;
export const HOUR_US = 3_600_000_000;

const CLICKHOUSE_TYPES: Record<ColumnType, string> = {
  varchar: 'String',
  'varchar[]': 'Array(String)',
  integer: 'Nullable(Int32)',
  double: 'Nullable(Float64)',
  timestamp: 'Nullable(Int64)',
  json: 'String',
};

/** Column type in ClickHouse; `ts` is the only timestamp that is always present. */
export function clickhouseType(name: string, type: ColumnType): string {
  return name === 'ts' ? 'Int64' : CLICKHOUSE_TYPES[type];
}

/** CREATE TABLE statement of the events table in the given database. */
export function createEventsTableSql(database: string, table = 'events'): string {
  const cols = EVENT_COLUMNS.map(([name, type]) => `  ${name} ${clickhouseType(name, type)}`);
  return [
    `CREATE TABLE IF NOT EXISTS ${database}.${table} (`,
    cols.join(',\n'),
    `) ENGINE = ReplacingMergeTree()`,
    `PARTITION BY intDiv(ts, ${DAY_US})`,
    `ORDER BY (cluster, intDiv(ts, ${HOUR_US}), username, resource, ts, content_hash)`,
    `SETTINGS index_granularity = 8192`,
  ].join('\n');
}

/** A row as the JSONEachRow insert format wants it: absent strings as '', other absent values null. */
export function insertRow(r: EventRow): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, type] of EVENT_COLUMNS) {
    const v = r[name];
    out[name] = (type === 'varchar' || type === 'json') && (v === null || v === undefined) ? '' : v;
  }
  return out;
}

/** The UTC day number (partition value) of a time in epoch microseconds. */
export function dayOf(us: number): number {
  return Math.floor(us / DAY_US);
}
