// The rule planner: which resources, verbs and stages a condition requires (what the engine indexes rules
// by), that the planned predicate selects exactly what the filter language's JS predicate selects (the
// merged OR lookups and the reordered ANDs included), that an AND runs its cheapest term first, and the
// grouping keys.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { AuditEvent, EventRecord } from '../core/event.js';
import { compileJs, parseQuery } from '../query/index.js';
import type { QueryNode } from '../query/syntax/ast.js';
import {
  eventArbitrary,
  makeEvent,
  NAMESPACES,
  RESOURCES,
  rec,
  USERS,
  VERBS,
} from '../test-support/events.js';
import { queryTree, valueOf } from '../test-support/queries.js';
import { compilePlanned, keyFunction, requirements } from './plan.js';

const NOW = Date.UTC(2024, 4, 1, 12);

/** Requirements as plain sorted arrays, for comparing. */
function req(condition: string): Record<string, string[]> {
  const r = requirements(parseQuery(condition));
  return Object.fromEntries(Object.entries(r).map(([k, v]) => [k, [...(v as Set<string>)].sort()]));
}

describe('requirements', () => {
  it.each([
    ['verb:create resource:pods', { verb: ['create'], resource: ['pods'] }],
    ['verb:(create OR update OR patch)', { verb: ['create', 'patch', 'update'] }],
    ['verb:(get OR list) verb:(list OR watch)', { verb: ['list'] }],
    [
      '(verb:create resource:pods) OR (verb:delete resource:secrets)',
      {
        verb: ['create', 'delete'],
        resource: ['pods', 'secrets'],
      },
    ],
    ['stage:ResponseComplete user:alice', { stage: ['ResponseComplete'] }],
    // Field names are case-insensitive; a JSON path into objectRef is not the resource field.
    ['Verb:create namespace:prod objectRef.resource:pods', { verb: ['create'] }],
  ])('%s requires %j', (condition, want) => {
    expect(req(condition)).toEqual(want);
  });

  it.each([
    // Any branch without the field lets any value through.
    'verb:create OR user:alice',
    // A wildcard does not name values.
    'verb:get* resource:pod*',
    // A negation requires nothing.
    'NOT verb:get',
    '-resource:secrets',
    'user:alice',
    '*',
  ])('%s requires nothing of resource, verb or stage', (condition) => {
    expect(req(condition)).toEqual({});
  });

  it('keeps the requirements of the other fields when one is a wildcard', () => {
    expect(req('verb:get* resource:pods stage:ResponseComplete')).toEqual({
      resource: ['pods'],
      stage: ['ResponseComplete'],
    });
  });
});

const records = (events: readonly AuditEvent[]) => events.map((e) => rec(e));

/** The ids a predicate selects. */
const ids = (p: (r: EventRecord) => boolean, rs: readonly EventRecord[]) =>
  rs.filter(p).map((r) => r.event.auditID);

describe('compilePlanned', () => {
  const fixed = records([
    makeEvent({ user: { username: 'alice', groups: ['devs', 'system:authenticated'] } }),
    makeEvent({ user: { username: 'bob-admin', groups: ['ops-admins'] }, verb: 'delete' }),
    makeEvent({ user: { username: 'system:node:n1', groups: ['system:nodes'] }, verb: 'patch' }),
    makeEvent({ user: { username: 'abc' }, responseStatus: { code: 403 } }),
    makeEvent({ user: { username: 'carol' }, responseStatus: { code: 404 }, verb: 'list' }),
    makeEvent({ user: { username: 'dave' }, objectRef: undefined }),
  ]);

  it.each([
    // Exact values, a prefix, a substring and a general pattern in one OR: one lookup.
    'user:(alice OR bob* OR *node* OR a?c)',
    'user:(carol OR dave OR nobody)',
    // A multi-valued field.
    'group:(devs OR *admin* OR system:n*)',
    // A number field is not merged, and stays right.
    'code:(403 OR 404 OR 500)',
    // Mixed fields are not merged.
    'user:alice OR verb:delete OR code:403',
    'NOT user:(alice OR bob* OR *node*) verb:(get OR patch OR list)',
    'resource:pods user:(alice OR carol OR *node*) NOT code:404',
  ])('%s selects what the JS predicate selects', (condition) => {
    const node = parseQuery(condition);
    const want = ids(compileJs(node, NOW), fixed);
    expect(ids(compilePlanned(node, NOW), fixed)).toEqual(want);
    // The cases are not vacuous: each selects some events and leaves some out.
    expect(want.length).toBeGreaterThan(0);
    expect(want.length).toBeLessThan(fixed.length);
  });

  it('selects what the JS predicate selects, for generated conditions and events', () => {
    const match = (field: string, vocab: readonly string[]) =>
      valueOf(vocab).map((value) => ({ type: 'match' as const, field, value }));
    const fields: [string, readonly string[]][] = [
      ['user', USERS],
      ['verb', VERBS],
      ['ns', NAMESPACES],
      ['resource', RESOURCES],
      ['group', ['devs', 'system:masters', 'a_b']],
    ];
    const leaf: fc.Arbitrary<QueryNode> = fc.oneof(
      ...fields.map(([f, v]) => match(f, v)),
      // Three to five values of one field: the merged lookup.
      fc
        .constantFrom(...fields)
        .chain(([f, v]) => fc.array(match(f, v), { minLength: 3, maxLength: 5 }))
        .map((children) => ({ type: 'or' as const, children })),
      fc.constantFrom('ns', 'group', 'code').map((field) => ({ type: 'exists' as const, field })),
    );
    fc.assert(
      fc.property(
        queryTree(leaf),
        fc.array(eventArbitrary, { minLength: 1, maxLength: 12 }),
        (node, events) => {
          const rs = records(events);
          expect(ids(compilePlanned(node, NOW), rs)).toEqual(ids(compileJs(node, NOW), rs));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('runs the cheapest term of an AND first', () => {
    // A JSON path is costlier than a column: written first, it still runs second, so an event whose verb
    // does not match never has its request body read.
    let reads = 0;
    const event = makeEvent({ verb: 'list' });
    Object.defineProperty(event, 'requestObject', {
      enumerable: true,
      get: () => {
        reads++;
        return { spec: { replicas: 3 } };
      },
    });
    const node = parseQuery('requestObject.spec.replicas:3 verb:get');
    expect(compilePlanned(node, NOW)(rec(event))).toBe(false);
    expect(reads).toBe(0);
    // The JS predicate, which keeps the written order, does read it: the check above is not vacuous.
    expect(compileJs(node, NOW)(rec(event))).toBe(false);
    expect(reads).toBeGreaterThan(0);
  });
});

describe('keyFunction', () => {
  const r = rec(
    makeEvent({
      user: { username: 'alice', groups: ['devs', 'system:authenticated', 'devs'] },
      objectRef: { resource: 'pods', namespace: 'prod', name: 'web-1', apiVersion: 'v1' },
    }),
    'east',
  );

  it('joins the values of the fields, distinct values of a multi-valued field, absent as empty', () => {
    expect(keyFunction([])(r)).toBe('');
    expect(keyFunction(['user'])(r)).toBe('alice');
    expect(keyFunction(['user', 'ns', 'cluster'])(r)).toBe('alice|prod|east');
    expect(keyFunction(['group'])(r)).toBe('devs,system:authenticated');
    expect(keyFunction(['impersonated', 'user'])(r)).toBe('|alice');
    expect(keyFunction(['requestObject.spec.replicas'])(r)).toBe('');
  });
});
