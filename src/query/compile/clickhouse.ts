// The ClickHouse dialect of the filter compiler, and the query plan that splits a filter into the part
// ClickHouse evaluates and the part evaluated afterwards by the JS predicate.
//
// The oldest server kubetrail supports (18.16, Debian's package) has no query parameters, so every value
// is written into the SQL as a literal by one function, `sqlLiteral`, which the tests fuzz against a real
// server. The SQL sticks to what both 18.16 and current ClickHouse accept: no TRUE/FALSE keywords (1 and
// 0), no JSON functions (JSONExtract arrived in 19.x), no DateTime64 (times are Int64 epoch microseconds).
//
// Storage conventions the SQL relies on (see src/store/clickhouse/schema.ts): single-valued string
// columns are non-Nullable `String` with '' for "absent" (the field catalog treats an empty string as
// absent too); multi-valued fields are `Array(String)`; numbers and times are Nullable except `ts`.
import { FIELDS, type ResolvedField } from '../../fields/catalog.js';
import type { QueryNode, ValueLiteral } from '../syntax/ast.js';
import { durationValue, numberValue, timeValue } from '../syntax/literals.js';
import { compareBound } from '../semantics.js';
import { likePattern, type SqlBuilder, type SqlDialect } from './dialect.js';
import { isExact, planSql, type FieldTerm, type SqlCapabilities } from './plan.js';

const TEXT_COLUMNS = FIELDS.filter((f) => f.text).map((f) => f.column);

/** A value that may be written into ClickHouse SQL as a literal. */
export type SqlValue = string | number | boolean | null | readonly SqlValue[];

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const MIN_NORMAL = 2.2250738585072014e-308;
const SUBNORMAL_SCALE = 2 ** 600;

function hex2(code: number): string {
  return code.toString(16).padStart(2, '0');
}

/**
 * The one place a value becomes ClickHouse SQL text. Strings are single-quoted with `\` and `'`
 * backslash-escaped and every ASCII control character written as `\xHH`, so the SQL text holds no raw
 * byte that the lexer treats specially; other characters are passed through as UTF-8. Numbers must be
 * finite; integers are written exactly, others in JavaScript's shortest round-trip form (which ClickHouse
 * parses as Float64), subnormal ones as an exact quotient (18.16's lexer refuses them). Arrays become array literals of escaped elements.
 *
 * Lone UTF-16 surrogates cannot be encoded as UTF-8: they are refused rather than silently replaced,
 * so that a filter never means something other than what was written.
 */
export function sqlLiteral(value: SqlValue): string {
  if (value === null) return 'NULL';
  if (typeof value === 'boolean') return value ? '1' : '0';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new RangeError(`not a finite number: ${String(value)}`);
    if (value !== 0 && Math.abs(value) < MIN_NORMAL) {
      // Subnormal numbers do not parse on older servers: written as an exact power-of-two scaling.
      return `(${sqlLiteral(value * SUBNORMAL_SCALE)} / ${String(SUBNORMAL_SCALE)})`;
    }
    const text = Object.is(value, -0) ? '0' : String(value);
    return value < 0 ? `(${text})` : text;
  }
  if (Array.isArray(value)) return `[${value.map((v: SqlValue) => sqlLiteral(v)).join(', ')}]`;
  const s = value as string;
  if (LONE_SURROGATE.test(s)) throw new RangeError('the string holds an unpaired UTF-16 surrogate');
  let out = "'";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x5c) out += '\\\\';
    else if (c === 0x27) out += "\\'";
    else if (c < 0x20 || c === 0x7f) out += `\\x${hex2(c)}`;
    else out += s[i];
  }
  return `${out}'`;
}

/** Writes a value as a literal and records it, so that a plan can show the values it holds. */
function lit(b: SqlBuilder, value: SqlValue): string {
  b.params.push(value);
  return sqlLiteral(value);
}

/** True when ClickHouse can evaluate the term on this server version (stored catalog columns only). */
export function pushable(f: ResolvedField): boolean {
  return f.kind === 'column' && f.field.computed === undefined;
}

function columnOf(f: ResolvedField): ResolvedField & { kind: 'column' } {
  if (f.kind !== 'column') {
    throw new Error(`the ClickHouse dialect cannot evaluate ${f.kind} fields; the plan post-filters them`);
  }
  return f;
}

/** A single-valued string column: '' stands for absent. */
const isStringColumn = (f: ResolvedField & { kind: 'column' }) => f.field.type === 'string' && !f.field.multi;

export const clickhouseDialect: SqlDialect = {
  name: 'clickhouse',
  trueSql: '1',

  definite: (sql) => `ifNull(${sql}, 0)`,

  exists(_b, field) {
    const f = columnOf(field);
    const c = f.field.column;
    if (f.field.multi) return `notEmpty(${c})`;
    return isStringColumn(f) ? `${c} != ''` : `isNotNull(${c})`;
  },

  match(b, field, value) {
    const f = columnOf(field);
    const c = f.field.column;
    if (value.wildcard) {
      const pattern = likePattern(value.parts ?? [value.text]);
      if (f.field.multi) return `arrayExists(x -> x LIKE ${lit(b, pattern)}, ${c})`;
      if (isStringColumn(f)) return `(${c} != '' AND ${c} LIKE ${lit(b, pattern)})`;
      return `toString(${c}) LIKE ${lit(b, pattern)}`;
    }
    switch (f.field.type) {
      case 'number':
      case 'duration': {
        const n = f.field.type === 'number' ? numberValue(value.text) : durationValue(value.text);
        return n === undefined ? '0' : `${c} = ${lit(b, n)}`;
      }
      case 'time': {
        const r = timeValue(value.text, b.now);
        if (!r) return '0';
        return `(${c} >= ${lit(b, Math.round(r.from))} AND ${c} < ${lit(b, Math.round(r.to))})`;
      }
      case 'string':
        if (f.field.multi) return `has(${c}, ${lit(b, value.text)})`;
        // An empty value never matches: an empty string is an absent value.
        return value.text === '' ? '0' : `${c} = ${lit(b, value.text)}`;
    }
  },

  compare(b, field, op, value) {
    const f = columnOf(field);
    // Comparisons hold for numbers only; a string field never compares (as in the JS predicate).
    if (f.field.type === 'string') return '0';
    const bound = compareBound(f, op, value, b.now);
    if (!bound) return '0';
    const sqlOp = bound.lower ? (bound.inclusive ? '>=' : '>') : bound.inclusive ? '<=' : '<';
    const n = f.field.type === 'time' ? Math.round(bound.bound) : bound.bound;
    return `${f.field.column} ${sqlOp} ${lit(b, n)}`;
  },

  text(b, value: ValueLiteral) {
    const pattern = likePattern(
      (value.wildcard ? (value.parts ?? [value.text]) : [value.text]).map((p) => p.toLowerCase()),
      true,
    );
    const p = lit(b, pattern);
    return `(${TEXT_COLUMNS.map((c) => `(${c} != '' AND lowerUTF8(${c}) LIKE ${p})`).join(' OR ')})`;
  },
};

/** True when every term of the filter can be evaluated by ClickHouse. */
export function fullyPushable(node: QueryNode): boolean {
  return isExact(node, PLAIN);
}

/** The text a string has inside JSON.stringify output (without the surrounding quotes). */
function jsonEscaped(text: string): string {
  return JSON.stringify(text).slice(1, -1);
}

/**
 * A condition every event matching a term satisfies, for a term ClickHouse cannot evaluate exactly: a
 * substring search of the stored JSON text. The stored text is JSON.stringify of the event (see
 * src/store/columns.ts), so a string value reached by a JSON path appears in it with JSON.stringify's
 * escaping, and a number or boolean as its JavaScript text — which is what the filter compares with.
 * Undefined when no such condition is known (comparisons of values, computed fields).
 */
function narrowing(node: FieldTerm, f: ResolvedField, b: SqlBuilder): string | undefined {
  const contains = (column: string, needle: string) => `position(${column}, ${lit(b, needle)}) > 0`;
  if (f.kind === 'annotation') {
    // Annotations are a flat object of strings: "key":"value" appears as written.
    const key = `"${jsonEscaped(f.key)}":"`;
    if (node.type !== 'match') return contains('annotations', key);
    if (!node.value.wildcard) return contains('annotations', `${key}${jsonEscaped(node.value.text)}"`);
    const parts = (node.value.parts ?? [node.value.text]).filter((p) => p !== '');
    return [contains('annotations', key), ...parts.map((p) => contains('annotations', jsonEscaped(p)))].join(
      ' AND ',
    );
  }
  if (f.kind !== 'json') return undefined;
  const key = contains('event', `"${jsonEscaped(f.path[f.path.length - 1]!)}":`);
  if (node.type !== 'match') return key;
  const parts = node.value.wildcard ? (node.value.parts ?? [node.value.text]) : [node.value.text];
  return [key, ...parts.filter((p) => p !== '').map((p) => contains('event', jsonEscaped(p)))].join(' AND ');
}

/** A plain store: stored catalog columns are read by SQL, JSON paths and annotations narrowed. */
const PLAIN: SqlCapabilities = {
  exact: pushable,
  text: true,
  narrow: narrowing,
  reason:
    'JSON paths and annotations are not evaluated by ClickHouse (no JSON functions before 19.x); ' +
    'the rows selected by the SQL are checked with the JS predicate',
};

/** An encrypted store: only the columns kept in clear are read by SQL; nothing else narrows. */
function sealedCapabilities(clear: ReadonlySet<string>): SqlCapabilities {
  return {
    exact: (f) => pushable(f) && f.kind === 'column' && clear.has(f.field.column),
    text: TEXT_COLUMNS.every((c) => clear.has(c)),
    reason:
      'the store is encrypted: only the index columns are readable by ClickHouse; the rows selected by ' +
      'the SQL are decrypted and checked with the JS predicate',
  };
}

export interface ClickHousePlan {
  /** Boolean SQL over the events table that every matching event satisfies. */
  sql: string;
  /** The values written into `sql` as literals, in order (for display: they are already in the text). */
  values: SqlValue[];
  /** The filter terms ClickHouse evaluates, printed in the filter language ('*' when none). */
  pushed: string;
  /**
   * Set when part of the filter cannot be evaluated by ClickHouse: the rows `sql` selects are then
   * checked against the whole filter with the JS predicate. `terms` are the parts ClickHouse skips;
   * `narrowed` those for which `sql` still holds a necessary condition (a search of the stored JSON).
   */
  postFilter?: { terms: string[]; narrowed: string[]; reason: string };
}

/**
 * Splits a filter (./plan.ts): the conjuncts ClickHouse can evaluate become SQL; the rest (JSON paths
 * and annotations, which 18.16 cannot read from the stored JSON; on an encrypted store every column
 * not in `clear`) is evaluated on the result in JS, after ClickHouse has narrowed the candidates where
 * a necessary condition is known. `clear`: the columns an encrypted store keeps readable.
 */
export function planClickHouse(
  node: QueryNode,
  now: number = Date.now(),
  clear?: ReadonlySet<string>,
): ClickHousePlan {
  const plan = planSql(node, clickhouseDialect, clear ? sealedCapabilities(clear) : PLAIN, now);
  return {
    sql: plan.sql,
    values: plan.params as SqlValue[],
    pushed: plan.pushed,
    ...(plan.postFilter ? { postFilter: plan.postFilter } : {}),
  };
}

/** The plan as text, for `kubetrail query --explain`. */
export function formatClickHousePlan(plan: ClickHousePlan): string {
  const lines = [
    'store: clickhouse',
    `pushed down: ${plan.pushed}`,
    `SQL: SELECT … FROM events WHERE ${plan.sql}`,
    `values (written as escaped literals): ${plan.values.length === 0 ? '(none)' : JSON.stringify(plan.values)}`,
  ];
  if (plan.postFilter) {
    lines.push(`post-filtered in JS: ${plan.postFilter.terms.join(' AND ')}`);
    if (plan.postFilter.narrowed.length > 0) {
      lines.push(
        `  narrowed in SQL by a substring search of the stored JSON: ${plan.postFilter.narrowed.join(' AND ')}`,
      );
    }
    lines.push(`  why: ${plan.postFilter.reason}`);
  } else {
    lines.push('post-filtered in JS: nothing');
  }
  return `${lines.join('\n')}\n`;
}
