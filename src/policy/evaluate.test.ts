// The evaluator against kube-apiserver's policy checker: every case of its test table (checker_test.go:
// levels per request and rule list, omitStages per rule and policy-wide, stage union, stage inversion,
// omitManagedFields), then the matching rules one by one, and attributes derived from stored events.
import { describe, expect, it } from 'vitest';
import type { Level, Stage } from '../core/event.js';
import { makeEvent } from '../test-support/events.js';
import {
  attributesFromEvent,
  evaluate,
  invertStages,
  pathMatches,
  requestPath,
  resourceFromPath,
  unionStages,
} from './evaluate.js';
import type { Policy, PolicyRule, RequestAttributes } from './types.js';

const tim = { name: 'tim@k8s.io', groups: ['humans', 'developers'] };

function attrs(a: Partial<RequestAttributes>): RequestAttributes {
  return {
    verb: 'get',
    resourceRequest: false,
    namespace: '',
    apiGroup: '',
    resource: '',
    subresource: '',
    name: '',
    path: '',
    ...a,
  };
}

const REQUESTS: Record<string, RequestAttributes> = {
  namespaced: attrs({
    user: tim,
    namespace: 'default',
    resource: 'pods',
    name: 'busybox',
    resourceRequest: true,
    path: '/api/v1/namespaces/default/pods/busybox',
  }),
  cluster: attrs({
    user: tim,
    apiGroup: 'rbac.authorization.k8s.io',
    resource: 'clusterroles',
    name: 'edit',
    resourceRequest: true,
    path: '/apis/rbac.authorization.k8s.io/v1beta1/clusterroles/edit',
  }),
  nonResource: attrs({ user: tim, path: '/logs/kubelet.log' }),
  subresource: attrs({
    user: tim,
    namespace: 'default',
    resource: 'pods',
    subresource: 'log',
    name: 'busybox',
    resourceRequest: true,
    path: '/api/v1/namespaces/default/pods/busybox',
  }),
  Unauthorized: attrs({
    namespace: 'default',
    resource: 'pods',
    name: 'busybox',
    resourceRequest: true,
    path: '/api/v1/namespaces/default/pods/busybox',
  }),
};

const RULES: Record<string, PolicyRule> = {
  default: { level: 'Metadata' },
  create: { level: 'Request', verbs: ['create'] },
  tims: { level: 'Metadata', users: ['tim@k8s.io'] },
  humans: { level: 'Metadata', userGroups: ['humans'] },
  serviceAccounts: { level: 'Request', userGroups: ['system:serviceaccounts'] },
  getPods: { level: 'RequestResponse', verbs: ['get'], resources: [{ resources: ['pods'] }] },
  getPodLogs: { level: 'Request', verbs: ['get'], resources: [{ resources: ['pods/log'] }] },
  getPodWildcardMatching: { level: 'Request', verbs: ['get'], resources: [{ resources: ['*'] }] },
  getPodResourceWildcardMatching: { level: 'Request', verbs: ['get'], resources: [{ resources: ['*/log'] }] },
  getPodSubResourceWildcardMatching: {
    level: 'Request',
    verbs: ['get'],
    resources: [{ resources: ['pods/*'] }],
  },
  getClusterRoles: {
    level: 'RequestResponse',
    verbs: ['get'],
    resources: [{ group: 'rbac.authorization.k8s.io', resources: ['clusterroles'] }],
    namespaces: [''],
  },
  getLogs: { level: 'RequestResponse', verbs: ['get'], nonResourceURLs: ['/logs*'] },
  getMetrics: { level: 'Request', verbs: ['get'], nonResourceURLs: ['/metrics'] },
  clusterRoleEdit: {
    level: 'Request',
    resources: [{ group: 'rbac.authorization.k8s.io', resources: ['clusterroles'], resourceNames: ['edit'] }],
  },
  'omit RequestReceived': { level: 'Request', omitStages: ['RequestReceived'] },
  'only audit panic': {
    level: 'Request',
    omitStages: ['RequestReceived', 'ResponseStarted', 'ResponseComplete'],
  },
};

function decide(request: string, policyStages: Stage[] | undefined, ruleNames: string[]) {
  const policy: Policy = {
    apiVersion: 'audit.k8s.io/v1',
    kind: 'Policy',
    rules: ruleNames.map((n) => RULES[n]!),
    ...(policyStages ? { omitStages: policyStages } : {}),
  };
  return evaluate(policy, REQUESTS[request]!);
}

// [request, expected level, ...rules in order]
const LEVEL_CASES: [string, Level, ...string[]][] = [
  ['namespaced', 'Metadata', 'default'],
  ['namespaced', 'None', 'create'],
  ['namespaced', 'Metadata', 'tims'],
  ['namespaced', 'Metadata', 'humans'],
  ['namespaced', 'None', 'serviceAccounts'],
  ['namespaced', 'RequestResponse', 'getPods'],
  ['namespaced', 'None', 'getClusterRoles'],
  ['namespaced', 'None', 'getLogs'],
  ['namespaced', 'None', 'getMetrics'],
  ['namespaced', 'Metadata', 'getMetrics', 'serviceAccounts', 'default'],
  ['namespaced', 'RequestResponse', 'getMetrics', 'getPods', 'default'],
  ['namespaced', 'RequestResponse', 'getPodLogs', 'getPods'],

  ['cluster', 'Metadata', 'default'],
  ['cluster', 'None', 'create'],
  ['cluster', 'Metadata', 'tims'],
  ['cluster', 'Metadata', 'humans'],
  ['cluster', 'None', 'serviceAccounts'],
  ['cluster', 'None', 'getPods'],
  ['cluster', 'RequestResponse', 'getClusterRoles'],
  ['cluster', 'Request', 'clusterRoleEdit', 'getClusterRoles'],
  ['cluster', 'None', 'getLogs'],
  ['cluster', 'None', 'getMetrics'],
  ['cluster', 'Metadata', 'getMetrics', 'serviceAccounts', 'default'],
  ['cluster', 'RequestResponse', 'getMetrics', 'getClusterRoles', 'default'],
  ['cluster', 'None', 'getPodLogs', 'getPods'],

  ['nonResource', 'Metadata', 'default'],
  ['nonResource', 'None', 'create'],
  ['nonResource', 'Metadata', 'tims'],
  ['nonResource', 'Metadata', 'humans'],
  ['nonResource', 'None', 'serviceAccounts'],
  ['nonResource', 'None', 'getPods'],
  ['nonResource', 'None', 'getClusterRoles'],
  ['nonResource', 'RequestResponse', 'getLogs'],
  ['nonResource', 'None', 'getMetrics'],
  ['nonResource', 'Metadata', 'getMetrics', 'serviceAccounts', 'default'],
  ['nonResource', 'RequestResponse', 'getLogs', 'getClusterRoles', 'default'],
  ['nonResource', 'None', 'getPodLogs', 'getPods'],

  ['subresource', 'Request', 'getPodLogs', 'getPods'],
  ['subresource', 'Request', 'getPodWildcardMatching'],
  ['subresource', 'Request', 'getPodResourceWildcardMatching'],
  ['subresource', 'Request', 'getPodSubResourceWildcardMatching'],

  ['Unauthorized', 'None', 'tims'],
  ['Unauthorized', 'Metadata', 'tims', 'default'],
  ['Unauthorized', 'None', 'humans'],
  ['Unauthorized', 'Metadata', 'humans', 'default'],
];

const same = (a: readonly Stage[], b: readonly Stage[]) =>
  expect([...new Set(a)].sort()).toEqual([...new Set(b)].sort());

describe('kube-apiserver checker table: levels', () => {
  for (const policyStages of [undefined, ['RequestReceived', 'ResponseStarted'] as Stage[]]) {
    const label = policyStages ? 'policy omits RequestReceived, ResponseStarted' : 'no policy omitStages';
    describe(label, () => {
      for (const [request, level, ...rules] of LEVEL_CASES) {
        it(`${request} with [${rules.join(', ')}] → ${level}`, () => {
          const d = decide(request, policyStages, rules);
          expect(d.level).toBe(level);
          same(d.omitStages, policyStages ?? []);
        });
      }
    });
  }
});

describe('kube-apiserver checker table: omitStages per rule', () => {
  const all3: Stage[] = ['RequestReceived', 'ResponseStarted', 'ResponseComplete'];
  const cases: [string, Level, Stage[], ...string[]][] = [
    ['namespaced', 'Request', ['RequestReceived'], 'omit RequestReceived', 'getPods', 'default'],
    ['namespaced', 'Request', all3, 'only audit panic', 'getPods', 'default'],
    ['cluster', 'Request', ['RequestReceived'], 'omit RequestReceived', 'getPods', 'default'],
    ['cluster', 'Request', all3, 'only audit panic', 'getPods', 'default'],
    ['nonResource', 'Request', ['RequestReceived'], 'omit RequestReceived', 'getPods', 'default'],
    ['nonResource', 'Request', all3, 'only audit panic', 'getPods', 'default'],
  ];
  for (const [request, level, stages, ...rules] of cases) {
    it(`${request} with [${rules.join(', ')}] omits ${stages.join(', ')}`, () => {
      const d = decide(request, undefined, rules);
      expect(d.level).toBe(level);
      same(d.omitStages, stages);
    });
  }
});

describe('kube-apiserver checker table: omitStages policy-wide', () => {
  const policyStages: Stage[] = ['RequestReceived', 'ResponseStarted'];
  const all3: Stage[] = ['RequestReceived', 'ResponseStarted', 'ResponseComplete'];
  const cases: [string, Level, Stage[], ...string[]][] = [
    ['namespaced', 'Request', policyStages, 'omit RequestReceived', 'getPods', 'default'],
    ['namespaced', 'Request', all3, 'only audit panic', 'getPods', 'default'],
    ['cluster', 'Request', policyStages, 'omit RequestReceived', 'getPods', 'default'],
    ['cluster', 'Request', all3, 'only audit panic', 'getPods', 'default'],
    ['nonResource', 'Metadata', policyStages, 'default', 'omit RequestReceived', 'getPods'],
    ['nonResource', 'Request', all3, 'only audit panic', 'getPods', 'default'],
  ];
  for (const [request, level, stages, ...rules] of cases) {
    it(`${request} with [${rules.join(', ')}] omits ${stages.join(', ')}`, () => {
      const d = decide(request, policyStages, rules);
      expect(d.level).toBe(level);
      same(d.omitStages, stages);
    });
  }
});

describe('kube-apiserver checker table: union of stages', () => {
  const cases: [Stage[] | undefined, Stage[], Stage[]][] = [
    [[], [], []],
    [['RequestReceived'], [], ['RequestReceived']],
    [['RequestReceived'], ['RequestReceived'], ['RequestReceived']],
    [['RequestReceived'], ['ResponseStarted'], ['RequestReceived', 'ResponseStarted']],
    [['RequestReceived', 'RequestReceived'], ['RequestReceived', 'RequestReceived'], ['RequestReceived']],
    [
      ['RequestReceived', 'ResponseStarted'],
      ['Panic', 'RequestReceived'],
      ['RequestReceived', 'ResponseStarted', 'Panic'],
    ],
    [undefined, ['RequestReceived'], ['RequestReceived']],
  ];
  for (const [a, b, exp] of cases) {
    it(`${JSON.stringify(a)} ∪ ${JSON.stringify(b)}`, () => {
      const u = unionStages(a, b);
      expect(u).toHaveLength(exp.length);
      same(u, exp);
    });
  }
});

describe('kube-apiserver: stage inversion', () => {
  const cases: [string, Stage[], Stage[]][] = [
    ['removes one', ['ResponseStarted'], ['RequestReceived', 'ResponseComplete', 'Panic']],
    ['removes both', ['ResponseStarted', 'RequestReceived'], ['ResponseComplete', 'Panic']],
    ['removes none', [], ['ResponseComplete', 'ResponseStarted', 'RequestReceived', 'Panic']],
    ['removes all', ['ResponseComplete', 'ResponseStarted', 'RequestReceived', 'Panic'], []],
  ];
  for (const [name, stages, exp] of cases) it(name, () => same(invertStages(stages), exp));
});

describe('kube-apiserver checker table: omitManagedFields', () => {
  const request = attrs({ verb: 'get' });
  const rule: PolicyRule = { level: 'RequestResponse', verbs: ['get'] };
  const cases: [string, boolean, boolean | undefined, boolean][] = [
    ['policy false, rule does not override', false, undefined, false],
    ['policy true, rule does not override', true, undefined, true],
    ['policy true, rule overrides to false', true, false, false],
    ['policy false, rule overrides to true', false, true, true],
  ];
  for (const [name, policyValue, ruleValue, want] of cases) {
    it(name, () => {
      const r: PolicyRule = { ...rule, ...(ruleValue !== undefined ? { omitManagedFields: ruleValue } : {}) };
      const d = evaluate(
        { apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitManagedFields: policyValue, rules: [r] },
        request,
      );
      expect(d.omitManagedFields).toBe(want);
    });
  }
  it('no rule matches: the policy value', () => {
    const d = evaluate(
      {
        apiVersion: 'audit.k8s.io/v1',
        kind: 'Policy',
        omitManagedFields: true,
        rules: [{ level: 'Metadata', verbs: ['list'] }],
      },
      request,
    );
    expect(d).toEqual({ level: 'None', omitStages: [], omitManagedFields: true, rule: null });
  });
});

// ---- each rule of the semantics, beyond the table

const P = (rules: PolicyRule[], extra: Partial<Policy> = {}): Policy => ({
  apiVersion: 'audit.k8s.io/v1',
  kind: 'Policy',
  rules,
  ...extra,
});
const res = (a: Partial<RequestAttributes>) => attrs({ user: tim, resourceRequest: true, ...a });
const lvl = (policy: Policy, a: RequestAttributes) => evaluate(policy, a).level;

describe('resource matching', () => {
  it('pods/* matches bare pods requests (get, list, watch, create) and any subresource', () => {
    const p = P([{ level: 'Request', resources: [{ resources: ['pods/*'] }] }]);
    for (const verb of ['get', 'list', 'watch', 'create'])
      expect(lvl(p, res({ verb, resource: 'pods', namespace: 'a' }))).toBe('Request');
    expect(lvl(p, res({ resource: 'pods', subresource: 'exec' }))).toBe('Request');
    expect(lvl(p, res({ resource: 'podtemplates' }))).toBe('None');
  });
  it('* covers resources and subresources; */* matches nothing', () => {
    const star = P([{ level: 'Request', resources: [{ resources: ['*'] }] }]);
    expect(lvl(star, res({ resource: 'pods', subresource: 'status' }))).toBe('Request');
    const starStar = P([{ level: 'Request', resources: [{ resources: ['*/*'] }] }]);
    expect(lvl(starStar, res({ resource: 'pods' }))).toBe('None');
    expect(lvl(starStar, res({ resource: 'pods', subresource: 'status' }))).toBe('None');
  });
  it("*/status matches any resource's status subresource, not the resource itself", () => {
    const p = P([{ level: 'Request', resources: [{ group: '*', resources: ['*/status'] }] }]);
    expect(lvl(p, res({ resource: 'pods', subresource: 'status' }))).toBe('Request');
    expect(lvl(p, res({ apiGroup: 'apps', resource: 'deployments', subresource: 'status' }))).toBe('Request');
    expect(lvl(p, res({ resource: 'pods' }))).toBe('None');
    expect(lvl(p, res({ resource: 'pods', subresource: 'log' }))).toBe('None');
  });
  it('a plain resource does not match its subresources', () => {
    const p = P([{ level: 'Request', resources: [{ resources: ['pods'] }] }]);
    expect(lvl(p, res({ resource: 'pods', subresource: 'exec' }))).toBe('None');
    expect(lvl(p, res({ resource: 'pods' }))).toBe('Request');
  });
  it('no group means the core group only: [deployments] never matches apps/deployments', () => {
    const p = P([{ level: 'Request', resources: [{ resources: ['deployments'] }] }]);
    expect(lvl(p, res({ apiGroup: 'apps', resource: 'deployments' }))).toBe('None');
    const apps = P([{ level: 'Request', resources: [{ group: 'apps', resources: ['deployments'] }] }]);
    expect(lvl(apps, res({ apiGroup: 'apps', resource: 'deployments' }))).toBe('Request');
  });
  it('group "*" matches every group (Kubernetes 1.36+)', () => {
    const p = P([{ level: 'Request', resources: [{ group: '*', resources: ['secrets'] }] }]);
    expect(lvl(p, res({ resource: 'secrets' }))).toBe('Request');
    expect(lvl(p, res({ apiGroup: 'example.com', resource: 'secrets' }))).toBe('Request');
  });
  it('an entry with a group and no resources matches the whole group', () => {
    const p = P([{ level: 'Request', resources: [{ group: 'apps' }] }]);
    expect(lvl(p, res({ apiGroup: 'apps', resource: 'statefulsets', subresource: 'scale' }))).toBe('Request');
    expect(lvl(p, res({ resource: 'pods' }))).toBe('None');
  });
  it('resourceNames restrict by object name (cluster-wide lists have no name)', () => {
    const p = P([
      {
        level: 'Request',
        resources: [
          { group: 'coordination.k8s.io', resources: ['leases'], resourceNames: ['kube-scheduler'] },
        ],
      },
    ]);
    const lease = { apiGroup: 'coordination.k8s.io', resource: 'leases', namespace: 'kube-system' };
    expect(lvl(p, res({ ...lease, name: 'kube-scheduler' }))).toBe('Request');
    expect(lvl(p, res({ ...lease, name: 'other' }))).toBe('None');
    expect(lvl(p, res({ ...lease, verb: 'list' }))).toBe('None');
  });
  it('* is literal in verbs, users, userGroups, namespaces and resourceNames', () => {
    expect(lvl(P([{ level: 'Request', verbs: ['*'] }]), res({ resource: 'pods' }))).toBe('None');
    expect(lvl(P([{ level: 'Request', users: ['*'] }]), res({ resource: 'pods' }))).toBe('None');
    expect(lvl(P([{ level: 'Request', userGroups: ['*'] }]), res({ resource: 'pods' }))).toBe('None');
    expect(lvl(P([{ level: 'Request', namespaces: ['*'] }]), res({ resource: 'pods', namespace: 'a' }))).toBe(
      'None',
    );
    expect(
      lvl(
        P([{ level: 'Request', resources: [{ resources: ['pods'], resourceNames: ['*'] }] }]),
        res({ resource: 'pods', name: 'x' }),
      ),
    ).toBe('None');
    expect(
      lvl(
        P([{ level: 'Request', users: ['system:*'] }]),
        res({ user: { name: 'system:admin', groups: [] } }),
      ),
    ).toBe('None');
  });
});

describe('namespaces', () => {
  const p = P([{ level: 'Request', namespaces: [''] }]);
  it('[""] matches cluster-scoped objects and cluster-wide lists', () => {
    expect(lvl(p, res({ resource: 'nodes', name: 'n1' }))).toBe('Request');
    expect(lvl(p, res({ verb: 'list', resource: 'pods' }))).toBe('Request');
    expect(lvl(p, res({ resource: 'pods', namespace: 'default' }))).toBe('None');
  });
  it('a request for /api/v1/namespaces/foo has namespace foo', () => {
    const e = makeEvent({
      requestURI: '/api/v1/namespaces/foo',
      objectRef: { resource: 'namespaces', name: 'foo', apiVersion: 'v1' },
    });
    expect(attributesFromEvent(e).namespace).toBe('foo');
    expect(lvl(P([{ level: 'Request', namespaces: ['foo'] }]), attributesFromEvent(e))).toBe('Request');
    expect(resourceFromPath('/api/v1/namespaces/foo')).toEqual({
      apiGroup: '',
      namespace: 'foo',
      resource: 'namespaces',
      name: 'foo',
      subresource: '',
    });
  });
  it('rules with namespaces or resources never match non-resource requests', () => {
    expect(lvl(P([{ level: 'Request', namespaces: [''] }]), attrs({ user: tim, path: '/healthz' }))).toBe(
      'None',
    );
    expect(
      lvl(
        P([{ level: 'Request', resources: [{ resources: ['*'] }] }]),
        attrs({ user: tim, path: '/healthz' }),
      ),
    ).toBe('None');
  });
  it('rules with nonResourceURLs never match resource requests', () => {
    expect(lvl(P([{ level: 'Request', nonResourceURLs: ['*'] }]), res({ resource: 'pods' }))).toBe('None');
  });
});

describe('non-resource URLs', () => {
  it('a trailing * is a plain string prefix', () => {
    expect(pathMatches('/healthzfoo', '/healthz*')).toBe(true);
    expect(pathMatches('/healthz', '/healthz*')).toBe(true);
    expect(pathMatches('/healthz/etcd', '/healthz*')).toBe(true);
    expect(pathMatches('/healthz', '/healthz/*')).toBe(false);
    expect(pathMatches('/healthz/etcd', '/healthz/*')).toBe(true);
    expect(pathMatches('/anything', '*')).toBe(true);
    expect(pathMatches('/metrics/x', '/metrics')).toBe(false);
  });
  it('matching uses the path without the query string', () => {
    const e = makeEvent({ requestURI: '/healthz?verbose=1', verb: 'get' });
    delete e.objectRef;
    const a = attributesFromEvent(e);
    expect(a.path).toBe('/healthz');
    expect(lvl(P([{ level: 'Metadata', nonResourceURLs: ['/healthz'] }]), a)).toBe('Metadata');
    expect(requestPath('/readyz#x')).toBe('/readyz');
  });
});

describe('who the policy sees', () => {
  it('the user before impersonation', () => {
    const e = makeEvent({
      user: { username: 'system:admin', groups: ['system:masters'] },
      impersonatedUser: { username: 'bob', groups: ['devs'] },
    });
    const a = attributesFromEvent(e);
    expect(lvl(P([{ level: 'Request', users: ['bob'] }]), a)).toBe('None');
    expect(lvl(P([{ level: 'Request', userGroups: ['system:masters'] }]), a)).toBe('Request');
  });
  it('failed authentication (401) has no user: users/userGroups rules never match it', () => {
    const e = makeEvent({ user: {}, responseStatus: { code: 401 }, stage: 'ResponseStarted' });
    const a = attributesFromEvent(e);
    expect(a.user).toBeUndefined();
    expect(lvl(P([{ level: 'Request', userGroups: ['system:unauthenticated'] }]), a)).toBe('None');
    expect(lvl(P([{ level: 'Request', userGroups: ['x'] }, { level: 'Metadata' }]), a)).toBe('Metadata');
  });
  it('no rule matches → None, with the policy omitStages', () => {
    const d = evaluate(
      P([{ level: 'Request', verbs: ['delete'] }], { omitStages: ['RequestReceived'] }),
      res({}),
    );
    expect(d).toEqual({
      level: 'None',
      omitStages: ['RequestReceived'],
      omitManagedFields: false,
      rule: null,
    });
  });
  it('first matching rule wins and reports its index', () => {
    const d = evaluate(
      P([{ level: 'None', verbs: ['list'] }, { level: 'Request', verbs: ['get'] }, { level: 'Metadata' }]),
      res({}),
    );
    expect(d.rule).toBe(1);
    expect(d.level).toBe('Request');
  });
});

describe('attributes from events', () => {
  it('takes the objectRef: group, resource, subresource, name, namespace', () => {
    const e = makeEvent({
      verb: 'create',
      requestURI: '/api/v1/namespaces/web/pods/p/exec?command=sh',
      objectRef: { resource: 'pods', namespace: 'web', name: 'p', subresource: 'exec', apiVersion: 'v1' },
    });
    expect(attributesFromEvent(e)).toMatchObject({
      verb: 'create',
      resourceRequest: true,
      apiGroup: '',
      namespace: 'web',
      resource: 'pods',
      subresource: 'exec',
      name: 'p',
      path: '/api/v1/namespaces/web/pods/p/exec',
    });
  });
  it('parses the path when the event has no objectRef', () => {
    const e = makeEvent({ requestURI: '/apis/apps/v1/namespaces/a/deployments/d/scale' });
    delete e.objectRef;
    expect(attributesFromEvent(e)).toMatchObject({
      resourceRequest: true,
      apiGroup: 'apps',
      namespace: 'a',
      resource: 'deployments',
      name: 'd',
      subresource: 'scale',
    });
    expect(resourceFromPath('/apis')).toBeUndefined();
    expect(resourceFromPath('/api/v1')).toBeUndefined();
    expect(resourceFromPath('/version')).toBeUndefined();
    expect(resourceFromPath('/api/v1/nodes/n1/proxy/metrics')).toMatchObject({
      resource: 'nodes',
      subresource: 'proxy',
    });
    expect(resourceFromPath('/api/v1/namespaces/x/status')).toMatchObject({
      resource: 'namespaces',
      name: 'x',
      subresource: 'status',
    });
  });
  it('a non-resource event', () => {
    const e = makeEvent({ requestURI: '/openapi/v3?timeout=32s' });
    delete e.objectRef;
    expect(attributesFromEvent(e)).toMatchObject({ resourceRequest: false, path: '/openapi/v3' });
  });
});
