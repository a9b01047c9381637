import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KubetrailError } from '../../core/errors.js';
import type { QueryNode } from './ast.js';
import {
  MAX_FILTER_DEPTH,
  MAX_FILTER_LENGTH,
  MAX_FILTER_TERMS,
  MAX_JSON_PATH_STEPS,
  parseQuery,
  stripSpans,
} from './parser.js';
import { printQuery } from './printer.js';
import { queryTree } from '../../test-support/queries.js';

const p = (s: string) => stripSpans(parseQuery(s));
const canon = (s: string) => printQuery(parseQuery(s));

describe('parser', () => {
  it('reads the empty filter and * as everything', () => {
    expect(p('')).toEqual({ type: 'all' });
    expect(p('   ')).toEqual({ type: 'all' });
    expect(p('*')).toEqual({ type: 'all' });
  });

  it('reads field:value with values that contain colons', () => {
    expect(p('user:system:node:*')).toEqual({
      type: 'match',
      field: 'user',
      value: { text: 'system:node:*', quoted: false, wildcard: true, parts: ['system:node:', ''] },
    });
    expect(p('user: alice')).toEqual(p('user:alice'));
  });

  it('gives NOT > AND > OR precedence, with implicit AND', () => {
    expect(canon('verb:get ns:a OR verb:list -ns:b')).toBe('verb:get ns:a OR verb:list NOT ns:b');
    expect(p('a OR b c')).toEqual({
      type: 'or',
      children: [
        { type: 'text', value: { text: 'a', quoted: false, wildcard: false } },
        {
          type: 'and',
          children: [
            { type: 'text', value: { text: 'b', quoted: false, wildcard: false } },
            { type: 'text', value: { text: 'c', quoted: false, wildcard: false } },
          ],
        },
      ],
    });
    expect(canon('NOT (verb:get OR verb:list) AND code>=400')).toBe('NOT (verb:get OR verb:list) code>=400');
  });

  it('expands value lists', () => {
    expect(canon('verb:(create OR delete)')).toBe('verb:create OR verb:delete');
    expect(canon('verb:(create)')).toBe('verb:create');
  });

  it('reads exists, comparisons, annotations and JSON paths', () => {
    expect(p('-ns:*')).toEqual({ type: 'not', child: { type: 'exists', field: 'ns' } });
    expect(p('code >= 400')).toEqual(p('code>=400'));
    expect(canon('latency>1s')).toBe('latency>1s');
    expect(canon('annotations.authorization.k8s.io/decision:forbid')).toBe(
      'annotations.authorization.k8s.io/decision:forbid',
    );
    expect(canon('requestObject.spec.containers.securityContext.privileged:true')).toBe(
      'requestObject.spec.containers.securityContext.privileged:true',
    );
    expect(canon('time>=2024-05-01T10:00:00Z time<now-1h')).toBe('time>=2024-05-01T10:00:00Z time<now-1h');
  });

  it('keeps quoted values literal and escapes when printing', () => {
    expect(p('ua:"kubectl/v1.30 (linux)"').type).toBe('match');
    expect(canon('"forbidden *"')).toBe('"forbidden *"');
    expect(canon('name:a\\*b*')).toBe('name:a\\*b*');
    expect(canon('name:\\(x\\)')).toBe('name:\\(x\\)');
    expect(canon('"a\\"b\\\\c"')).toBe('"a\\"b\\\\c"');
  });

  it.each([
    ['verb:get usr:alice', 'KT_QUERY_FIELD', 10, 'user'],
    ['namespce:x', 'KT_QUERY_FIELD', 1, 'ns'],
    [
      'verb:get requestObject.spec.containers[0].image:x',
      'KT_QUERY_FIELD',
      10,
      'requestObject.spec.containers.image',
    ],
    ['responseObject.items[*].kind:Pod', 'KT_QUERY_FIELD', 1, 'responseObject.items.kind'],
    ['verb:get ip:10.20.0.0/16', 'KT_QUERY_VALUE', 13, 'ip:10.20.*'],
    ['sourceip:192.168.1.0/24', 'KT_QUERY_VALUE', 10, 'sourceip:192.168.1.*'],
    ['ip:10.0.0.0/12', 'KT_QUERY_VALUE', 4, undefined],
    ['verb:(get', 'KT_QUERY_SYNTAX', 6, undefined],
    ['(verb:get', 'KT_QUERY_SYNTAX', 1, undefined],
    ['verb:get)', 'KT_QUERY_SYNTAX', 9, undefined],
    ['verb:get OR', 'KT_QUERY_SYNTAX', 12, undefined],
    ['"unclosed', 'KT_QUERY_SYNTAX', 1, undefined],
    ['code>=abc', 'KT_QUERY_VALUE', 7, undefined],
    ['user>5', 'KT_QUERY_VALUE', 1, undefined],
    ['latency>fast', 'KT_QUERY_VALUE', 9, undefined],
    ['time>yesterday', 'KT_QUERY_VALUE', 6, undefined],
    ['verb:(get delete)', 'KT_QUERY_SYNTAX', 11, undefined],
    ['verb:', 'KT_QUERY_SYNTAX', 6, undefined],
    ['time:2024*', 'KT_QUERY_VALUE', 6, undefined],
  ])('%j fails with %s at column %d', (input, code, column, suggestion) => {
    try {
      parseQuery(input);
      expect.unreachable('should have failed');
    } catch (err) {
      expect(err).toBeInstanceOf(KubetrailError);
      const e = err as KubetrailError;
      expect(e.code).toBe(code);
      expect(e.where?.column).toBe(column);
      const lines = e.message.split('\n');
      expect(lines[1]).toBe(`  ${input}`);
      expect(lines[2]).toBe(`  ${' '.repeat(column - 1)}^`);
      if (suggestion) expect(e.message).toContain(`\`${suggestion}\``);
    }
  });
});

/** The KubetrailError parseQuery throws for `input`. */
function failure(input: string): KubetrailError {
  try {
    parseQuery(input);
  } catch (err) {
    expect(err).toBeInstanceOf(KubetrailError);
    return err as KubetrailError;
  }
  return expect.unreachable(`${input.slice(0, 40)}… should have failed`);
}

describe('limits', () => {
  const nestParens = (n: number) => `${'('.repeat(n)}verb:get${')'.repeat(n)}`;

  it('accepts nesting up to the limit, parentheses and negations together', () => {
    expect(p(nestParens(MAX_FILTER_DEPTH))).toEqual(p('verb:get'));
    const half = MAX_FILTER_DEPTH / 2;
    const mixed = `${'NOT ('.repeat(half)}verb:get${')'.repeat(half)}`;
    expect(parseQuery(mixed).type).toBe('not');
    expect(parseQuery(`${'-'.repeat(MAX_FILTER_DEPTH)}verb:get`).type).toBe('not');
  });

  it.each([
    ['parentheses', nestParens(5000), MAX_FILTER_DEPTH + 1],
    ['leading -', `${'-'.repeat(2000)}verb:get`, MAX_FILTER_DEPTH + 1],
    ['NOT', `${'NOT '.repeat(MAX_FILTER_DEPTH + 1)}verb:get`, 4 * MAX_FILTER_DEPTH + 1],
    // `-(`: a negation and a group each count; the 101st opener is a `-` at offset 100.
    ['-( together', `${'-('.repeat(60)}verb:get${')'.repeat(60)}`, MAX_FILTER_DEPTH + 1],
    // Alternating AND groups, the nesting that builds deep ASTs: `a (a (a (…)))`.
    ['a (a (…))', `${'a ('.repeat(150)}b${')'.repeat(150)}`, 3 * MAX_FILTER_DEPTH + 3],
  ])(
    'refuses nesting past the limit (%s) with KT_QUERY_LIMIT at the opener that crosses it',
    (_, input, column) => {
      const e = failure(input);
      expect(e.code).toBe('KT_QUERY_LIMIT');
      expect(e.where?.column).toBe(column);
      expect(e.message).toContain(`more than ${MAX_FILTER_DEPTH} deep`);
      // The message shows a window of the filter with the caret under the place, not 40,000 characters.
      const [, shown, caret] = e.message.split('\n');
      expect(shown!.length).toBeLessThan(130);
      expect(shown![caret!.indexOf('^')]).toBe(input[column - 1]);
    },
  );

  it('refuses a filter longer than the limit, at the first character past it', () => {
    const input = `verb:get ${'x'.repeat(MAX_FILTER_LENGTH)}`;
    const e = failure(input);
    expect(e.code).toBe('KT_QUERY_LIMIT');
    expect(e.where?.column).toBe(MAX_FILTER_LENGTH + 1);
    expect(e.message).toContain(`${input.length} characters long`);
    expect(parseQuery(`ns:${'x'.repeat(MAX_FILTER_LENGTH - 3)}`).type).toBe('match');
    // 20,000 nested parentheses: refused by length before any recursion.
    expect(failure(nestParens(20_000)).code).toBe('KT_QUERY_LIMIT');
  });

  it('counts terms, value-list values included, and refuses the one past the limit', () => {
    const words = Array.from({ length: MAX_FILTER_TERMS }, (_, i) => `w${i}`);
    expect(parseQuery(words.join(' OR ')).type).toBe('or');
    const over = [...words, 'last'].join(' OR ');
    const e = failure(over);
    expect(e.code).toBe('KT_QUERY_LIMIT');
    expect(e.where?.column).toBe(over.indexOf('last') + 1);
    const list = `verb:(${words.join(' OR ')} OR last)`;
    const l = failure(list);
    expect(l.code).toBe('KT_QUERY_LIMIT');
    expect(l.where?.column).toBe(list.indexOf('last') + 1);
  });

  it('refuses a JSON path with more steps than the limit, at the field', () => {
    const ok = `requestObject${'.a'.repeat(MAX_JSON_PATH_STEPS - 1)}:x`;
    expect(parseQuery(ok).type).toBe('match');
    const long = `verb:get requestObject${'.a'.repeat(MAX_JSON_PATH_STEPS)}:x`;
    const e = failure(long);
    expect(e.code).toBe('KT_QUERY_LIMIT');
    expect(e.where?.column).toBe(10);
    expect(e.message).toContain(`has ${MAX_JSON_PATH_STEPS + 1} steps`);
  });

  it('keeps long flat chains flat: 500 OR terms are one node with 500 children', () => {
    const q = parseQuery(Array.from({ length: MAX_FILTER_TERMS }, (_, i) => `ns:n${i}`).join(' OR '));
    expect(q.type === 'or' && q.children.length).toBe(MAX_FILTER_TERMS);
    const a = parseQuery(Array.from({ length: MAX_FILTER_TERMS }, (_, i) => `ns:n${i}`).join(' AND '));
    expect(a.type === 'and' && a.children.every((c) => c.type === 'match')).toBe(true);
  });
});

// Generated trees for round trips: print → parse gives the same tree.
const word = fc.stringMatching(/^[a-z0-9:/._\-()*\\" ]{1,12}$/);
const literal = fc.oneof(
  word.map((t) => ({ text: t, quoted: true, wildcard: false })),
  fc
    .array(fc.stringMatching(/^[a-z0-9:/._\-() "\\]{0,6}$/), { minLength: 2, maxLength: 3 })
    .filter((parts) => parts.join('').length > 0)
    .map((parts) => ({ text: parts.join('*'), quoted: false, wildcard: true, parts })),
  word
    .filter((t) => t.trim() !== '' && !t.includes('*'))
    .map((t) => ({ text: t, quoted: false, wildcard: false })),
);
const leaf: fc.Arbitrary<QueryNode> = fc.oneof(
  fc.record({
    type: fc.constant('match' as const),
    field: fc.constantFrom('user', 'verb', 'ns', 'annotations.a/b', 'requestObject.spec.x'),
    value: literal,
  }),
  fc.record({
    type: fc.constant('exists' as const),
    field: fc.constantFrom('ns', 'group', 'requestObject.a'),
  }),
  fc.record({
    type: fc.constant('compare' as const),
    field: fc.constant('code'),
    op: fc.constantFrom('>' as const, '>=' as const, '<' as const, '<=' as const),
    value: fc.integer({ min: 0, max: 999 }).map((n) => ({ text: String(n), quoted: false, wildcard: false })),
  }),
  fc.record({ type: fc.constant('text' as const), value: literal }),
);
const tree = queryTree(leaf);

/** The parser flattens nested AND/OR of the same kind; do the same to generated trees. */
function flatten(n: QueryNode): QueryNode {
  if (n.type === 'and' || n.type === 'or') {
    const children = n.children
      .map(flatten)
      .flatMap((c) => (c.type === n.type ? (c as { children: QueryNode[] }).children : [c]));
    return { type: n.type, children };
  }
  if (n.type === 'not') return { type: 'not', child: flatten(n.child) };
  return n;
}

describe('printer', () => {
  it('round-trips generated trees: parse(print(t)) equals t', () => {
    fc.assert(
      fc.property(tree, (t) => {
        const expected = flatten(t);
        expect(stripSpans(parseQuery(printQuery(expected)))).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('round-trips what it parses: parse(print(parse(x))) equals parse(x)', () => {
    for (const q of [
      'verb:delete resource:secrets',
      'user:system:serviceaccount:* -ns:kube-system code>=400',
      'verb:(create OR patch) resource:pods',
      '"forbidden" OR reason:Forbidden',
      'NOT (a OR b) c',
      'requestObject.spec.containers.securityContext.privileged:true',
      'ua:"kubectl/v1.30.0 (linux/amd64)" ip:10.0.*',
    ]) {
      expect(stripSpans(parseQuery(printQuery(parseQuery(q))))).toEqual(stripSpans(parseQuery(q)));
    }
  });
});
