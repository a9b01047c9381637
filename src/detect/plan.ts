// Makes many rules cheap to run on every event. Conditions are compiled with the same meaning as the
// filter language's JS predicate (src/query/semantics.ts), with three changes of strategy only: an OR of
// values on one text field becomes one set lookup and one combined pattern; the terms of an AND run
// cheapest first; and each rule's required resources, verbs and stages are extracted so the engine only
// evaluates the rules that can match an event at all.
import type { EventRecord } from '../core/event.js';
import { resolveField, type ResolvedField } from '../fields/catalog.js';
import { resolvedValues } from '../fields/values.js';
import { anyValue, compileJs, type Predicate, type QueryNode } from '../query/index.js';
import { isScalar, scalarText, wildcardRegExp } from '../query/semantics.js';

/** Values a rule requires of a few catalog fields; a missing entry means "any". */
export interface Requirements {
  resource?: ReadonlySet<string>;
  verb?: ReadonlySet<string>;
  stage?: ReadonlySet<string>;
}

const INDEXED = ['resource', 'verb', 'stage'] as const;
type Indexed = (typeof INDEXED)[number];

function catalogName(field: string): string | undefined {
  const f = resolveField(field);
  return f?.kind === 'column' ? f.field.name : undefined;
}

/** The values `name` must have for the node to match (undefined: no requirement found). */
function required(node: QueryNode, name: string): Set<string> | undefined {
  switch (node.type) {
    case 'match':
      if (catalogName(node.field) !== name || node.value.wildcard) return undefined;
      return new Set([node.value.text]);
    case 'or': {
      const out = new Set<string>();
      for (const c of node.children) {
        const v = required(c, name);
        if (!v) return undefined;
        for (const x of v) out.add(x);
      }
      return out;
    }
    case 'and': {
      let out: Set<string> | undefined;
      for (const c of node.children) {
        const v = required(c, name);
        if (!v) continue;
        out = out ? new Set([...out].filter((x) => v.has(x))) : v;
      }
      return out;
    }
    default:
      return undefined;
  }
}

/** What an expanded condition requires of resource, verb and stage. */
export function requirements(node: QueryNode): Requirements {
  const req: { -readonly [K in Indexed]?: Set<string> } = {};
  for (const name of INDEXED) {
    const v = required(node, name);
    if (v) req[name] = v;
  }
  return req;
}

function cost(node: QueryNode): number {
  switch (node.type) {
    case 'all':
      return 0;
    case 'or':
      // An OR of values on one field runs as one lookup (see mergedOr).
      if (
        node.children.length >= 3 &&
        node.children.every(
          (c) => c.type === 'match' && c.field === (node.children[0] as { field: string }).field,
        )
      )
        return cost(node.children[0]!) + 1;
      return node.children.reduce((s, c) => s + cost(c), 0);
    case 'and':
      return node.children.reduce((s, c) => s + cost(c), 0);
    case 'not':
      return cost(node.child);
    case 'text':
      return 20;
    default: {
      const f = resolveField(node.field);
      if (!f) return 10;
      return f.kind === 'column' ? (f.field.multi ? 2 : 1) : f.kind === 'annotation' ? 2 : 6;
    }
  }
}

/** A field whose `field:value` test is a text comparison (not a number, duration or time). */
function textField(name: string): ResolvedField | undefined {
  const f = resolveField(name);
  if (!f) return undefined;
  if (f.kind === 'column' && f.field.type !== 'string') return undefined;
  return f;
}

/** `field:(a OR b* OR …)` on one text field: a set lookup and one combined anchored pattern. */
function mergedOr(node: Extract<QueryNode, { type: 'or' }>): Predicate | undefined {
  if (node.children.length < 3) return undefined;
  let fieldName: string | undefined;
  const exact = new Set<string>();
  const prefixes: string[] = [];
  const contains: string[] = [];
  const bodies: string[] = [];
  for (const c of node.children) {
    if (c.type !== 'match') return undefined;
    if (fieldName === undefined) fieldName = c.field;
    else if (c.field !== fieldName) return undefined;
    const parts = c.value.parts ?? [c.value.text];
    if (!c.value.wildcard) exact.add(c.value.text);
    else if (parts.length === 2 && parts[1] === '') prefixes.push(parts[0]!);
    else if (parts.length === 3 && parts[0] === '' && parts[2] === '') contains.push(parts[1]!);
    else bodies.push(wildcardRegExp(parts, false).source.slice(1, -1));
  }
  const field = textField(fieldName!);
  if (!field) return undefined;
  const re = bodies.length > 0 ? new RegExp(`^(?:${bodies.join('|')})$`) : undefined;
  const test = (v: unknown): boolean => {
    if (!isScalar(v)) return false;
    const s = scalarText(v);
    if (exact.has(s)) return true;
    for (const p of prefixes) if (s.startsWith(p)) return true;
    for (const p of contains) if (s.includes(p)) return true;
    return re !== undefined && re.test(s);
  };
  return anyValue(field, test);
}

/** Compiles an expanded condition; same meaning as compileJs. */
export function compilePlanned(node: QueryNode, now = Date.now()): Predicate {
  switch (node.type) {
    case 'and': {
      const parts = [...node.children]
        .map((c) => ({ c, k: cost(c) }))
        .sort((a, b) => a.k - b.k)
        .map(({ c }) => compilePlanned(c, now));
      if (parts.length === 2) {
        const [a, b] = parts as [Predicate, Predicate];
        return (r) => a(r) && b(r);
      }
      return (r) => {
        for (const p of parts) if (!p(r)) return false;
        return true;
      };
    }
    case 'or': {
      const merged = mergedOr(node);
      if (merged) return merged;
      const parts = node.children.map((c) => compilePlanned(c, now));
      return (r) => {
        for (const p of parts) if (p(r)) return true;
        return false;
      };
    }
    case 'not': {
      const inner = compilePlanned(node.child, now);
      return (r) => !inner(r);
    }
    default:
      return compileJs(node, now);
  }
}

/** A compiled key function: the values of some fields joined ("" for absent fields). */
export function keyFunction(fields: readonly string[]): (r: EventRecord) => string {
  if (fields.length === 0) return () => '';
  const resolved = fields.map((f) => resolveField(f)!);
  const one = (r: EventRecord, f: ResolvedField): string => {
    if (f.kind === 'column' && !f.field.multi) {
      const v = f.field.get(r);
      return v === undefined ? '' : String(v);
    }
    const vs = resolvedValues(r, f);
    if (vs.length === 0) return '';
    if (vs.length === 1) return String(vs[0]);
    return [...new Set(vs.map(String))].join(',');
  };
  if (resolved.length === 1) {
    const f = resolved[0]!;
    return (r) => one(r, f);
  }
  return (r) => resolved.map((f) => one(r, f)).join('|');
}
