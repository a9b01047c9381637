// The WHERE clause of a filter and time range on the DuckDB events table, with its bound parameters, and
// how the store's read methods borrow a connection of their own and read events back (opened with the
// data key of an encrypted store). On an encrypted store the WHERE clause reads only the index columns
// and a JS predicate finishes on the decrypted events (src/query/compile/plan.ts).
import type { DuckDBConnection, DuckDBValue } from '@duckdb/node-api';
import type { DataKey } from '../../crypto/cipher.js';
import { planDuckDBSealed } from '../../query/compile/duckdb.js';
import { compileJs, type Predicate } from '../../query/compile/js.js';
import { compileDuckDB } from '../../query/index.js';
import type { QueryNode } from '../../query/syntax/ast.js';
import type { Located } from '../scan.js';
import { INDEX_COLUMNS, openStored } from '../sealing.js';
import type { TimeRange } from '../store.js';

export interface Where {
  sql: string;
  params: unknown[];
  /** Set when the SQL over-approximates the filter: the JS predicate that finishes it. */
  post?: Predicate;
  /** The data key of an encrypted store: events are opened with it, and SQL reads only INDEX_COLUMNS. */
  key?: DataKey;
}

/** Runs `fn` on a read connection of its own, closed afterwards; failures become KT_STORE_QUERY. */
export type Reader = <T>(fn: (conn: DuckDBConnection) => Promise<T>) => Promise<T>;

/** The SQL of `ts` within a time range, with its parameters (none for an open range). */
export function rangeWhere(range: TimeRange, parts: string[], params: unknown[]): void {
  if (range.since !== undefined) {
    parts.push(`ts >= make_timestamp(?::BIGINT)`);
    params.push(range.since);
  }
  if (range.until !== undefined) {
    parts.push(`ts < make_timestamp(?::BIGINT)`);
    params.push(range.until);
  }
}

/** The WHERE clause of a filter within a time range; every value is a bound parameter. */
export function whereOf(filter: QueryNode, range: TimeRange = {}, now?: number, key?: DataKey): Where {
  if (!key) {
    const f = compileDuckDB(filter, now);
    const parts = [f.sql];
    const params = [...f.params];
    rangeWhere(range, parts, params);
    return { sql: parts.join(' AND '), params };
  }
  const at = now ?? Date.now();
  const plan = planDuckDBSealed(filter, INDEX_COLUMNS, at);
  const parts = [plan.sql];
  const params = [...plan.params];
  rangeWhere(range, parts, params);
  const sql = parts.join(' AND ');
  return plan.postFilter ? { sql, params, post: compileJs(filter, at), key } : { sql, params, key };
}

/** The columns read for a record, in the order recordOf expects. */
export const SELECT_RECORD = `cluster, CAST(event AS VARCHAR) AS event, epoch_us(ts) AS t, content_hash`;

/** A row selected with SELECT_RECORD, as a record with its position. */
export function recordOf(r: readonly DuckDBValue[], key: DataKey | undefined): Located {
  const cluster = String(r[0]);
  const hash = String(r[3]);
  return { record: openStored({ cluster, hash, event: String(r[1]) }, key), t: Number(r[2]), hash };
}

/** Every row matching `where`, read with SELECT_RECORD, streamed in chunks (memory stays bounded). */
export async function* streamRecords(conn: DuckDBConnection, w: Where): AsyncGenerator<Located[]> {
  const result = await conn.stream(`SELECT ${SELECT_RECORD} FROM events WHERE ${w.sql}`, w.params as never);
  for await (const rows of result.yieldRows()) yield rows.map((r) => recordOf(r, w.key));
}
