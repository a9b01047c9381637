// The RBAC evaluator against the API server's authorizer: one table of rule matches (verbs, API groups,
// resources and subresources with `*` and `*/SUBRESOURCE`, resource names, non-resource URLs), one of
// whole sets (subjects, bindings and their namespaces, RoleBindings naming ClusterRoles, aggregation,
// missing roles, service account groups), written from the rule-matching and visiting code of
// kubernetes' pkg/registry/rbac/validation and plugin/pkg/auth/authorizer/rbac.
import { describe, expect, it } from 'vitest';
import { RbacEvaluator, ruleAllows, selectorMatches } from './evaluate.js';
import {
  RBAC_API_VERSION as V,
  RBAC_GROUP as G,
  setOf,
  type ClusterRole,
  type ClusterRoleBinding,
  type PolicyRule,
  type RbacObject,
  type RbacRequest,
  type Role,
  type RoleBinding,
  type Subject,
} from './types.js';

const req = (r: Partial<RbacRequest>): RbacRequest => ({ user: 'alice', verb: 'get', ...r });
const pods = { resource: 'pods', namespace: 'default' };

// [case, rule, request, allowed]
const RULES: [string, PolicyRule, Partial<RbacRequest>, boolean][] = [
  ['exact verb, group, resource', { verbs: ['get'], apiGroups: [''], resources: ['pods'] }, pods, true],
  ['other verb', { verbs: ['list'], apiGroups: [''], resources: ['pods'] }, pods, false],
  [
    'verb *',
    { verbs: ['*'], apiGroups: [''], resources: ['pods'] },
    { ...pods, verb: 'deletecollection' },
    true,
  ],
  ['verbs are case-sensitive', { verbs: ['GET'], apiGroups: [''], resources: ['pods'] }, pods, false],
  ['other group', { verbs: ['get'], apiGroups: ['apps'], resources: ['pods'] }, pods, false],
  [
    'group *',
    { verbs: ['get'], apiGroups: ['*'], resources: ['deployments'] },
    { resource: 'deployments', apiGroup: 'apps' },
    true,
  ],
  ['no apiGroups matches nothing', { verbs: ['get'], resources: ['pods'] }, pods, false],
  [
    'core group is ""',
    { verbs: ['get'], apiGroups: [''], resources: ['deployments'] },
    { resource: 'deployments', apiGroup: 'apps' },
    false,
  ],
  ['resource *', { verbs: ['get'], apiGroups: [''], resources: ['*'] }, pods, true],
  [
    'resource * covers subresources',
    { verbs: ['create'], apiGroups: [''], resources: ['*'] },
    { ...pods, verb: 'create', subresource: 'exec' },
    true,
  ],
  ['other resource', { verbs: ['get'], apiGroups: [''], resources: ['services'] }, pods, false],
  [
    'resource does not cover its subresource',
    { verbs: ['create'], apiGroups: [''], resources: ['pods'] },
    { ...pods, verb: 'create', subresource: 'exec' },
    false,
  ],
  [
    'exact subresource',
    { verbs: ['create'], apiGroups: [''], resources: ['pods/exec'] },
    { ...pods, verb: 'create', subresource: 'exec' },
    true,
  ],
  [
    'subresource does not cover its resource',
    { verbs: ['get'], apiGroups: [''], resources: ['pods/log'] },
    pods,
    false,
  ],
  [
    'other subresource',
    { verbs: ['create'], apiGroups: [''], resources: ['pods/attach'] },
    { ...pods, verb: 'create', subresource: 'exec' },
    false,
  ],
  [
    '*/scale covers deployments/scale',
    { verbs: ['update'], apiGroups: ['apps'], resources: ['*/scale'] },
    { resource: 'deployments', subresource: 'scale', apiGroup: 'apps', verb: 'update' },
    true,
  ],
  [
    '*/scale does not cover deployments',
    { verbs: ['update'], apiGroups: ['apps'], resources: ['*/scale'] },
    { resource: 'deployments', apiGroup: 'apps', verb: 'update' },
    false,
  ],
  [
    '*/scale does not cover pods/exec',
    { verbs: ['create'], apiGroups: [''], resources: ['*/scale'] },
    { ...pods, verb: 'create', subresource: 'exec' },
    false,
  ],
  [
    '*/sca does not cover a longer subresource',
    { verbs: ['update'], apiGroups: ['apps'], resources: ['*/sca'] },
    { resource: 'deployments', subresource: 'scale', apiGroup: 'apps', verb: 'update' },
    false,
  ],
  [
    'pods/* is a literal name, not a wildcard',
    { verbs: ['create'], apiGroups: [''], resources: ['pods/*'] },
    { ...pods, verb: 'create', subresource: 'exec' },
    false,
  ],
  [
    '*/* is a literal name, not a wildcard',
    { verbs: ['get'], apiGroups: [''], resources: ['*/*'] },
    { ...pods, subresource: 'log' },
    false,
  ],
  [
    'resourceNames: named match',
    { verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['web'] },
    { ...pods, name: 'web' },
    true,
  ],
  [
    'resourceNames: other name',
    { verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['web'] },
    { ...pods, name: 'db' },
    false,
  ],
  [
    'resourceNames: a request without a name (list) is refused',
    { verbs: ['list'], apiGroups: [''], resources: ['pods'], resourceNames: ['web'] },
    { ...pods, verb: 'list' },
    false,
  ],
  [
    'resourceNames: create carries no name to match',
    { verbs: ['create'], apiGroups: [''], resources: ['pods'], resourceNames: ['web'] },
    { ...pods, verb: 'create' },
    false,
  ],
  [
    'empty resourceNames allows every name',
    { verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: [] },
    { ...pods, name: 'x' },
    true,
  ],
  [
    'resourceNames "*" is a literal name',
    { verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['*'] },
    { ...pods, name: 'x' },
    false,
  ],
  [
    'non-resource URL exact',
    { verbs: ['get'], nonResourceURLs: ['/healthz'] },
    { nonResourceURL: '/healthz' },
    true,
  ],
  [
    'non-resource URL other',
    { verbs: ['get'], nonResourceURLs: ['/healthz'] },
    { nonResourceURL: '/version' },
    false,
  ],
  [
    'non-resource URL trailing * is a prefix',
    { verbs: ['get'], nonResourceURLs: ['/healthz/*'] },
    { nonResourceURL: '/healthz/etcd' },
    true,
  ],
  [
    'non-resource prefix without the slash',
    { verbs: ['get'], nonResourceURLs: ['/api*'] },
    { nonResourceURL: '/apis/apps/v1' },
    true,
  ],
  [
    'non-resource prefix does not match its parent',
    { verbs: ['get'], nonResourceURLs: ['/healthz/*'] },
    { nonResourceURL: '/healthz' },
    false,
  ],
  ['non-resource *', { verbs: ['get'], nonResourceURLs: ['*'] }, { nonResourceURL: '/metrics' }, true],
  [
    'non-resource * only at the end',
    { verbs: ['get'], nonResourceURLs: ['/*/metrics'] },
    { nonResourceURL: '/x/metrics' },
    false,
  ],
  [
    'non-resource verb',
    { verbs: ['get'], nonResourceURLs: ['/metrics'] },
    { nonResourceURL: '/metrics', verb: 'post' },
    false,
  ],
  [
    'resource rule never allows a non-resource request',
    { verbs: ['*'], apiGroups: ['*'], resources: ['*'] },
    { nonResourceURL: '/metrics' },
    false,
  ],
  [
    'non-resource rule never allows a resource request',
    { verbs: ['*'], nonResourceURLs: ['*'] },
    pods,
    false,
  ],
  [
    'impersonate users by name',
    { verbs: ['impersonate'], apiGroups: [''], resources: ['users'], resourceNames: ['bob'] },
    { verb: 'impersonate', resource: 'users', name: 'bob' },
    true,
  ],
];

const role = (ns: string, name: string, rules: PolicyRule[]): Role => ({
  apiVersion: V,
  kind: 'Role',
  metadata: { name, namespace: ns },
  rules,
});
const clusterRole = (name: string, rules: PolicyRule[], extra: Partial<ClusterRole> = {}): ClusterRole => ({
  apiVersion: V,
  kind: 'ClusterRole',
  metadata: { name },
  rules,
  ...extra,
});
const user = (name: string): Subject => ({ kind: 'User', name, apiGroup: G });
const group = (name: string): Subject => ({ kind: 'Group', name, apiGroup: G });
const sa = (name: string, namespace?: string): Subject => ({
  kind: 'ServiceAccount',
  name,
  ...(namespace ? { namespace } : {}),
});
const rb = (
  ns: string,
  kind: 'Role' | 'ClusterRole',
  roleName: string,
  subjects: Subject[],
): RoleBinding => ({
  apiVersion: V,
  kind: 'RoleBinding',
  metadata: { name: `rb-${roleName}`, namespace: ns },
  subjects,
  roleRef: { apiGroup: G, kind, name: roleName },
});
const crb = (roleName: string, subjects: Subject[]): ClusterRoleBinding => ({
  apiVersion: V,
  kind: 'ClusterRoleBinding',
  metadata: { name: `crb-${roleName}` },
  subjects,
  roleRef: { apiGroup: G, kind: 'ClusterRole', name: roleName },
});

const readPods: PolicyRule = { verbs: ['get', 'list'], apiGroups: [''], resources: ['pods'] };
const health: PolicyRule = { verbs: ['get'], nonResourceURLs: ['/healthz'] };
const aggregated = clusterRole('view', [], {
  aggregationRule: { clusterRoleSelectors: [{ matchLabels: { 'rbac.example/aggregate-to-view': 'true' } }] },
});
const part = (name: string, labels: Record<string, string>, rules: PolicyRule[]) =>
  clusterRole(name, rules, { metadata: { name, labels } });

// [case, objects, request, allowed]
const SETS: [string, RbacObject[], Partial<RbacRequest>, boolean][] = [
  ['nothing bound: denied', [role('default', 'r', [readPods])], pods, false],
  [
    'Role + RoleBinding to the user',
    [role('default', 'r', [readPods]), rb('default', 'Role', 'r', [user('alice')])],
    pods,
    true,
  ],
  [
    'another user',
    [role('default', 'r', [readPods]), rb('default', 'Role', 'r', [user('bob')])],
    pods,
    false,
  ],
  [
    'user names are case-sensitive',
    [role('default', 'r', [readPods]), rb('default', 'Role', 'r', [user('Alice')])],
    pods,
    false,
  ],
  [
    'RoleBinding in another namespace',
    [role('other', 'r', [readPods]), rb('other', 'Role', 'r', [user('alice')])],
    pods,
    false,
  ],
  [
    'RoleBinding does not allow cluster-wide requests',
    [role('default', 'r', [readPods]), rb('default', 'Role', 'r', [user('alice')])],
    { resource: 'pods', verb: 'list' },
    false,
  ],
  [
    'RoleBinding naming a Role of another namespace finds none',
    [role('other', 'r', [readPods]), rb('default', 'Role', 'r', [user('alice')])],
    pods,
    false,
  ],
  ['missing role: skipped, denied', [rb('default', 'Role', 'gone', [user('alice')])], pods, false],
  [
    'missing role does not stop the visit',
    [
      rb('default', 'Role', 'gone', [user('alice')]),
      role('default', 'r', [readPods]),
      rb('default', 'Role', 'r', [user('alice')]),
    ],
    pods,
    true,
  ],
  [
    'RoleBinding naming a ClusterRole: its namespace',
    [clusterRole('c', [readPods]), rb('default', 'ClusterRole', 'c', [user('alice')])],
    pods,
    true,
  ],
  [
    'RoleBinding naming a ClusterRole: not other namespaces',
    [clusterRole('c', [readPods]), rb('default', 'ClusterRole', 'c', [user('alice')])],
    { ...pods, namespace: 'kube-system' },
    false,
  ],
  [
    'RoleBinding naming a ClusterRole: not cluster-wide',
    [clusterRole('c', [readPods]), rb('default', 'ClusterRole', 'c', [user('alice')])],
    { resource: 'pods' },
    false,
  ],
  [
    'RoleBinding naming a ClusterRole: no non-resource URLs',
    [clusterRole('c', [health]), rb('default', 'ClusterRole', 'c', [user('alice')])],
    { nonResourceURL: '/healthz' },
    false,
  ],
  [
    'ClusterRoleBinding: every namespace',
    [clusterRole('c', [readPods]), crb('c', [user('alice')])],
    { ...pods, namespace: 'kube-system' },
    true,
  ],
  [
    'ClusterRoleBinding: cluster-wide',
    [clusterRole('c', [readPods]), crb('c', [user('alice')])],
    { resource: 'pods', verb: 'list' },
    true,
  ],
  [
    'ClusterRoleBinding: non-resource URLs',
    [clusterRole('c', [health]), crb('c', [user('alice')])],
    { nonResourceURL: '/healthz' },
    true,
  ],
  ['ClusterRoleBinding naming a missing role', [crb('gone', [user('alice')])], pods, false],
  [
    'Group subject',
    [clusterRole('c', [readPods]), crb('c', [group('devs')])],
    { ...pods, groups: ['devs'] },
    true,
  ],
  [
    'Group subject, user not in it',
    [clusterRole('c', [readPods]), crb('c', [group('devs')])],
    { ...pods, groups: ['ops'] },
    false,
  ],
  [
    'Group subject does not match a user of that name',
    [clusterRole('c', [readPods]), crb('c', [group('alice')])],
    pods,
    false,
  ],
  [
    'User subject does not match a group of that name',
    [clusterRole('c', [readPods]), crb('c', [user('devs')])],
    { ...pods, groups: ['devs'] },
    false,
  ],
  [
    'ServiceAccount subject',
    [clusterRole('c', [readPods]), crb('c', [sa('sa1', 'ns1')])],
    { ...pods, user: 'system:serviceaccount:ns1:sa1' },
    true,
  ],
  [
    'ServiceAccount subject, other namespace',
    [clusterRole('c', [readPods]), crb('c', [sa('sa1', 'ns1')])],
    { ...pods, user: 'system:serviceaccount:ns2:sa1' },
    false,
  ],
  [
    'ServiceAccount subject without namespace in a RoleBinding: the binding namespace',
    [role('ns1', 'r', [readPods]), rb('ns1', 'Role', 'r', [sa('sa1')])],
    { ...pods, namespace: 'ns1', user: 'system:serviceaccount:ns1:sa1' },
    true,
  ],
  [
    'ServiceAccount subject without namespace in a ClusterRoleBinding matches none',
    [clusterRole('c', [readPods]), crb('c', [sa('sa1')])],
    { ...pods, user: 'system:serviceaccount:ns1:sa1' },
    false,
  ],
  [
    'ServiceAccount subject does not match a user named like it',
    [clusterRole('c', [readPods]), crb('c', [sa('sa1', 'ns1')])],
    { ...pods, user: 'sa1' },
    false,
  ],
  [
    'group system:serviceaccounts applies to every service account',
    [clusterRole('c', [readPods]), crb('c', [group('system:serviceaccounts')])],
    { ...pods, user: 'system:serviceaccount:x:y' },
    true,
  ],
  [
    'group system:serviceaccounts:NS applies to that namespace',
    [clusterRole('c', [readPods]), crb('c', [group('system:serviceaccounts:ns1')])],
    { ...pods, user: 'system:serviceaccount:ns1:y' },
    true,
  ],
  [
    'group system:serviceaccounts:NS, other namespace',
    [clusterRole('c', [readPods]), crb('c', [group('system:serviceaccounts:ns1')])],
    { ...pods, user: 'system:serviceaccount:ns2:y' },
    false,
  ],
  [
    'group system:serviceaccounts does not apply to people',
    [clusterRole('c', [readPods]), crb('c', [group('system:serviceaccounts')])],
    pods,
    false,
  ],
  [
    'several subjects, one matches',
    [clusterRole('c', [readPods]), crb('c', [user('bob'), group('devs'), user('alice')])],
    pods,
    true,
  ],
  ['binding with no subjects', [clusterRole('c', [readPods]), crb('c', [])], pods, false],
  [
    'union of bindings',
    [
      role('default', 'a', [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }]),
      rb('default', 'Role', 'a', [user('alice')]),
      clusterRole('b', [{ verbs: ['delete'], apiGroups: [''], resources: ['pods'] }]),
      crb('b', [user('alice')]),
    ],
    { ...pods, verb: 'delete' },
    true,
  ],
  [
    'aggregated ClusterRole holds the rules of those it selects',
    [
      aggregated,
      part('pods-view', { 'rbac.example/aggregate-to-view': 'true' }, [readPods]),
      crb('view', [user('alice')]),
    ],
    pods,
    true,
  ],
  [
    'aggregated ClusterRole ignores roles with other labels',
    [
      aggregated,
      part('pods-view', { 'rbac.example/aggregate-to-edit': 'true' }, [readPods]),
      crb('view', [user('alice')]),
    ],
    pods,
    false,
  ],
  [
    'aggregation through matchExpressions In',
    [
      clusterRole('agg', [], {
        aggregationRule: {
          clusterRoleSelectors: [{ matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] }],
        },
      }),
      part('p', { tier: 'b' }, [readPods]),
      crb('agg', [user('alice')]),
    ],
    pods,
    true,
  ],
  [
    'aggregation is transitive',
    [
      clusterRole('top', [], { aggregationRule: { clusterRoleSelectors: [{ matchLabels: { to: 'top' } }] } }),
      clusterRole('mid', [], {
        metadata: { name: 'mid', labels: { to: 'top' } },
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: { to: 'mid' } }] },
      }),
      part('leaf', { to: 'mid' }, [readPods]),
      crb('top', [user('alice')]),
    ],
    pods,
    true,
  ],
  [
    'aggregation cycle ends',
    [
      clusterRole('a', [], {
        metadata: { name: 'a', labels: { x: '1' } },
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: { x: '1' } }] },
      }),
      crb('a', [user('alice')]),
    ],
    pods,
    false,
  ],
  [
    'aggregated role keeps its own rules',
    [
      clusterRole('agg', [readPods], {
        aggregationRule: { clusterRoleSelectors: [{ matchLabels: { none: 'x' } }] },
      }),
      crb('agg', [user('alice')]),
    ],
    pods,
    true,
  ],
  [
    'aggregated ClusterRole through a RoleBinding',
    [
      aggregated,
      part('pods-view', { 'rbac.example/aggregate-to-view': 'true' }, [readPods]),
      rb('default', 'ClusterRole', 'view', [user('alice')]),
    ],
    pods,
    true,
  ],
  [
    'a Role is not aggregated',
    [
      role('default', 'view', []),
      part('pods-view', { 'rbac.example/aggregate-to-view': 'true' }, [readPods]),
      rb('default', 'Role', 'view', [user('alice')]),
    ],
    pods,
    false,
  ],
  ['no built-in system:discovery', [], { nonResourceURL: '/api', groups: ['system:authenticated'] }, false],
  [
    'system:discovery when given',
    [
      clusterRole('system:discovery', [
        { verbs: ['get'], nonResourceURLs: ['/api', '/api/*', '/apis', '/apis/*'] },
      ]),
      crb('system:discovery', [group('system:authenticated')]),
    ],
    { nonResourceURL: '/apis/apps/v1', groups: ['system:authenticated'] },
    true,
  ],
];

describe('rule matching (validation/rule.go)', () => {
  it.each(RULES)('%s', (_name, rule, r, allowed) => {
    expect(ruleAllows(rule, req(r))).toBe(allowed);
  });
});

describe('authorizing a request against a set of RBAC objects (authorizer/rbac/rbac.go)', () => {
  it.each(SETS)('%s', (_name, objects, r, allowed) => {
    expect(new RbacEvaluator(setOf(objects)).allows(req(r))).toBe(allowed);
  });

  it('names the binding and the rule (with its own role) that allowed the request', () => {
    const ev = new RbacEvaluator(
      setOf([
        aggregated,
        part('pods-view', { 'rbac.example/aggregate-to-view': 'true' }, [health, readPods]),
        crb('view', [user('alice')]),
      ]),
    );
    const d = ev.authorize(req(pods));
    expect(d.by?.binding.metadata.name).toBe('crb-view');
    expect(d.by?.rule).toMatchObject({ index: 1, role: { kind: 'ClusterRole', name: 'pods-view' } });
  });
});

describe('label selectors', () => {
  it.each([
    [{}, {}, true],
    [{ matchLabels: { a: '1' } }, { a: '1', b: '2' }, true],
    [{ matchLabels: { a: '1' } }, { a: '2' }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn' as const, values: ['1'] }] }, {}, true],
    [{ matchExpressions: [{ key: 'a', operator: 'NotIn' as const, values: ['1'] }] }, { a: '1' }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'Exists' as const }] }, { a: '' }, true],
    [{ matchExpressions: [{ key: 'a', operator: 'DoesNotExist' as const }] }, { a: '' }, false],
    [{ matchExpressions: [{ key: 'a', operator: 'In' as const, values: ['1'] }] }, {}, false],
  ])('%j matches %j: %s', (sel, labels, expected) => {
    expect(selectorMatches(sel, labels)).toBe(expected);
  });
});
