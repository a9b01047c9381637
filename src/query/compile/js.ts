// Compiles a filter to a JavaScript predicate over events, once, into closures: used for queries over
// raw files, the live tail and detection rules. Semantics come from ../semantics.ts, shared with SQL.
import type { EventRecord } from '../../core/event.js';
import { FIELDS, resolveField, type ResolvedField } from '../../fields/catalog.js';
import type { QueryNode } from '../syntax/ast.js';
import { compareTest, isScalar, matchTest, scalarText, valuesOf, wildcardRegExp } from '../semantics.js';

export type Predicate = (record: EventRecord) => boolean;

const TEXT_FIELDS = FIELDS.filter((f) => f.text);

function resolved(name: string): ResolvedField {
  const f = resolveField(name);
  if (!f) throw new Error(`unknown field ${name}`);
  return f;
}

/** Whether any value of the field in an event passes `test` (a single-valued column is read directly). */
export function anyValue(field: ResolvedField, test: (v: unknown) => boolean): Predicate {
  if (field.kind === 'column' && !field.field.multi) {
    const get = field.field.get;
    return (r) => {
      const v = get(r);
      return v !== undefined && test(v);
    };
  }
  return (r) => valuesOf(r, field).some(test);
}

/** Compiles a filter. `now` (epoch ms) anchors relative times such as `now-1h`. */
export function compileJs(node: QueryNode, now: number = Date.now()): Predicate {
  switch (node.type) {
    case 'all':
      return () => true;
    case 'and': {
      const parts = node.children.map((c) => compileJs(c, now));
      return (r) => parts.every((p) => p(r));
    }
    case 'or': {
      const parts = node.children.map((c) => compileJs(c, now));
      return (r) => parts.some((p) => p(r));
    }
    case 'not': {
      const inner = compileJs(node.child, now);
      return (r) => !inner(r);
    }
    case 'exists': {
      const field = resolved(node.field);
      return (r) => valuesOf(r, field).length > 0;
    }
    case 'match': {
      const field = resolved(node.field);
      return anyValue(field, matchTest(field, node.value, now));
    }
    case 'compare': {
      const field = resolved(node.field);
      return anyValue(field, compareTest(field, node.op, node.value, now));
    }
    case 'text': {
      const v = node.value;
      const re = v.wildcard
        ? wildcardRegExp(
            (v.parts ?? [v.text]).map((p) => p.toLowerCase()),
            true,
          )
        : undefined;
      const needle = v.text.toLowerCase();
      return (r) =>
        TEXT_FIELDS.some((f) => {
          const value = f.get(r);
          if (!isScalar(value)) return false;
          const hay = scalarText(value).toLowerCase();
          return re ? re.test(hay) : hay.includes(needle);
        });
    }
  }
}
