import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { KubetrailError } from '../core/errors.js';
import type { QueryNode } from './syntax/ast.js';
import { parseQuery, stripSpans } from './syntax/parser.js';
import { printQuery } from './syntax/printer.js';

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
const tree = fc.letrec<{ node: QueryNode }>((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({
      type: fc.constant('and' as const),
      children: fc.array(tie('node'), { minLength: 2, maxLength: 3 }),
    }),
    fc.record({
      type: fc.constant('or' as const),
      children: fc.array(tie('node'), { minLength: 2, maxLength: 3 }),
    }),
    fc.record({ type: fc.constant('not' as const), child: tie('node') }),
  ),
})).node;

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
