// The SQL back ends' shared walker and the strategy each dialect implements. The walker handles the
// boolean structure (AND, OR, NOT with no NULL surprises: every leaf is made two-valued); a dialect says
// how one term reads in its SQL and how values are bound (placeholders) or escaped (literals).
import { resolveField, type ResolvedField } from '../../fields/catalog.js';
import type { CompareOp, QueryNode, ValueLiteral } from '../syntax/ast.js';

export interface SqlFragment {
  sql: string;
  params: unknown[];
}

/** Collects bound values while SQL is built. */
export class SqlBuilder {
  readonly params: unknown[] = [];
  constructor(readonly now: number) {}
}

export interface SqlDialect {
  readonly name: string;
  /** The always-true condition (`*`); TRUE unless the dialect says otherwise. */
  readonly trueSql?: string;
  /** `field:*` */
  exists(b: SqlBuilder, field: ResolvedField): string;
  /** `field:value` */
  match(b: SqlBuilder, field: ResolvedField, value: ValueLiteral): string;
  /** `field>value` … */
  compare(b: SqlBuilder, field: ResolvedField, op: CompareOp, value: ValueLiteral): string;
  /** Free text over the text fields. */
  text(b: SqlBuilder, value: ValueLiteral): string;
  /** Makes a possibly-NULL condition two-valued (NULL → false). */
  definite(sql: string): string;
}

/** LIKE pattern with `\` as the escape character: literal %, _ and \ are escaped, wildcards become %. */
export function likePattern(parts: readonly string[], contains = false): string {
  const body = parts.map((p) => p.replace(/[\\%_]/g, (c) => `\\${c}`)).join('%');
  return contains ? `%${body}%` : body;
}

export function compileSql(node: QueryNode, dialect: SqlDialect, now: number = Date.now()): SqlFragment {
  const b = new SqlBuilder(now);
  const sql = walk(node, dialect, b);
  return { sql, params: b.params };
}

/** Compiles a filter with a builder the caller holds: its values are added to `b.params`, in order. */
export function compileInto(node: QueryNode, dialect: SqlDialect, b: SqlBuilder): string {
  return walk(node, dialect, b);
}

function field(name: string): ResolvedField {
  const f = resolveField(name);
  if (!f) throw new Error(`unknown field ${name}`);
  return f;
}

function walk(node: QueryNode, d: SqlDialect, b: SqlBuilder): string {
  switch (node.type) {
    case 'all':
      return d.trueSql ?? 'TRUE';
    case 'and':
      return `(${node.children.map((c) => walk(c, d, b)).join(' AND ')})`;
    case 'or':
      return `(${node.children.map((c) => walk(c, d, b)).join(' OR ')})`;
    case 'not':
      return `(NOT ${walk(node.child, d, b)})`;
    case 'exists':
      return d.definite(d.exists(b, field(node.field)));
    case 'match':
      return d.definite(d.match(b, field(node.field), node.value));
    case 'compare':
      return d.definite(d.compare(b, field(node.field), node.op, node.value));
    case 'text':
      return d.definite(d.text(b, node.value));
  }
}
