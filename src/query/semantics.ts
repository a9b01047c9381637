// The meaning of each filter term, written once in plain TypeScript: how values are reached in an event
// (JSON paths cross one level of arrays at each step and at the end), how wildcards, numbers, durations
// and times compare. The JS predicate uses these directly; the SQL back ends reproduce them, and a
// property test checks that they agree. Browser-safe.
import type { EventRecord } from '../core/event.js';
import type { FieldDef, ResolvedField } from '../fields/catalog.js';
import type { CompareOp, ValueLiteral } from './syntax/ast.js';
import { durationValue, numberValue, timeValue } from './syntax/literals.js';

export type Scalar = string | number | boolean;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Values reached by a JSON path: at each step an array is crossed (one level); a final array is spread. */
export function jsonPathValues(root: unknown, segments: readonly string[]): unknown[] {
  let current: unknown[] = [root];
  for (const seg of segments) {
    const next: unknown[] = [];
    for (const x of current) {
      if (Array.isArray(x)) {
        for (const y of x) if (isObject(y) && Object.hasOwn(y, seg)) next.push(y[seg]);
      } else if (isObject(x) && Object.hasOwn(x, seg)) {
        next.push(x[seg]);
      }
    }
    current = next;
  }
  const out: unknown[] = [];
  for (const x of current) {
    if (Array.isArray(x)) out.push(...x);
    else out.push(x);
  }
  return out.filter((v) => v !== null && v !== undefined);
}

export function isScalar(v: unknown): v is Scalar {
  return typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean';
}

/** Reads a resolved field: every present value (arrays spread; empty strings absent for catalog fields). */
export function valuesOf(r: EventRecord, f: ResolvedField): unknown[] {
  switch (f.kind) {
    case 'column': {
      const v = f.field.get(r);
      if (v === undefined || v === null) return [];
      if (Array.isArray(v)) return (v as unknown[]).filter((x) => typeof x === 'string');
      return [v];
    }
    case 'annotation': {
      const a = r.event.annotations;
      const v = isObject(a) && Object.hasOwn(a, f.key) ? a[f.key] : undefined;
      return typeof v === 'string' ? [v] : [];
    }
    case 'json':
      return jsonPathValues((r.event as unknown as Record<string, unknown>)[f.path[0]!], f.path.slice(1));
  }
}

/** Text of a scalar as the SQL back ends see it. */
export function scalarText(v: Scalar): string {
  return typeof v === 'string' ? v : String(v);
}

/** A matcher for a wildcard value: pieces between `*` must appear in order; anchored unless `contains`. */
export function wildcardRegExp(parts: readonly string[], contains: boolean): RegExp {
  const esc = parts.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  const body = esc.join('[\\s\\S]*');
  return new RegExp(contains ? body : `^${body}$`);
}

/** Builds a test on one value for `field:value` given the field's type. */
export function matchTest(field: ResolvedField, value: ValueLiteral, now: number): (v: unknown) => boolean {
  const type: FieldDef['type'] | 'json' = field.kind === 'column' ? field.field.type : 'string';
  if (value.wildcard) {
    const re = wildcardRegExp(value.parts ?? [value.text], false);
    return (v) => isScalar(v) && re.test(scalarText(v));
  }
  switch (type) {
    case 'number': {
      const n = numberValue(value.text);
      return (v) => typeof v === 'number' && v === n;
    }
    case 'duration': {
      const n = durationValue(value.text);
      return (v) => typeof v === 'number' && v === n;
    }
    case 'time': {
      const range = timeValue(value.text, now);
      return (v) => typeof v === 'number' && range !== undefined && v >= range.from && v < range.to;
    }
    default: {
      const text = value.text;
      return (v) => isScalar(v) && scalarText(v) === text;
    }
  }
}

/** The bound of a comparison in the field's unit, and whether the value must be ≥ (inclusive) or < it. */
export function compareBound(
  field: ResolvedField,
  op: CompareOp,
  value: ValueLiteral,
  now: number,
): { lower: boolean; bound: number; inclusive: boolean } | undefined {
  const type = field.kind === 'column' ? field.field.type : 'number';
  if (type === 'time') {
    const r = timeValue(value.text, now);
    if (!r) return undefined;
    // A date is a range [from, to): after it means from `to` on; up to and including it means before `to`.
    if (op === '>') return { lower: true, bound: r.to, inclusive: true };
    if (op === '>=') return { lower: true, bound: r.from, inclusive: true };
    if (op === '<') return { lower: false, bound: r.from, inclusive: false };
    return { lower: false, bound: r.to, inclusive: false };
  }
  const n = type === 'duration' ? durationValue(value.text) : numberValue(value.text);
  if (n === undefined) return undefined;
  return { lower: op === '>' || op === '>=', bound: n, inclusive: op === '>=' || op === '<=' };
}

export function compareTest(
  field: ResolvedField,
  op: CompareOp,
  value: ValueLiteral,
  now: number,
): (v: unknown) => boolean {
  const b = compareBound(field, op, value, now);
  if (!b) return () => false;
  const { lower, bound, inclusive } = b;
  if (lower)
    return inclusive ? (v) => typeof v === 'number' && v >= bound : (v) => typeof v === 'number' && v > bound;
  return inclusive ? (v) => typeof v === 'number' && v <= bound : (v) => typeof v === 'number' && v < bound;
}
