// The item-by-item parse of EventList bodies gives exactly what the whole text's parse gives, or steps
// aside: over generated lists, hostile spellings and random damage to the bytes.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseEventListBody } from './event-list-split.js';
import { MAX_JSON_DEPTH, parseJsonDocument, TooDeepRecord } from './json-text.js';

/** The whole text's parse, or undefined when it is not JSON. */
function whole(b: Buffer): { value: unknown } | undefined {
  try {
    return { value: parseJsonDocument(b.toString('utf8')) };
  } catch {
    return undefined;
  }
}

/** Agreement: a value from the split parse is the whole parse's value; no value where the text is not JSON. */
function agrees(b: Buffer): unknown {
  const split = parseEventListBody(b);
  const w = whole(b);
  if (split !== undefined) {
    expect(w).toBeDefined();
    expect(split).toEqual(w!.value);
  }
  return split;
}

const nested = (depth: number): unknown => {
  let v: unknown = 'core';
  for (let i = 0; i < depth - 1; i++) v = i % 2 ? [v] : { k: v };
  return { deep: v };
};

/** Strings that stress a byte scanner: quotes, backslashes, brackets, escapes, non-ASCII, surrogates. */
const tricky = fc.constantFrom(
  'a"b',
  'back\\slash',
  '\\',
  '\\"',
  '{[}]',
  '"]}',
  'üñï©ødé',
  '😀',
  '\ud800',
  '\udc00x',
  '\u2028',
  'items',
  '"items":[',
  '',
);

const item = fc.oneof(
  fc.record({
    kind: fc.constant('Event'),
    auditID: fc.uuid(),
    note: tricky,
    extra: fc.jsonValue({ maxDepth: 4 }),
  }),
  fc.jsonValue({ maxDepth: 3 }),
  tricky,
);

const envelope = fc.record({
  kind: fc.constant('EventList'),
  apiVersion: fc.constant('audit.k8s.io/v1'),
  metadata: fc.oneof(fc.constant({}), fc.record({ note: tricky })),
});

describe('parseEventListBody', () => {
  it('agrees with the whole parse on generated lists, in every spacing', () => {
    fc.assert(
      fc.property(
        envelope,
        fc.array(item, { maxLength: 12 }),
        fc.constantFrom(0, 1, 2, '\t'),
        (env, items, space) => {
          const b = Buffer.from(JSON.stringify({ ...env, items }, null, space));
          expect(agrees(b)).toBeDefined();
        },
      ),
      { numRuns: 300 },
    );
  });

  it('agrees, or steps aside, when bytes are cut, doubled or replaced', () => {
    const base = fc.tuple(envelope, fc.array(item, { minLength: 1, maxLength: 6 }));
    fc.assert(
      fc.property(
        base,
        fc.nat(),
        fc.constantFrom(
          '',
          ',',
          ']',
          '}',
          '[',
          '{',
          '"',
          '\\',
          ' ',
          'x',
          '1',
          ':',
          ',"items":[]',
          ',"items":[1]',
        ),
        fc.nat({ max: 3 }),
        ([env, items], pos, insert, cut) => {
          const text = JSON.stringify({ ...env, items });
          const at = pos % (text.length + 1);
          agrees(Buffer.from(text.slice(0, at) + insert + text.slice(at + cut)));
        },
      ),
      { numRuns: 1500 },
    );
  });

  it('steps aside for a second items, an escaped key, another shape or trailing text', () => {
    const cases = [
      '{"items":[{"a":1}],"items":[]}',
      '{"items":[{"a":1}],"it\\u0065ms":[]}',
      '{"items":5,"items":[1]}',
      '[{"a":1}]',
      '{"records":[{"a":1}]}',
      '{"items":[1]} x',
      '{"items":[1],}',
      '{"items":[1,]}',
      '{"items":[,1]}',
      '{"items":[1 2]}',
      '{}',
      '',
    ];
    for (const c of cases) {
      const b = Buffer.from(c);
      const got = agrees(b);
      if (c === '{"items":5,"items":[1]}') expect(got).toEqual({ items: [1] });
      else expect(got).toBeUndefined();
    }
  });

  it('replaces only an item nested too deep, as the whole parse does', () => {
    const ok = nested(MAX_JSON_DEPTH - 2);
    const deep = nested(MAX_JSON_DEPTH - 1);
    const b = Buffer.from(JSON.stringify({ kind: 'EventList', items: [{ a: 1 }, deep, ok] }));
    const got = agrees(b) as { items: unknown[] };
    expect(got.items[0]).toEqual({ a: 1 });
    expect(got.items[1]).toBeInstanceOf(TooDeepRecord);
    expect(got.items[2]).toEqual(ok);
  });

  it('replaces lone surrogates in items and in the envelope', () => {
    const b = Buffer.from('{"metadata":{"n":"\\ud800"},"items":[{"x":"a\\udc00"},{"\\ud800":1}]}');
    expect(agrees(b)).toEqual({ metadata: { n: '\ufffd' }, items: [{ x: 'a\ufffd' }, { '\ufffd': 1 }] });
  });
});
