// Rule conditions: the filter language plus named lists and macros. `$name` alone is a macro (a shared
// condition, expanded in place); `field:$name` is a list (an OR of the list's items). List items are
// written like unquoted filter values: `*` is a wildcard, a backslash makes the next character literal.
// Also the matching the filter language has no syntax for: Falco-style "every value is in the list"
// exceptions, with container images compared by repository.
import type { EventRecord } from '../core/event.js';
import { KubetrailError } from '../core/errors.js';
import { resolveField, suggestField, type ResolvedField } from '../fields/catalog.js';
import { resolvedValues } from '../fields/values.js';
import { parseQuery, printQuery, type QueryNode } from '../query/index.js';
import type { ValueLiteral } from '../query/index.js';
import { wildcardRegExp } from '../query/semantics.js';

const REF = /^\$([A-Za-z_][A-Za-z0-9_-]*)$/;

export interface Definitions {
  lists: ReadonlyMap<string, readonly string[]>;
  macros: ReadonlyMap<string, string>;
}

/** A problem in a condition, with the offending name when there is one. */
export class ConditionError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
  }
}

/** A list item as a filter value: unescaped `*` is a wildcard. */
export function itemLiteral(item: string): ValueLiteral {
  let text = '';
  let current = '';
  const parts: string[] = [];
  let wildcard = false;
  for (let i = 0; i < item.length; i++) {
    const c = item[i]!;
    if (c === '\\' && i + 1 < item.length) {
      text += item[i + 1];
      current += item[i + 1];
      i++;
      continue;
    }
    if (c === '*') {
      wildcard = true;
      parts.push(current);
      current = '';
    } else current += c;
    text += c;
  }
  parts.push(current);
  return wildcard ? { text, quoted: false, wildcard: true, parts } : { text, quoted: false, wildcard: false };
}

/** Tests a value against list items (exact or wildcard). */
export function itemMatcher(items: readonly string[]): (v: string) => boolean {
  const exact = new Set<string>();
  const patterns: RegExp[] = [];
  for (const it of items) {
    const lit = itemLiteral(it);
    if (lit.wildcard) patterns.push(wildcardRegExp(lit.parts ?? [lit.text], false));
    else exact.add(lit.text);
  }
  return (v) => exact.has(v) || patterns.some((p) => p.test(v));
}

function parse(text: string, what: string): QueryNode {
  try {
    return parseQuery(text);
  } catch (err) {
    const msg = err instanceof Error ? err.message : String(err);
    throw new ConditionError(`${what}: ${msg}`, err);
  }
}

/** Expands macros and lists; throws ConditionError for unknown names and cycles. */
export function expand(node: QueryNode, defs: Definitions, stack: string[] = []): QueryNode {
  switch (node.type) {
    case 'all':
    case 'exists':
    case 'compare':
      return node;
    case 'and':
    case 'or':
      return { type: node.type, children: node.children.map((c) => expand(c, defs, stack)) };
    case 'not':
      return { type: 'not', child: expand(node.child, defs, stack) };
    case 'text': {
      const m = node.value.quoted ? null : REF.exec(node.value.text);
      if (!m) return node;
      const name = m[1]!;
      const body = defs.macros.get(name);
      if (body === undefined) {
        if (defs.lists.has(name))
          throw new ConditionError(`$${name} is a list; use it as a value, as in user:$${name}`);
        throw new ConditionError(`unknown macro $${name}`);
      }
      if (stack.includes(name))
        throw new ConditionError(`macro $${name} refers to itself (${[...stack, name].join(' → ')})`);
      return expand(parse(body, `macro $${name}`), defs, [...stack, name]);
    }
    case 'match': {
      const m = node.value.quoted ? null : REF.exec(node.value.text);
      if (!m) return node;
      const name = m[1]!;
      const items = defs.lists.get(name);
      if (items === undefined) {
        if (defs.macros.has(name))
          throw new ConditionError(`$${name} is a macro; write it alone, not as the value of ${node.field}`);
        throw new ConditionError(`unknown list $${name}`);
      }
      // An empty list matches nothing.
      if (items.length === 0) return { type: 'not', child: { type: 'all' } };
      const children: QueryNode[] = items.map((it) => ({
        type: 'match',
        field: node.field,
        value: itemLiteral(it),
      }));
      return children.length === 1 ? children[0]! : { type: 'or', children };
    }
  }
}

/** Parses and expands a condition; ConditionError on any problem. */
export function expandCondition(text: string, defs: Definitions): QueryNode {
  return expand(parse(text, 'condition'), defs);
}

export function printCondition(node: QueryNode): string {
  return printQuery(node);
}

/** Resolves a field named in a rule (aggregation key, template…); ConditionError with a suggestion. */
export function ruleField(name: string): ResolvedField {
  const f = resolveField(name);
  if (f) return f;
  const s = suggestField(name);
  throw new ConditionError(`unknown field ${JSON.stringify(name)}${s ? `; did you mean \`${s}\`?` : ''}`);
}

/** Container image repository: the image without its tag or digest (registry port kept). */
export function imageRepository(image: string): string {
  const at = image.indexOf('@');
  const noDigest = at >= 0 ? image.slice(0, at) : image;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  return colon > slash ? noDigest.slice(0, colon) : noDigest;
}

/**
 * "Every value of these fields is in the list": true when the fields have at least one value and each
 * matches an item (Falco's `in` on list fields, so a trusted first container never hides a second one).
 */
export function everyIn(
  fields: readonly string[],
  items: readonly string[],
  repository: boolean,
): (r: EventRecord) => boolean {
  const resolved = fields.map(ruleField);
  const match = itemMatcher(items);
  return (r) => {
    let seen = 0;
    for (const f of resolved) {
      for (const v of resolvedValues(r, f)) {
        const s = String(v);
        if (!match(repository ? imageRepository(s) : s)) return false;
        seen++;
      }
    }
    return seen > 0;
  };
}

/** Wraps a ConditionError into the rule error users see. */
export function ruleError(
  message: string,
  where: { file?: string; line?: number; path?: string },
  cause?: unknown,
): KubetrailError {
  return new KubetrailError('KT_RULE_INVALID', message, { where, cause });
}

/**
 * "Some key or string value below this JSON path matches an item": for maps keyed by arbitrary names
 * (a ConfigMap's data, whose keys may contain dots), which filter paths cannot name.
 */
export function searchUnder(under: string, items: readonly string[]): (r: EventRecord) => boolean {
  const f = ruleField(under);
  if (f.kind !== 'json')
    throw new ConditionError(`search under ${under}: a JSON path such as requestObject.data is needed`);
  const match = itemMatcher(items);
  const visit = (v: unknown, depth: number): boolean => {
    if (depth > 32) return false;
    if (typeof v === 'string') return match(v);
    if (typeof v === 'number' || typeof v === 'boolean') return match(String(v));
    if (Array.isArray(v)) return v.some((x) => visit(x, depth + 1));
    if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) if (match(k) || visit(x, depth + 1)) return true;
    }
    return false;
  };
  const path = f.path;
  return (r) => {
    let cur: unknown = (r.event as unknown as Record<string, unknown>)[path[0]!];
    for (const seg of path.slice(1)) {
      if (!cur || typeof cur !== 'object' || Array.isArray(cur)) return false;
      cur = (cur as Record<string, unknown>)[seg];
    }
    return cur !== undefined && visit(cur, 0);
  };
}
