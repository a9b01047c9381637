// How a filter runs on the DuckDB store, for `kubetrail query --explain`: the SQL and its bound
// parameters. On a plain store everything is pushed down; on an encrypted one the SQL reads only the
// index columns and the JS predicate finishes what it cannot evaluate.
import { compileDuckDB, planDuckDBSealed } from '../../query/compile/duckdb.js';
import type { QueryNode } from '../../query/syntax/ast.js';
import { printQuery } from '../../query/syntax/printer.js';
import { INDEX_COLUMNS } from '../sealing.js';
import type { TimeRange } from '../store.js';
import { rangeWhere } from './filter.js';

export function explainDuckDB(filter: QueryNode, range: TimeRange, now: number, encrypted = false): string {
  if (encrypted) return explainSealed(filter, range, now);
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

function explainSealed(filter: QueryNode, range: TimeRange, now: number): string {
  const plan = planDuckDBSealed(filter, INDEX_COLUMNS, now);
  const params = [...plan.params];
  const parts = [plan.sql];
  rangeWhere(range, parts, params);
  const post = plan.postFilter;
  return [
    'store: duckdb (encrypted)',
    `pushed down: ${plan.pushed}`,
    `SQL: SELECT … FROM events WHERE ${parts.join(' AND ')}`,
    `bound values: ${params.length === 0 ? '(none)' : JSON.stringify(params)}`,
    post ? `post-filtered in JS: ${post.terms.join(' AND ')}` : 'post-filtered in JS: nothing',
    ...(post ? [`  why: ${post.reason}`] : []),
    '',
  ].join('\n');
}
