// Events as the ClickHouse store reads them back: the columns selected for a record, the record's
// position in the (ts, content_hash) order that pages and cursors follow, the SQL of a time range, and
// the streamed scan over every matching row that counts and aggregations computed here read.
import type { EventRecord } from '../../core/event.js';
import type { DataKey } from '../../crypto/cipher.js';
import { sqlLiteral } from '../../query/compile/clickhouse.js';
import type { Predicate } from '../../query/compile/js.js';
import type { Located } from '../scan.js';
import { openStored } from '../sealing.js';
import type { TimeRange } from '../store.js';
import type { ClickHouseConnection } from './connection.js';

export type { Key, Located } from '../scan.js';

export const SELECT_RECORD = 'cluster, event, ts, content_hash';

/** Hashes looked up per query: keeps the SQL text well under the server's max_query_size (256 KiB). */
export const HASH_LOOKUP_CHUNK = 2000;

export interface RecordRow {
  cluster: string;
  event: string;
  ts: string | number;
  content_hash: string;
}

/** The record of a row, opened with the store's key when it is encrypted (src/store/sealing.ts). */
export const toRecord = (r: RecordRow, key: DataKey | undefined): EventRecord =>
  openStored({ cluster: r.cluster, hash: r.content_hash, event: r.event }, key);

/** Conditions on `ts` for a time range, as escaped literals (none for an open range). */
export function rangeSql(range: TimeRange): string[] {
  const parts: string[] = [];
  if (range.since !== undefined) parts.push(`ts >= ${sqlLiteral(Math.round(range.since))}`);
  if (range.until !== undefined) parts.push(`ts < ${sqlLiteral(Math.round(range.until))}`);
  return parts;
}

/**
 * Every row matching `where` that passes `post`, in no particular order, streamed from one query so
 * memory stays bounded however many rows match (for counts and aggregations computed here).
 */
export async function* scanRecords(
  conn: ClickHouseConnection,
  where: string,
  post: Predicate | undefined,
  key: DataKey | undefined,
): AsyncGenerator<Located[]> {
  for await (const rows of conn.stream<RecordRow>(
    `SELECT ${SELECT_RECORD} FROM ${conn.events} WHERE ${where}`,
  )) {
    const out: Located[] = [];
    for (const r of rows) {
      const record = toRecord(r, key);
      if (!post || post(record)) out.push({ record, t: Number(r.ts), hash: r.content_hash });
    }
    if (out.length > 0) yield out;
  }
}
