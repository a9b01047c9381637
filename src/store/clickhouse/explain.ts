// `kubetrail query --explain`: how a filter runs on the store a location names, without running it.
// For ClickHouse: the SQL pushed down, the values written into it as escaped literals and what the JS
// predicate checks afterwards; for DuckDB: the SQL and its bound parameters (everything is pushed down).
import { compileDuckDB } from '../../query/compile/duckdb.js';
import { formatClickHousePlan, planClickHouse, sqlLiteral } from '../../query/compile/clickhouse.js';
import type { QueryNode } from '../../query/syntax/ast.js';
import { printQuery } from '../../query/syntax/printer.js';
import { isClickHouseLocation } from '../open.js';
import type { TimeRange } from '../store.js';

export function explainQuery(
  location: string,
  filter: QueryNode,
  range: TimeRange = {},
  now: number = Date.now(),
): string {
  if (isClickHouseLocation(location)) {
    const plan = planClickHouse(filter, now);
    const parts = [plan.sql];
    if (range.since !== undefined) parts.push(`ts >= ${sqlLiteral(Math.round(range.since))}`);
    if (range.until !== undefined) parts.push(`ts < ${sqlLiteral(Math.round(range.until))}`);
    return formatClickHousePlan({ ...plan, sql: parts.join(' AND ') });
  }
  const f = compileDuckDB(filter, now);
  const params = [...f.params];
  const parts = [f.sql];
  if (range.since !== undefined) {
    parts.push('ts >= make_timestamp(?::BIGINT)');
    params.push(range.since);
  }
  if (range.until !== undefined) {
    parts.push('ts < make_timestamp(?::BIGINT)');
    params.push(range.until);
  }
  return [
    'store: duckdb',
    `pushed down: ${printQuery(filter)}`,
    `SQL: SELECT … FROM events WHERE ${parts.join(' AND ')}`,
    `bound values: ${params.length === 0 ? '(none)' : JSON.stringify(params)}`,
    'post-filtered in JS: nothing',
    '',
  ].join('\n');
}
