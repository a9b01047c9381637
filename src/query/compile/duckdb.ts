// The DuckDB dialect: every value is a bound `?` parameter. Columns come from the field catalog; JSON
// paths walk the `event` JSON column with list lambdas (crossing one level of arrays per step, as
// ../semantics.ts defines); annotations are read from the `annotations` JSON column by JSON pointer.
import { FIELDS, type FieldDef, type ResolvedField } from '../../fields/catalog.js';
import type { CompareOp, QueryNode, ValueLiteral } from '../syntax/ast.js';
import { durationValue, numberValue, timeValue } from '../syntax/literals.js';
import { compareBound } from '../semantics.js';
import { compileSql, likePattern, type SqlBuilder, type SqlDialect, type SqlFragment } from './dialect.js';
import { planSql, type FilterPlan } from './plan.js';

const TEXT_COLUMNS = FIELDS.filter((f) => f.text).map((f) => f.column);
const SCALAR_JSON_TYPES = `('VARCHAR','BIGINT','UBIGINT','DOUBLE','BOOLEAN')`;
const NUMERIC_JSON_TYPES = `('BIGINT','UBIGINT','DOUBLE')`;

const col = (name: string) => `"${name}"`;

/** The SQL of a catalog field's value: its column, or the expression of a computed field. */
export function fieldSql(field: FieldDef): string {
  return field.computed ? `(${field.computed.duckdb})` : col(field.column);
}

/** RFC 6901 JSON pointer of one object key. */
export function jsonPointer(key: string): string {
  return `/${key.replace(/~/g, '~0').replace(/\//g, '~1')}`;
}

function bind(b: SqlBuilder, value: unknown): string {
  b.params.push(value);
  return '?';
}

function timeParam(b: SqlBuilder, micros: number): string {
  return `make_timestamp(${bind(b, Math.round(micros))}::BIGINT)`;
}

/** SQL for the list of JSON values a JSON path reaches (nulls removed). */
function jsonList(b: SqlBuilder, path: readonly string[]): string {
  let list = `[json_extract("event", ${bind(b, jsonPointer(path[0]!))})]`;
  for (const seg of path.slice(1)) {
    const p1 = bind(b, jsonPointer(seg));
    const p2 = bind(b, jsonPointer(seg));
    list =
      `flatten(list_transform(${list}, lambda x: CASE WHEN json_type(x) = 'ARRAY' ` +
      `THEN list_transform(json_extract(x, '$[*]'), lambda y: CASE WHEN json_type(y) = 'OBJECT' THEN json_extract(y, ${p1}) END) ` +
      `WHEN json_type(x) = 'OBJECT' THEN [json_extract(x, ${p2})] ELSE [] END))`;
  }
  list = `flatten(list_transform(${list}, lambda x: CASE WHEN json_type(x) = 'ARRAY' THEN json_extract(x, '$[*]') ELSE [x] END))`;
  return `list_filter(${list}, lambda v: v IS NOT NULL AND json_type(v) <> 'NULL')`;
}

/** The SQL text of a field's single value (annotations) — multi and JSON fields are lists. */
function annotationValue(b: SqlBuilder, key: string): string {
  return `json_extract_string("annotations", ${bind(b, jsonPointer(key))})`;
}

/** Applies `test(x)` to each value of the field; true when any value passes. */
function anyOf(
  b: SqlBuilder,
  f: ResolvedField,
  test: (x: string) => string,
  jsonTypes = SCALAR_JSON_TYPES,
): string {
  switch (f.kind) {
    case 'column':
      if (f.field.multi) return `len(list_filter(${fieldSql(f.field)}, lambda x: ${test('x')})) > 0`;
      return test(fieldSql(f.field));
    case 'annotation':
      return test(annotationValue(b, f.key));
    case 'json': {
      const list = jsonList(b, f.path);
      return `len(list_filter(${list}, lambda j: json_type(j) IN ${jsonTypes} AND ${test("json_extract_string(j, '$')")})) > 0`;
    }
  }
}

export const duckdbDialect: SqlDialect = {
  name: 'duckdb',

  definite: (sql) => `COALESCE(${sql}, FALSE)`,

  exists(b, f) {
    switch (f.kind) {
      case 'column':
        return f.field.multi ? `len(${fieldSql(f.field)}) > 0` : `${fieldSql(f.field)} IS NOT NULL`;
      case 'annotation':
        return `${annotationValue(b, f.key)} IS NOT NULL`;
      case 'json':
        return `len(${jsonList(b, f.path)}) > 0`;
    }
  },

  match(b, f, value) {
    if (value.wildcard) {
      const pattern = likePattern(value.parts ?? [value.text]);
      const type = f.kind === 'column' ? f.field.type : 'string';
      return anyOf(
        b,
        f,
        (x) => `${type === 'string' ? x : `CAST(${x} AS VARCHAR)`} LIKE ${bind(b, pattern)} ESCAPE '\\'`,
      );
    }
    if (f.kind === 'column') {
      const c = fieldSql(f.field);
      switch (f.field.type) {
        case 'number':
          return `${c} = ${bind(b, numberValue(value.text))}::DOUBLE`;
        case 'duration':
          return `${c} = ${bind(b, durationValue(value.text))}::DOUBLE`;
        case 'time': {
          const r = timeValue(value.text, b.now);
          if (!r) return 'FALSE';
          return `(${c} >= ${timeParam(b, r.from)} AND ${c} < ${timeParam(b, r.to)})`;
        }
        case 'string':
          if (f.field.multi) return `list_contains(${c}, ${bind(b, value.text)})`;
          return `${c} = ${bind(b, value.text)}`;
      }
    }
    return anyOf(b, f, (x) => `${x} = ${bind(b, value.text)}`);
  },

  compare(b, f, op: CompareOp, value) {
    const bound = compareBound(f, op, value, b.now);
    if (!bound) return 'FALSE';
    const sqlOp = bound.lower ? (bound.inclusive ? '>=' : '>') : bound.inclusive ? '<=' : '<';
    if (f.kind === 'column') {
      const c = fieldSql(f.field);
      if (f.field.type === 'time') return `${c} ${sqlOp} ${timeParam(b, bound.bound)}`;
      return `${c} ${sqlOp} ${bind(b, bound.bound)}::DOUBLE`;
    }
    return anyOf(
      b,
      f,
      (x) => `CAST(${x} AS DOUBLE) ${sqlOp} ${bind(b, bound.bound)}::DOUBLE`,
      NUMERIC_JSON_TYPES,
    );
  },

  text(b, value: ValueLiteral) {
    const pattern = likePattern(
      (value.wildcard ? (value.parts ?? [value.text]) : [value.text]).map((p) => p.toLowerCase()),
      true,
    );
    return `(${TEXT_COLUMNS.map((c) => `(${col(c)} IS NOT NULL AND lower(${col(c)}) LIKE ${bind(b, pattern)} ESCAPE '\\')`).join(' OR ')})`;
  },
};

/** A boolean SQL expression over the events table with `?` placeholders, and the values to bind. */
export function compileDuckDB(node: QueryNode, now: number = Date.now()): SqlFragment {
  return compileSql(node, duckdbDialect, now);
}

/**
 * The plan of a filter on an encrypted DuckDB store, whose SQL may read only the columns in `clear`
 * (./plan.ts): what SQL narrows, and whether the JS predicate must finish on decrypted events.
 */
export function planDuckDBSealed(
  node: QueryNode,
  clear: ReadonlySet<string>,
  now: number = Date.now(),
): FilterPlan {
  return planSql(
    node,
    duckdbDialect,
    {
      exact: (f) => f.kind === 'column' && f.field.computed === undefined && clear.has(f.field.column),
      text: TEXT_COLUMNS.every((c) => clear.has(c)),
      reason:
        'the store is encrypted: only the index columns are readable by SQL; the rows it selects are ' +
        'decrypted and checked with the JS predicate',
    },
    now,
  );
}
