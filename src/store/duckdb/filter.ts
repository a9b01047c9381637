// The WHERE clause of a filter and time range on the DuckDB events table, with its bound parameters, and
// how the store's read methods borrow a connection of their own.
import type { DuckDBConnection } from '@duckdb/node-api';
import { compileDuckDB } from '../../query/index.js';
import type { QueryNode } from '../../query/syntax/ast.js';
import type { TimeRange } from '../store.js';

export interface Where {
  sql: string;
  params: unknown[];
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
export function whereOf(filter: QueryNode, range: TimeRange = {}, now?: number): Where {
  const f = compileDuckDB(filter, now);
  const parts = [f.sql];
  const params = [...f.params];
  rangeWhere(range, parts, params);
  return { sql: parts.join(' AND '), params };
}
