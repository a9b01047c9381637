// How a filter runs on the DuckDB store, for `kubetrail query --explain`: the SQL and its bound
// parameters. Everything is pushed down; nothing is post-filtered.
import { compileDuckDB } from '../../query/compile/duckdb.js';
import type { QueryNode } from '../../query/syntax/ast.js';
import { printQuery } from '../../query/syntax/printer.js';
import type { TimeRange } from '../store.js';
import { rangeWhere } from './filter.js';

export function explainDuckDB(filter: QueryNode, range: TimeRange, now: number): string {
  const f = compileDuckDB(filter, now);
  const params = [...f.params];
  const parts = [f.sql];
  rangeWhere(range, parts, params);
  return [
    'store: duckdb',
    `pushed down: ${printQuery(filter)}`,
    `SQL: SELECT … FROM events WHERE ${parts.join(' AND ')}`,
    `bound values: ${params.length === 0 ? '(none)' : JSON.stringify(params)}`,
    'post-filtered in JS: nothing',
    '',
  ].join('\n');
}
