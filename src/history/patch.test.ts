import { describe, expect, it } from 'vitest';
import {
  applyJsonPatchFromRoot,
  applyPatch,
  inferPatchType,
  jsonPatchReplacesRoot,
  PatchError,
  type PatchType,
} from './patch.js';

const deployment = () => ({
  apiVersion: 'apps/v1',
  kind: 'Deployment',
  metadata: { name: 'web', namespace: 'prod', labels: { app: 'web' }, finalizers: ['a'] },
  spec: {
    replicas: 2,
    template: {
      spec: {
        containers: [
          {
            name: 'web',
            image: 'web:1',
            ports: [{ containerPort: 80 }, { containerPort: 443 }],
            env: [
              { name: 'A', value: '1' },
              { name: 'B', value: '2' },
            ],
            volumeMounts: [{ name: 'data', mountPath: '/data' }],
          },
          { name: 'sidecar', image: 'proxy:1' },
        ],
        volumes: [{ name: 'data', emptyDir: {} }],
      },
    },
  },
});

const pod = () => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p', namespace: 'prod' },
  spec: {
    containers: [{ name: 'app', image: 'app:1' }],
    tolerations: [{ key: 'a', operator: 'Exists' }],
  },
  status: { conditions: [{ type: 'Ready', status: 'False' }] },
});

const configMap = () => ({
  apiVersion: 'v1',
  kind: 'ConfigMap',
  metadata: { name: 'settings' },
  data: { mode: 'fast', level: 'debug' },
});

/** A Secret as the store holds it: values already replaced by the redactor. */
const secret = () => ({
  apiVersion: 'v1',
  kind: 'Secret',
  metadata: { name: 'db' },
  type: 'Opaque',
  data: { password: '[REDACTED]', user: '[REDACTED]' },
});

const service = () => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'api' },
  spec: {
    type: 'ClusterIP',
    ports: [
      { name: 'http', port: 80, targetPort: 8080 },
      { name: 'https', port: 443, targetPort: 8443 },
    ],
  },
});

const role = () => ({
  apiVersion: 'rbac.authorization.k8s.io/v1',
  kind: 'Role',
  metadata: { name: 'reader', namespace: 'prod' },
  rules: [{ apiGroups: [''], resources: ['pods'], verbs: ['get'] }],
});

interface Case {
  name: string;
  type: PatchType;
  before: unknown;
  patch: unknown;
  /** Paths (dotted) and the values expected there after the patch. */
  expect: Record<string, unknown>;
}

function at(v: unknown, path: string): unknown {
  let cur = v;
  for (const seg of path.split('.')) {
    if (cur === undefined || cur === null) return undefined;
    cur = (cur as Record<string, unknown>)[/^\d+$/.test(seg) ? Number(seg) : seg];
  }
  return cur;
}

const CASES: Case[] = [
  // ---------------------------------------------------------------- JSON patch (RFC 6902)
  {
    name: 'json: Deployment replicas replaced, image of the second container',
    type: 'json',
    before: deployment(),
    patch: [
      { op: 'replace', path: '/spec/replicas', value: 5 },
      { op: 'replace', path: '/spec/template/spec/containers/1/image', value: 'proxy:2' },
    ],
    expect: { 'spec.replicas': 5, 'spec.template.spec.containers.1.image': 'proxy:2' },
  },
  {
    name: 'json: Pod toleration appended with the - index, a test that holds',
    type: 'json',
    before: pod(),
    patch: [
      { op: 'test', path: '/spec/containers/0/name', value: 'app' },
      { op: 'add', path: '/spec/tolerations/-', value: { key: 'b', operator: 'Exists' } },
    ],
    expect: { 'spec.tolerations.1.key': 'b', 'spec.tolerations.0.key': 'a' },
  },
  {
    name: 'json: ConfigMap key removed, key with a slash added (~1)',
    type: 'json',
    before: configMap(),
    patch: [
      { op: 'remove', path: '/data/level' },
      { op: 'add', path: '/data/a~1b', value: 'x' },
    ],
    expect: { 'data.level': undefined, 'data.mode': 'fast' },
  },
  {
    name: 'json: Secret value replaced by a (redacted) value stays redacted',
    type: 'json',
    before: secret(),
    patch: [{ op: 'replace', path: '/data/password', value: '[REDACTED]' }],
    expect: { 'data.password': '[REDACTED]', 'data.user': '[REDACTED]' },
  },
  {
    name: 'json: Service port moved and copied',
    type: 'json',
    before: service(),
    patch: [{ op: 'copy', from: '/spec/ports/0/port', path: '/spec/ports/1/targetPort' }],
    expect: { 'spec.ports.1.targetPort': 80 },
  },
  {
    name: 'json: Role rule verb added',
    type: 'json',
    before: role(),
    patch: [{ op: 'add', path: '/rules/0/verbs/-', value: 'list' }],
    expect: { 'rules.0.verbs': ['get', 'list'] },
  },
  // ---------------------------------------------------------------- merge patch (RFC 7386)
  {
    name: 'merge: ConfigMap key set and another deleted with null',
    type: 'merge',
    before: configMap(),
    patch: { data: { mode: 'slow', level: null } },
    expect: { 'data.mode': 'slow', 'data.level': undefined },
  },
  {
    name: 'merge: Deployment containers list replaced whole (no merge keys in RFC 7386)',
    type: 'merge',
    before: deployment(),
    patch: { spec: { template: { spec: { containers: [{ name: 'web', image: 'web:2' }] } } } },
    expect: {
      'spec.template.spec.containers': [{ name: 'web', image: 'web:2' }],
      'spec.replicas': 2,
    },
  },
  {
    name: 'merge: Secret labels added, redacted data untouched',
    type: 'merge',
    before: secret(),
    patch: { metadata: { labels: { rotated: 'yes' } } },
    expect: { 'metadata.labels.rotated': 'yes', 'data.password': '[REDACTED]' },
  },
  {
    name: 'merge: Role rules replaced',
    type: 'merge',
    before: role(),
    patch: { rules: [{ apiGroups: [''], resources: ['secrets'], verbs: ['*'] }] },
    expect: { 'rules.0.resources': ['secrets'], 'rules.1': undefined },
  },
  // ---------------------------------------------------------------- strategic merge patch
  {
    name: 'strategic: Deployment container image by name keeps the other container',
    type: 'strategic',
    before: deployment(),
    patch: { spec: { template: { spec: { containers: [{ name: 'sidecar', image: 'proxy:2' }] } } } },
    expect: {
      'spec.template.spec.containers.0.image': 'web:1',
      'spec.template.spec.containers.1.image': 'proxy:2',
      'spec.template.spec.containers.1.name': 'sidecar',
    },
  },
  {
    name: 'strategic: env merged by name, ports by containerPort, volumeMounts by mountPath',
    type: 'strategic',
    before: deployment(),
    patch: {
      spec: {
        template: {
          spec: {
            containers: [
              {
                name: 'web',
                env: [
                  { name: 'B', value: '20' },
                  { name: 'C', value: '3' },
                ],
                ports: [{ containerPort: 8080 }],
                volumeMounts: [{ name: 'data', mountPath: '/data', readOnly: true }],
              },
            ],
          },
        },
      },
    },
    expect: {
      'spec.template.spec.containers.0.env': [
        { name: 'A', value: '1' },
        { name: 'B', value: '20' },
        { name: 'C', value: '3' },
      ],
      'spec.template.spec.containers.0.ports': [
        { containerPort: 80 },
        { containerPort: 443 },
        { containerPort: 8080 },
      ],
      'spec.template.spec.containers.0.volumeMounts.0.readOnly': true,
      'spec.template.spec.containers.0.image': 'web:1',
    },
  },
  {
    name: 'strategic: $patch: delete removes one container by name',
    type: 'strategic',
    before: deployment(),
    patch: { spec: { template: { spec: { containers: [{ name: 'sidecar', $patch: 'delete' }] } } } },
    expect: { 'spec.template.spec.containers.1': undefined, 'spec.template.spec.containers.0.name': 'web' },
  },
  {
    name: 'strategic: $patch: replace on a list item replaces the list',
    type: 'strategic',
    before: deployment(),
    patch: {
      spec: { template: { spec: { volumes: [{ $patch: 'replace' }, { name: 'cache', emptyDir: {} }] } } },
    },
    expect: { 'spec.template.spec.volumes': [{ name: 'cache', emptyDir: {} }] },
  },
  {
    name: 'strategic: $patch: replace on a map replaces the map',
    type: 'strategic',
    before: configMap(),
    patch: { data: { $patch: 'replace', only: 'this' } },
    expect: { data: { only: 'this' } },
  },
  {
    name: 'strategic: $setElementOrder reorders containers',
    type: 'strategic',
    before: deployment(),
    patch: {
      spec: {
        template: {
          spec: {
            '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'web' }],
            containers: [{ name: 'web', image: 'web:3' }],
          },
        },
      },
    },
    expect: {
      'spec.template.spec.containers.0.name': 'sidecar',
      'spec.template.spec.containers.1.image': 'web:3',
    },
  },
  {
    name: 'strategic: finalizers merge as a set; $deleteFromPrimitiveList removes one',
    type: 'strategic',
    before: deployment(),
    patch: { metadata: { finalizers: ['b', 'a'], '$deleteFromPrimitiveList/finalizers': ['a'] } },
    expect: { 'metadata.finalizers': ['b'] },
  },
  {
    name: 'strategic: $retainKeys drops the keys not listed (volume source switched)',
    type: 'strategic',
    before: deployment(),
    patch: {
      spec: {
        template: {
          spec: {
            volumes: [{ name: 'data', $retainKeys: ['name', 'hostPath'], hostPath: { path: '/srv' } }],
          },
        },
      },
    },
    expect: { 'spec.template.spec.volumes': [{ name: 'data', hostPath: { path: '/srv' } }] },
  },
  {
    name: 'strategic: Pod condition merged by type, tolerations (no merge key) replaced',
    type: 'strategic',
    before: pod(),
    patch: {
      spec: { tolerations: [{ key: 'z', operator: 'Exists' }] },
      status: {
        conditions: [
          { type: 'Ready', status: 'True' },
          { type: 'Initialized', status: 'True' },
        ],
      },
    },
    expect: {
      'spec.tolerations': [{ key: 'z', operator: 'Exists' }],
      'status.conditions': [
        { type: 'Ready', status: 'True' },
        { type: 'Initialized', status: 'True' },
      ],
    },
  },
  {
    name: 'strategic: Service ports merged by port',
    type: 'strategic',
    before: service(),
    patch: {
      spec: {
        ports: [
          { port: 443, targetPort: 9443 },
          { name: 'metrics', port: 9090 },
        ],
      },
    },
    expect: {
      'spec.ports.0.targetPort': 8080,
      'spec.ports.1.targetPort': 9443,
      'spec.ports.2.name': 'metrics',
    },
  },
  {
    name: 'strategic: Secret key deleted with null, redacted others kept',
    type: 'strategic',
    before: secret(),
    patch: { data: { user: null } },
    expect: { 'data.user': undefined, 'data.password': '[REDACTED]' },
  },
  {
    name: 'strategic: Role rules (no merge key) replaced',
    type: 'strategic',
    before: role(),
    patch: { rules: [{ apiGroups: ['apps'], resources: ['deployments'], verbs: ['get'] }] },
    expect: { 'rules.0.apiGroups': ['apps'], 'rules.1': undefined },
  },
  // ---------------------------------------------------------------- server-side apply (approximated)
  {
    name: 'apply: applied Deployment merges containers by name and sets replicas',
    type: 'apply',
    before: deployment(),
    patch: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'prod' },
      spec: { replicas: 4, template: { spec: { containers: [{ name: 'web', image: 'web:4' }] } } },
    },
    expect: {
      'spec.replicas': 4,
      'spec.template.spec.containers.0.image': 'web:4',
      'spec.template.spec.containers.1.name': 'sidecar',
      'metadata.labels.app': 'web',
    },
  },
  {
    name: 'apply: applied ConfigMap adds keys',
    type: 'apply',
    before: configMap(),
    patch: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'settings' }, data: { extra: '1' } },
    expect: { 'data.extra': '1', 'data.mode': 'fast' },
  },
];

describe('patch application table', () => {
  it.each(CASES)('$name', (c) => {
    const before = structuredClone(c.before);
    const after = applyPatch(c.type, c.before, c.patch);
    for (const [path, want] of Object.entries(c.expect)) expect(at(after, path), path).toEqual(want);
    expect(c.before, 'the state before is not changed in place').toEqual(before);
  });

  it('covers every patch type and the common kinds', () => {
    const kinds = new Set(CASES.map((c) => (c.before as { kind: string }).kind));
    expect([...kinds].sort()).toEqual(['ConfigMap', 'Deployment', 'Pod', 'Role', 'Secret', 'Service']);
    expect(new Set(CASES.map((c) => c.type))).toEqual(new Set(['json', 'merge', 'strategic', 'apply']));
  });
});

describe('failures and whole-object patches', () => {
  it('a JSON patch whose test fails or whose path is missing is an error, not a guess', () => {
    expect(() =>
      applyPatch('json', pod(), [{ op: 'test', path: '/spec/containers/0/name', value: 'x' }]),
    ).toThrow(PatchError);
    expect(() => applyPatch('json', pod(), [{ op: 'replace', path: '/spec/nope/x', value: 1 }])).toThrow(
      PatchError,
    );
    expect(() => applyPatch('merge', pod(), [1])).toThrow(PatchError);
  });

  it('a JSON patch that replaces the root determines the object from there on', () => {
    const ops = [
      { op: 'replace', path: '/spec/replicas', value: 1 },
      { op: 'replace', path: '', value: configMap() },
      { op: 'add', path: '/data/new', value: 'v' },
    ];
    expect(jsonPatchReplacesRoot(ops)).toBe(true);
    expect(applyJsonPatchFromRoot(ops)).toMatchObject({
      kind: 'ConfigMap',
      data: { new: 'v', mode: 'fast' },
    });
    expect(jsonPatchReplacesRoot([{ op: 'add', path: '/a', value: 1 }])).toBe(false);
  });
});

describe('inferPatchType', () => {
  it.each([
    [[{ op: 'add', path: '/a', value: 1 }], 'apps', '', 'json'],
    [{ spec: { replicas: 1 } }, 'apps', '', 'strategic'],
    [{ spec: { size: 1 } }, 'example.com', '', 'merge'],
    [{ spec: { containers: [{ name: 'a', $patch: 'delete' }] } }, 'example.com', '', 'strategic'],
    [
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x' }, data: {} },
      '',
      '/api/v1/namespaces/d/configmaps/x?fieldManager=kubectl',
      'apply',
    ],
    [{ data: { a: '1' } }, '', '/api/v1/namespaces/d/configmaps/x?fieldManager=m&force=true', 'apply'],
    ['text', '', '', undefined],
  ])('%j in group %j (%s) is %s', (body, group, uri, want) => {
    expect(inferPatchType(body, group, uri)).toBe(want);
  });
});
