// Properties of the suggestion over random request histories: it is valid RBAC v1 (never resourceNames
// with create, list, watch or deletecollection), it allows every request the subject made and was
// allowed (checked with the evaluator), it is minimal (removing any one rule, or any one verb, resource,
// name or URL from a rule, denies some observed request), it grants no refused request that was never
// allowed, and it does not depend on the order of the history.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RbacEvaluator } from './evaluate.js';
import { suggestionYaml } from './render.js';
import { UNNAMED_VERBS, type Observation, type Outcome } from './requests.js';
import { rbacProblems } from './schema.js';
import { madeBy, type SubjectRef } from './subject.js';
import { suggest } from './suggest.js';
import { setOf, type PolicyRule, type RbacObject, type RbacRequest } from './types.js';

const USERS = [
  { user: 'alice', groups: ['devs'] },
  { user: 'bob', groups: ['devs', 'ops'] },
  { user: 'system:serviceaccount:ns1:sa1', groups: ['system:serviceaccounts', 'system:serviceaccounts:ns1'] },
];
const RESOURCES = [
  { apiGroup: '', resource: 'pods' },
  { apiGroup: '', resource: 'pods', subresource: 'exec' },
  { apiGroup: 'apps', resource: 'deployments' },
  { apiGroup: '', resource: 'nodes', cluster: true },
];
const VERBS = ['get', 'list', 'create', 'delete', 'deletecollection', 'impersonate'];

const request: fc.Arbitrary<RbacRequest> = fc.oneof(
  fc
    .record({
      who: fc.constantFrom(...USERS),
      res: fc.constantFrom(...RESOURCES),
      verb: fc.constantFrom(...VERBS),
      namespace: fc.constantFrom('', 'default', 'default', 'ns1'),
      name: fc.constantFrom('', 'a', 'b'),
    })
    .map(({ who, res, verb, namespace, name }): RbacRequest => {
      const named = !UNNAMED_VERBS.has(verb) || (verb === 'create' && res.subresource !== undefined);
      return {
        ...who,
        verb,
        apiGroup: res.apiGroup,
        resource: res.resource,
        ...(res.subresource ? { subresource: res.subresource } : {}),
        ...(!res.cluster && namespace ? { namespace } : {}),
        ...(named && name ? { name } : {}),
      };
    }),
  fc
    .record({
      who: fc.constantFrom(...USERS),
      url: fc.constantFrom('/healthz', '/metrics', '/api', '/apis/apps'),
      verb: fc.constantFrom('get', 'post'),
    })
    .map(({ who, url, verb }): RbacRequest => ({ ...who, verb, nonResourceURL: url })),
);

const history: fc.Arbitrary<Observation[]> = fc
  .array(
    fc.record({
      request,
      outcome: fc.constantFrom<Outcome>('allowed', 'allowed', 'denied'),
      t: fc.nat(1000),
    }),
    { maxLength: 60 },
  )
  .map((xs) =>
    xs.map(({ request: r, outcome, t }) => ({ request: r, outcome, count: 1, first: t, last: t })),
  );

const SUBJECTS: SubjectRef[] = [
  { kind: 'User', name: 'alice' },
  { kind: 'Group', name: 'devs' },
  { kind: 'ServiceAccount', namespace: 'ns1', name: 'sa1' },
];

/** Every way of taking one thing out of a rule: the rule itself, or one of its verbs, resources, names, URLs. */
function reductions(objects: RbacObject[]): RbacObject[][] {
  const out: RbacObject[][] = [];
  objects.forEach((o, oi) => {
    if (o.kind !== 'Role' && o.kind !== 'ClusterRole') return;
    const withRules = (rules: PolicyRule[]) => objects.map((x, i) => (i === oi ? { ...o, rules } : x));
    o.rules.forEach((rule, ri) => {
      const replace = (r: PolicyRule) => withRules(o.rules.map((x, i) => (i === ri ? r : x)));
      out.push(withRules(o.rules.filter((_, i) => i !== ri)));
      for (const key of ['verbs', 'resources', 'resourceNames', 'nonResourceURLs'] as const) {
        const list = rule[key] ?? [];
        if (list.length > 1)
          list.forEach((_, k) => out.push(replace({ ...rule, [key]: list.filter((__, j) => j !== k) })));
      }
    });
  });
  return out;
}

describe('rbac suggest over random histories', () => {
  it('valid, complete, minimal, refusing, order-free', () => {
    fc.assert(
      fc.property(history, fc.constantFrom(...SUBJECTS), fc.boolean(), (obs, subject, names) => {
        const s = suggest(obs, { subject, names });
        expect(s.objects.flatMap((o) => rbacProblems(o, true))).toEqual([]);
        for (const o of s.objects)
          if (o.kind === 'Role' || o.kind === 'ClusterRole')
            for (const r of o.rules)
              if (r.resourceNames) expect(r.verbs.filter((v) => UNNAMED_VERBS.has(v))).toEqual([]);
        const mine = obs.filter((o) => madeBy(subject, o.request));
        const allowed = mine.filter((o) => o.outcome === 'allowed').map((o) => o.request);
        const ev = new RbacEvaluator(s.set);
        for (const r of allowed) expect(ev.allows(r), JSON.stringify(r)).toBe(true);
        for (const reduced of reductions(s.objects)) {
          const smaller = new RbacEvaluator(setOf(reduced));
          expect(allowed.some((r) => !smaller.allows(r))).toBe(true);
        }
        // A refused request is granted only where an allowed one needs the same grant.
        const nameable = (v: string) => names || v === 'impersonate';
        const covers = (a: RbacRequest, d: RbacRequest) =>
          a.verb === d.verb &&
          a.nonResourceURL === d.nonResourceURL &&
          a.apiGroup === d.apiGroup &&
          a.resource === d.resource &&
          a.subresource === d.subresource &&
          ((a.namespace ?? '') === '' || a.namespace === d.namespace) &&
          (!nameable(d.verb) || (a.name ?? '') === '' || a.name === d.name);
        for (const o of mine)
          if (o.outcome === 'denied' && !allowed.some((a) => covers(a, o.request)))
            expect(ev.allows(o.request) ? JSON.stringify(o.request) : '').toBe('');
        expect(suggestionYaml(suggest([...obs].reverse(), { subject, names }))).toBe(suggestionYaml(s));
      }),
      { numRuns: 150 },
    );
  });
});
