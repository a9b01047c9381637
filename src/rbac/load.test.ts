// Loading RBAC input: kubectl's List with nulls and server fields, multi-document YAML, JSON, folders,
// other kinds skipped, and placed errors for invalid objects and broken YAML.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadRbac, parseRbac } from './load.js';

const dir = mkdtempSync(path.join(tmpdir(), 'kubetrail-rbac-load-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const LIST = `apiVersion: v1
items:
- aggregationRule:
    clusterRoleSelectors:
    - matchLabels:
        rbac.authorization.k8s.io/aggregate-to-view: "true"
  apiVersion: rbac.authorization.k8s.io/v1
  kind: ClusterRole
  metadata:
    creationTimestamp: "2024-01-01T00:00:00Z"
    name: view
    resourceVersion: "1"
    uid: 0b4c
  rules: null
- apiVersion: rbac.authorization.k8s.io/v1
  kind: RoleBinding
  metadata:
    name: rb
    namespace: default
  roleRef:
    apiGroup: rbac.authorization.k8s.io
    kind: ClusterRole
    name: view
  subjects:
  - kind: ServiceAccount
    name: default
- apiVersion: v1
  kind: ServiceAccount
  metadata: {name: x, namespace: default}
kind: List
metadata:
  resourceVersion: ""
`;

describe('parseRbac', () => {
  it("reads kubectl's List: nulls dropped, server fields kept aside, other kinds counted", () => {
    const r = parseRbac(LIST, 'rbac.yaml');
    expect(r.skipped).toBe(1);
    expect(r.objects.map((o) => o.kind)).toEqual(['ClusterRole', 'RoleBinding']);
    expect(r.objects[0]).toMatchObject({
      rules: [],
      aggregationRule: { clusterRoleSelectors: [{ matchLabels: {} }] },
    });
  });

  it('reads multi-document YAML and JSON', () => {
    const role = {
      apiVersion: 'rbac.authorization.k8s.io/v1',
      kind: 'Role',
      metadata: { name: 'r', namespace: 'n' },
      rules: [],
    };
    expect(
      parseRbac(
        `${JSON.stringify(role)}\n---\n${JSON.stringify({ ...role, metadata: { name: 's', namespace: 'n' } })}`,
        'f',
      ).objects,
    ).toHaveLength(2);
    expect(
      parseRbac(
        JSON.stringify({ kind: 'RoleList', apiVersion: 'rbac.authorization.k8s.io/v1', items: [role] }),
        'f',
      ).objects,
    ).toHaveLength(1);
    expect(parseRbac('', 'f').objects).toEqual([]);
  });

  it.each([
    [
      'kind: Role\napiVersion: rbac.authorization.k8s.io/v1\nmetadata:\n  name: r\n',
      'Role: a namespace is required',
      'metadata.namespace',
      4,
    ],
    [
      'kind: ClusterRole\napiVersion: rbac.authorization.k8s.io/v1\nmetadata: {name: c}\nrules:\n- verbs: [get]\n  resources: [pods]\n',
      'a resource rule needs apiGroups',
      'rules[0].apiGroups',
      5,
    ],
    [
      'kind: Role\napiVersion: rbac.authorization.k8s.io/v1\nmetadata: {name: r, namespace: n}\nrules:\n- verbs: [get]\n  nonResourceURLs: [/x]\n',
      'a Role cannot hold non-resource URLs',
      'rules[0].nonResourceURLs',
      6,
    ],
    [
      'kind: ClusterRoleBinding\napiVersion: rbac.authorization.k8s.io/v1\nmetadata: {name: b}\nroleRef: {apiGroup: rbac.authorization.k8s.io, kind: Role, name: r}\n',
      'ClusterRoleBinding',
      'roleRef.kind',
      4,
    ],
    [
      'kind: ClusterRole\napiVersion: rbac.authorization.k8s.io/v1\nmetadata: {name: a/b}\n',
      'path segment',
      'metadata.name',
      3,
    ],
    [
      'apiVersion: v1\nkind: List\nitems:\n- kind: Role\n  apiVersion: rbac.authorization.k8s.io/v2\n  metadata: {name: r, namespace: n}\n',
      'must be rbac.authorization.k8s.io/v1',
      'items[0].apiVersion',
      5,
    ],
  ])('%#: %s', (text, message, at, line) => {
    expect(() => parseRbac(text, 'in.yaml')).toThrow(message);
    try {
      parseRbac(text, 'in.yaml');
    } catch (err) {
      expect(err).toMatchObject({ code: 'KT_RBAC_INVALID', where: { file: 'in.yaml', path: at, line } });
    }
  });

  it('a syntax error is KT_RBAC_READ with its place', () => {
    expect(() => parseRbac('kind: [\n', 'x.yaml')).toThrow(
      expect.objectContaining({
        code: 'KT_RBAC_READ',
        where: expect.objectContaining({ file: 'x.yaml', line: expect.any(Number) }),
      }),
    );
  });
});

describe('loadRbac', () => {
  it('reads files and folders (recursively, YAML and JSON only)', async () => {
    mkdirSync(path.join(dir, 'd/sub'), { recursive: true });
    writeFileSync(path.join(dir, 'd/a.yaml'), LIST);
    writeFileSync(
      path.join(dir, 'd/sub/b.json'),
      JSON.stringify({
        apiVersion: 'rbac.authorization.k8s.io/v1',
        kind: 'ClusterRole',
        metadata: { name: 'x' },
        rules: [],
      }),
    );
    writeFileSync(path.join(dir, 'd/notes.txt'), 'not yaml: [');
    const r = await loadRbac([path.join(dir, 'd')]);
    expect(r.objects.map((o) => o.metadata.name)).toEqual(['view', 'rb', 'x']);
    expect(r.set.clusterRoles).toHaveLength(2);
    await expect(loadRbac([path.join(dir, 'missing')])).rejects.toMatchObject({ code: 'KT_INPUT_NOT_FOUND' });
  });
});
