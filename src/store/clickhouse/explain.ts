// How a filter runs on the ClickHouse store, for `kubetrail query --explain`: the SQL pushed down, the
// values written into it as escaped literals, and what the JS predicate checks afterwards.
import { formatClickHousePlan, planClickHouse } from '../../query/compile/clickhouse.js';
import type { QueryNode } from '../../query/syntax/ast.js';
import { INDEX_COLUMNS } from '../sealing.js';
import type { TimeRange } from '../store.js';
import { rangeSql } from './records.js';

export function explainClickHouse(
  filter: QueryNode,
  range: TimeRange,
  now: number,
  encrypted = false,
): string {
  const plan = planClickHouse(filter, now, encrypted ? INDEX_COLUMNS : undefined);
  return formatClickHousePlan({ ...plan, sql: [plan.sql, ...rangeSql(range)].join(' AND ') });
}
