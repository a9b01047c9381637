// Granted but unused: breakdown of rules into permissions, usage per subject through users, groups and
// service accounts, aggregated roles credited to the role that holds the rule, dangerous permissions
// first, removals that keep whatever any subject used, the diff, and the danger list.
import { describe, expect, it } from 'vitest';
import { dangerOf } from './danger.js';
import { unifiedDiff } from './diff.js';
import type { Observation } from './requests.js';
import { unusedDiff } from './unused-render.js';
import { analyzeUnused, breakdown, describePermission } from './unused.js';
import { RBAC_API_VERSION as V, RBAC_GROUP as G, setOf, type RbacObject, type RbacRequest } from './types.js';

const used = (r: Partial<RbacRequest>): Observation => ({
  request: { user: 'alice', groups: ['devs'], verb: 'get', ...r },
  outcome: 'allowed',
  count: 2,
  first: 10,
  last: 20,
});

const objects: RbacObject[] = [
  {
    apiVersion: V,
    kind: 'ClusterRole',
    metadata: { name: 'reader' },
    rules: [
      { apiGroups: [''], resources: ['pods', 'secrets'], verbs: ['get', 'list'] },
      { nonResourceURLs: ['/metrics'], verbs: ['get'] },
    ],
  },
  {
    apiVersion: V,
    kind: 'ClusterRole',
    metadata: { name: 'agg' },
    rules: [],
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { agg: 'yes' } }] },
  },
  {
    apiVersion: V,
    kind: 'ClusterRole',
    metadata: { name: 'part', labels: { agg: 'yes' } },
    rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get', 'update'] }],
  },
  {
    apiVersion: V,
    kind: 'ClusterRoleBinding',
    metadata: { name: 'devs-read' },
    roleRef: { apiGroup: G, kind: 'ClusterRole', name: 'reader' },
    subjects: [{ kind: 'Group', apiGroup: G, name: 'devs' }],
  },
  {
    apiVersion: V,
    kind: 'RoleBinding',
    metadata: { name: 'sa-agg', namespace: 'ns1' },
    roleRef: { apiGroup: G, kind: 'ClusterRole', name: 'agg' },
    subjects: [{ kind: 'ServiceAccount', name: 'sa1' }],
  },
];

const history: Observation[] = [
  used({ apiGroup: '', resource: 'pods', namespace: 'default' }),
  used({ apiGroup: '', resource: 'pods', verb: 'list' }),
  used({
    user: 'system:serviceaccount:ns1:sa1',
    groups: [],
    apiGroup: 'apps',
    resource: 'deployments',
    namespace: 'ns1',
  }),
  // Not in the binding's namespace: does not count.
  used({
    user: 'system:serviceaccount:ns1:sa1',
    groups: [],
    apiGroup: 'apps',
    resource: 'deployments',
    verb: 'update',
    namespace: 'ns2',
  }),
  { ...used({ apiGroup: '', resource: 'secrets', namespace: 'default' }), outcome: 'denied' },
];

describe('breakdown', () => {
  it('one permission per group, resource and verb (names kept), or per URL and verb', () => {
    expect(
      breakdown({
        apiGroups: ['', 'apps'],
        resources: ['a'],
        verbs: ['get', 'list'],
        resourceNames: ['x'],
      }).map(describePermission),
    ).toEqual(['get a [x]', 'list a [x]', 'get apps/a [x]', 'list apps/a [x]']);
    expect(breakdown({ nonResourceURLs: ['/a', '/b*'], verbs: ['get'] }).map(describePermission)).toEqual([
      'get /a',
      'get /b*',
    ]);
  });
});

describe('analyzeUnused', () => {
  const r = analyzeUnused(setOf(objects), history);

  it('per subject: every permission, its uses and last use, dangerous unused first', () => {
    expect(r.subjects.map((s) => s.subject)).toEqual([
      { kind: 'Group', name: 'devs' },
      { kind: 'ServiceAccount', namespace: 'ns1', name: 'sa1' },
    ]);
    const devs = r.subjects[0]!.grants.map((g) => [
      describePermission(g.permission),
      g.uses,
      g.dangerous ?? '',
    ]);
    expect(devs).toEqual([
      ['get secrets', 0, 'reads secrets'],
      ['list secrets', 0, 'reads secrets'],
      ['get /metrics', 0, ''],
      ['get pods', 2, ''],
      ['list pods', 2, ''],
    ]);
    const sa = r.subjects[1]!.grants;
    expect(sa.map((g) => [describePermission(g.permission), g.uses, g.role.name, g.via, g.scope])).toEqual([
      ['update apps/deployments', 0, 'part', 'agg', 'ns1'],
      ['get apps/deployments', 2, 'part', 'agg', 'ns1'],
    ]);
    expect(sa[1]!.lastUsed).toBe(20);
  });

  it('removes from each bound role what no subject used; an aggregated role is left alone', () => {
    expect(r.removals.map((x) => [x.role.metadata.name, x.remove.map(describePermission), x.rules])).toEqual([
      [
        'part',
        ['update apps/deployments'],
        [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] }],
      ],
      [
        'reader',
        ['get secrets', 'list secrets', 'get /metrics'],
        [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }],
      ],
    ]);
  });

  it('--subject lists that subject and the roles bound to it only', () => {
    const one = analyzeUnused(setOf(objects), history, {
      subject: { kind: 'ServiceAccount', namespace: 'ns1', name: 'sa1' },
    });
    expect(one.subjects).toHaveLength(1);
    expect(one.removals.map((x) => x.role.metadata.name)).toEqual(['part']);
  });

  it('the diff removes the unused lines from the role as given', () => {
    const d = unusedDiff(r);
    expect(d).toContain('--- a/ClusterRole/reader\n+++ b/ClusterRole/reader\n');
    expect(d).toContain('-      - secrets\n');
    expect(d).toContain('-  - nonResourceURLs:\n-      - /metrics\n-    verbs:\n-      - get\n');
    expect(d).toContain('       - get\n-      - update\n');
  });
});

describe('unifiedDiff', () => {
  it('writes what diff -u writes: three lines of context, near hunks merged, ranges', () => {
    const lines = (xs: (string | number)[]) => xs.join('\n') + '\n';
    const ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    expect(unifiedDiff(lines(ten), lines([1, 2, 3, 4, 'five', 6, 7, 8, 9, 10, 11]), 'a', 'b')).toBe(
      '--- a\n+++ b\n@@ -2,9 +2,10 @@\n 2\n 3\n 4\n-5\n+five\n 6\n 7\n 8\n 9\n 10\n+11\n',
    );
    const fifteen = [...ten, 11, 12, 13, 14, 15];
    expect(unifiedDiff(lines(fifteen), lines([1, 2, 'three', ...fifteen.slice(3, 13), 15]), 'a', 'b')).toBe(
      '--- a\n+++ b\n@@ -1,6 +1,6 @@\n 1\n 2\n-3\n+three\n 4\n 5\n 6\n@@ -11,5 +11,4 @@\n 11\n 12\n 13\n-14\n 15\n',
    );
    expect(unifiedDiff(lines(ten), lines(ten), 'a', 'b')).toBe('');
    expect(unifiedDiff('', 'x\n', 'a', 'b')).toBe('--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n');
  });
});

describe('dangerOf', () => {
  it.each([
    [{ apiGroups: [''], resources: ['secrets'], verbs: ['watch'] }, 'reads secrets'],
    [{ apiGroups: [''], resources: ['secrets'], verbs: ['create'] }, undefined],
    [{ apiGroups: [''], resources: ['*/exec'], verbs: ['create'] }, 'pods/exec'],
    [{ apiGroups: [''], resources: ['pods/attach'], verbs: ['get'] }, 'pods/attach'],
    [
      { apiGroups: ['rbac.authorization.k8s.io'], resources: ['clusterroles'], verbs: ['escalate'] },
      'escalate',
    ],
    [
      {
        apiGroups: ['rbac.authorization.k8s.io'],
        resources: ['roles'],
        verbs: ['bind'],
        resourceNames: ['x'],
      },
      'bind',
    ],
    [{ apiGroups: [''], resources: ['users'], verbs: ['impersonate'] }, 'impersonate'],
    [{ apiGroups: [''], resources: ['nodes/proxy'], verbs: ['get'] }, 'nodes/proxy'],
    [{ apiGroups: [''], resources: ['serviceaccounts/token'], verbs: ['create'] }, 'serviceaccounts/token'],
    [
      {
        apiGroups: ['certificates.k8s.io'],
        resources: ['certificatesigningrequests/approval'],
        verbs: ['update'],
      },
      'CSR approval',
    ],
    [{ apiGroups: ['certificates.k8s.io'], resources: ['signers'], verbs: ['approve'] }, 'CSR approval'],
    [{ apiGroups: ['apps'], resources: ['*'], verbs: ['get'] }, '*'],
    [{ nonResourceURLs: ['*'], verbs: ['get'] }, '*'],
    [{ apiGroups: [''], resources: ['pods'], verbs: ['get', 'list'] }, undefined],
  ])('%j: %s', (rule, reason) => {
    expect(dangerOf(rule)).toBe(reason);
  });
});
