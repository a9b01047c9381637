// Planning a filter for a SQL store that cannot evaluate every term exactly: ClickHouse before 19.x
// (no JSON functions: JSON paths and annotations), and any store whose rows are encrypted (only the
// index columns are readable by SQL). The plan's SQL is an over-approximation: every event that
// matches the filter satisfies it. Conjuncts the store evaluates exactly are pushed down as they are;
// for the rest, a term the store cannot read becomes TRUE (or a necessary condition the store knows,
// such as a substring search of stored JSON), carried through AND and OR, and NOT of anything inexact
// becomes TRUE. The store then checks the selected rows with the JS predicate (./js.ts) whenever the
// plan has a post-filter.
import { resolveField, type ResolvedField } from '../../fields/catalog.js';
import type { QueryNode } from '../syntax/ast.js';
import { printQuery } from '../syntax/printer.js';
import { compileInto, SqlBuilder, type SqlDialect } from './dialect.js';

/** A leaf of the filter that names a field. */
export type FieldTerm = Extract<QueryNode, { type: 'exists' | 'match' | 'compare' }>;

/** What a store's SQL can evaluate. */
export interface SqlCapabilities {
  /** Whether terms on this field are evaluated exactly by the store's SQL. */
  exact(field: ResolvedField): boolean;
  /** Whether free-text search is evaluated exactly. */
  text: boolean;
  /** A necessary SQL condition for a term that is not exact (values added to `b`); undefined: none. */
  narrow?(term: FieldTerm, field: ResolvedField, b: SqlBuilder): string | undefined;
  /** Why the other terms are checked in JS, for plans shown to people. */
  reason: string;
}

export interface FilterPlan {
  /** Boolean SQL over the events table that every matching event satisfies. */
  sql: string;
  /** The values of `sql`, in order (bound parameters, or literals already written into it). */
  params: unknown[];
  /** The filter terms the store evaluates exactly, printed in the filter language ('*' when none). */
  pushed: string;
  /**
   * Set when part of the filter is not evaluated exactly: the rows `sql` selects must then be checked
   * against the whole filter with the JS predicate. `terms` are the conjuncts not evaluated exactly;
   * `narrowed` those for which `sql` still holds a necessary condition.
   */
  postFilter?: { terms: string[]; narrowed: string[]; reason: string };
}

function resolved(name: string): ResolvedField {
  const f = resolveField(name);
  if (!f) throw new Error(`unknown field ${name}`);
  return f;
}

/** Whether the store's SQL evaluates the whole filter exactly. */
export function isExact(node: QueryNode, caps: SqlCapabilities): boolean {
  switch (node.type) {
    case 'all':
      return true;
    case 'and':
    case 'or':
      return node.children.every((c) => isExact(c, caps));
    case 'not':
      return isExact(node.child, caps);
    case 'text':
      return caps.text;
    case 'exists':
    case 'match':
    case 'compare':
      return caps.exact(resolved(node.field));
  }
}

/** A necessary condition for `node` in SQL, or undefined when none is known (TRUE). */
function approximate(
  node: QueryNode,
  d: SqlDialect,
  caps: SqlCapabilities,
  b: SqlBuilder,
): string | undefined {
  if (isExact(node, caps)) return node.type === 'all' ? undefined : compileInto(node, d, b);
  switch (node.type) {
    case 'and': {
      const parts = node.children
        .map((c) => approximate(c, d, caps, b))
        .filter((x): x is string => x !== undefined);
      return parts.length > 0 ? `(${parts.join(' AND ')})` : undefined;
    }
    case 'or': {
      // Built in a builder of its own: when one branch is TRUE the whole OR is, and none of its
      // values may be left behind in `b`.
      const own = new SqlBuilder(b.now);
      const parts = node.children.map((c) => approximate(c, d, caps, own));
      if (!parts.every((x): x is string => x !== undefined)) return undefined;
      b.params.push(...own.params);
      return `(${parts.join(' OR ')})`;
    }
    case 'exists':
    case 'match':
    case 'compare':
      return caps.narrow?.(node, resolved(node.field), b);
    case 'all':
    case 'not':
    case 'text':
      return undefined;
  }
}

/** Plans a filter for a store with the given capabilities (see the module comment). */
export function planSql(
  node: QueryNode,
  dialect: SqlDialect,
  caps: SqlCapabilities,
  now: number = Date.now(),
): FilterPlan {
  const conjuncts = node.type === 'and' ? node.children : [node];
  const pushed: QueryNode[] = [];
  const post: QueryNode[] = [];
  for (const c of conjuncts) (isExact(c, caps) ? pushed : post).push(c);
  const pushedNode: QueryNode =
    pushed.length === 0
      ? { type: 'all' }
      : pushed.length === 1
        ? pushed[0]!
        : { type: 'and', children: pushed };
  const b = new SqlBuilder(now);
  const exact = compileInto(pushedNode, dialect, b);
  const narrowed: string[] = [];
  const conditions: string[] = [];
  for (const p of post) {
    const n = approximate(p, dialect, caps, b);
    if (n === undefined) continue;
    narrowed.push(printQuery(p));
    conditions.push(n);
  }
  return {
    sql:
      pushed.length === 0 && conditions.length > 0
        ? conditions.join(' AND ')
        : [exact, ...conditions].join(' AND '),
    params: b.params,
    pushed: printQuery(pushedNode),
    ...(post.length > 0
      ? { postFilter: { terms: post.map((p) => printQuery(p)), narrowed, reason: caps.reason } }
      : {}),
  };
}
