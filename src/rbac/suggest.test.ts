// The suggestion on hand-written histories: cluster-wide grants cover namespaced ones, an unnamed grant
// covers the named ones, rules group resources with the same verbs, names only where RBAC takes them,
// --namespace, --expand-verbs, service accounts and groups as subjects, impersonation.
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { suggestionYaml } from './render.js';
import type { Observation } from './requests.js';
import { suggest } from './suggest.js';
import type { RbacRequest } from './types.js';

const obs = (r: Partial<RbacRequest>, outcome: Observation['outcome'] = 'allowed'): Observation => ({
  request: { user: 'alice', groups: ['devs'], verb: 'get', ...r },
  outcome,
  count: 1,
  first: 1,
  last: 1,
});
const alice = { kind: 'User' as const, name: 'alice' };
const pods = (r: Partial<RbacRequest> = {}, outcome: Observation['outcome'] = 'allowed') =>
  obs({ apiGroup: '', resource: 'pods', ...r }, outcome);

describe('suggest', () => {
  it('a cluster-wide grant covers the same one in a namespace', () => {
    const s = suggest(
      [
        pods({ verb: 'list' }),
        pods({ verb: 'list', namespace: 'default' }),
        pods({ verb: 'get', namespace: 'default' }),
      ],
      { subject: alice },
    );
    expect(s.set.clusterRoles[0]!.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['list'] }]);
    expect(s.set.roles[0]!.rules).toEqual([{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }]);
  });

  it('with --names, an unnamed grant covers the named ones; create, list, watch, deletecollection never take names', () => {
    const s = suggest(
      [
        pods({ verb: 'get', namespace: 'd', name: 'a' }),
        pods({ verb: 'get', namespace: 'd' }),
        pods({ verb: 'delete', namespace: 'd', name: 'a' }),
        pods({ verb: 'delete', namespace: 'd', name: 'b' }),
        pods({ verb: 'patch', namespace: 'd', name: 'a' }),
        pods({ verb: 'create', namespace: 'd', name: 'a' }),
        pods({ verb: 'list', namespace: 'd', name: 'a' }),
      ],
      { subject: alice, names: true },
    );
    expect(s.set.roles[0]!.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['delete'], resourceNames: ['a', 'b'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['patch'], resourceNames: ['a'] },
      { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get', 'list'] },
    ]);
  });

  it('groups resources that share exactly the same verbs, per API group, subresources apart', () => {
    const s = suggest(
      [
        pods({ verb: 'get', namespace: 'd' }),
        obs({ apiGroup: '', resource: 'configmaps', verb: 'get', namespace: 'd' }),
        obs({ apiGroup: '', resource: 'secrets', verb: 'get', namespace: 'd' }),
        obs({ apiGroup: '', resource: 'secrets', verb: 'list', namespace: 'd' }),
        pods({ verb: 'create', subresource: 'exec', namespace: 'd', name: 'web' }),
        obs({
          apiGroup: 'apps',
          resource: 'deployments',
          subresource: 'scale',
          verb: 'update',
          namespace: 'd',
          name: 'web',
        }),
      ],
      { subject: alice },
    );
    expect(s.set.roles[0]!.rules).toEqual([
      { apiGroups: [''], resources: ['configmaps', 'pods'], verbs: ['get'] },
      { apiGroups: [''], resources: ['pods/exec'], verbs: ['create'] },
      { apiGroups: [''], resources: ['secrets'], verbs: ['get', 'list'] },
      { apiGroups: ['apps'], resources: ['deployments/scale'], verbs: ['update'] },
    ]);
  });

  it('one Role per namespace, a ClusterRole for cluster-scoped resources and URLs; --namespace keeps one', () => {
    const h = [
      pods({ namespace: 'a' }),
      pods({ namespace: 'b' }),
      obs({ apiGroup: '', resource: 'nodes', verb: 'list' }),
      obs({ nonResourceURL: '/healthz' }),
      obs({ nonResourceURL: '/version' }),
    ];
    const s = suggest(h, { subject: alice });
    expect(s.objects.map((o) => `${o.kind}:${o.metadata.namespace ?? ''}`)).toEqual([
      'ClusterRole:',
      'ClusterRoleBinding:',
      'Role:a',
      'RoleBinding:a',
      'Role:b',
      'RoleBinding:b',
    ]);
    expect(s.set.clusterRoles[0]!.rules).toEqual([
      { apiGroups: [''], resources: ['nodes'], verbs: ['list'] },
      { nonResourceURLs: ['/healthz', '/version'], verbs: ['get'] },
    ]);
    const only = suggest(h, { subject: alice, namespace: 'b' });
    expect(only.objects.map((o) => `${o.kind}:${o.metadata.namespace ?? ''}`)).toEqual([
      'Role:b',
      'RoleBinding:b',
    ]);
  });

  it('--expand-verbs grants get, list and watch together', () => {
    const s = suggest([pods({ verb: 'watch', namespace: 'd' }), pods({ verb: 'delete', namespace: 'd' })], {
      subject: alice,
      expandVerbs: true,
    });
    expect(s.set.roles[0]!.rules).toEqual([
      { apiGroups: [''], resources: ['pods'], verbs: ['delete', 'get', 'list', 'watch'] },
    ]);
  });

  it('service accounts and groups are bound as such', () => {
    const h = [
      obs({
        user: 'system:serviceaccount:ns1:sa1',
        groups: ['system:serviceaccounts'],
        apiGroup: '',
        resource: 'pods',
        namespace: 'ns1',
      }),
    ];
    const sa = suggest(h, { subject: { kind: 'ServiceAccount', namespace: 'ns1', name: 'sa1' } });
    expect(sa.set.roleBindings[0]).toMatchObject({
      metadata: { name: 'kubetrail:sa:ns1:sa1', namespace: 'ns1' },
      subjects: [{ kind: 'ServiceAccount', name: 'sa1', namespace: 'ns1' }],
    });
    const g = suggest(h, { subject: { kind: 'Group', name: 'system:serviceaccounts' } });
    expect(g.set.roleBindings[0]!.subjects).toEqual([
      { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:serviceaccounts' },
    ]);
  });

  it('refused requests are reported, and granted only when also allowed', () => {
    const s = suggest(
      [pods({ namespace: 'd' }, 'denied'), pods({ namespace: 'd' }), pods({ namespace: 'e' }, 'denied')],
      { subject: alice },
    );
    expect(s.refused.map((r) => [r.request.namespace, r.grantedAnyway])).toEqual([
      ['d', true],
      ['e', false],
    ]);
    expect(s.objects.map((o) => o.metadata.namespace)).toEqual(['d', 'd']);
  });

  it('hostile names and paths stay inside their comment line and their YAML value', () => {
    const evil = 'x\n---\nkind: ClusterRole\r\u2028# y';
    const s = suggest(
      [
        pods({ namespace: 'd', name: evil }, 'denied'),
        obs({ nonResourceURL: `/p${evil}` }),
        pods({ verb: 'delete', namespace: 'd', name: evil }),
      ],
      { subject: alice, names: true },
    );
    const text = suggestionYaml(s);
    const comments = text.split('\n').filter((l) => l.startsWith('#'));
    expect(comments.some((l) => l.includes('\\u000a---\\u000akind: ClusterRole\\u000d\\u2028# y'))).toBe(
      true,
    );
    const docs = parseAllDocuments(text).map(
      (d) => d.toJS() as { kind: string; rules?: { resourceNames?: string[]; nonResourceURLs?: string[] }[] },
    );
    expect(docs.map((d) => d.kind)).toEqual(['ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
    expect(docs[0]!.rules![0]!.nonResourceURLs).toEqual([`/p${evil}`]);
    expect(docs[2]!.rules![0]!.resourceNames).toEqual([evil]);
  });
});
